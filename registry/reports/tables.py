"""The typed shape of a report: what is asked (scope, period, dimensions, audience) and
what comes back (tables of cells, each with its status). Pure data, no database."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum

from registry.errors import InvalidInput
from registry.reports.suppression import CellStatus


class Audience(StrEnum):
    """Who reads the report; decides the threshold k and how fine regions may be."""

    PUBLIC = "public"
    PARTNER = "partner"
    FEDERATION = "federation"
    """The federation admin: partner thresholds, whole federation."""


class Dimension(StrEnum):
    """What a table's rows or columns split by."""

    ASSOCIATION = "association"
    PROVINCE = "province"
    PREFECTURE = "prefecture"
    CATEGORY = "category"
    VENDOR_SIZE = "vendor_size"
    PERIOD = "period"
    """The period's months, quarters or years, by the period's granularity."""


class Granularity(StrEnum):
    """How the period dimension splits time."""

    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


def month_key(value: date | datetime) -> int:
    """yyyymm of a date (a datetime is read in UTC)."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
    return value.year * 100 + value.month


def add_months(month: int, count: int) -> int:
    """yyyymm `count` months after (or before) `month`."""
    index = (month // 100) * 12 + (month % 100 - 1) + count
    return (index // 12) * 100 + index % 12 + 1


def month_label(month: int) -> str:
    """yyyy-mm."""
    return f"{month // 100:04d}-{month % 100:02d}"


@dataclass(frozen=True, slots=True)
class Period:
    """A run of whole months, `first` to `last` inclusive (yyyymm), split by `granularity`."""

    first: int
    last: int
    granularity: Granularity = Granularity.MONTH

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidInput("a period ends after it starts")
        if len(self.months()) > 240:
            raise InvalidInput("a report covers at most 20 years")

    @classmethod
    def parse(cls, start: str, end: str | None = None, granularity: str = "month") -> Period:
        """From "2026-11", "2026-Q3" or "2026" (and an optional end in the same forms)."""
        first, _ = _bounds(start)
        _, last = _bounds(end or start)
        try:
            kind = Granularity(granularity)
        except ValueError as exc:
            raise InvalidInput(
                "granularity is month, quarter or year",
                fields={"granularity": "month, quarter or year"},
            ) from exc
        return cls(first, last, kind)

    def months(self) -> list[int]:
        """Every yyyymm in the period, in order."""
        months, month = [], self.first
        while month <= self.last:
            months.append(month)
            month = add_months(month, 1)
        return months

    def bucket(self, month: int) -> str:
        """The label of the granularity bucket `month` falls in ("2026-11", "2026-Q4", "2026")."""
        year = month // 100
        if self.granularity is Granularity.YEAR:
            return f"{year:04d}"
        if self.granularity is Granularity.QUARTER:
            return f"{year:04d}-Q{(month % 100 - 1) // 3 + 1}"
        return month_label(month)

    def buckets(self) -> list[str]:
        """The labels of the period dimension, in order."""
        return list(dict.fromkeys(self.bucket(m) for m in self.months()))

    def shifted_years(self, years: int) -> Period:
        """The same months `years` earlier (negative) or later: the default baseline."""
        return Period(
            add_months(self.first, 12 * years), add_months(self.last, 12 * years), self.granularity
        )

    def label(self) -> str:
        """ "2026-11" or "2026-01..2026-12"."""
        if self.first == self.last:
            return month_label(self.first)
        return f"{month_label(self.first)}..{month_label(self.last)}"

    def as_data(self) -> dict[str, str]:
        """The period as reports write it."""
        return {
            "first": month_label(self.first),
            "last": month_label(self.last),
            "granularity": self.granularity.value,
        }


def _bounds(raw: str) -> tuple[int, int]:
    raw = raw.strip()
    if match := _MONTH.match(raw):
        month = int(match[1]) * 100 + int(match[2])
        return month, month
    if match := _QUARTER.match(raw):
        first = int(match[1]) * 100 + (int(match[2]) - 1) * 3 + 1
        return first, first + 2
    if match := _YEAR.match(raw):
        return int(match[1]) * 100 + 1, int(match[1]) * 100 + 12
    raise InvalidInput(
        "a period is a month (2026-11), a quarter (2026-Q4) or a year (2026)",
        fields={"period": "2026-11, 2026-Q4 or 2026"},
    )


@dataclass(frozen=True, slots=True)
class Scope:
    """Which regions and associations a report covers; empty means no limit."""

    regions: frozenset[str] = frozenset()
    """GB/T 2260 codes (province or prefecture); a complaint counts when its region lies
    inside one of them."""
    associations: frozenset[int] = frozenset()

    def as_data(self) -> dict[str, list[str] | list[int]]:
        """The scope as reports write it."""
        return {"regions": sorted(self.regions), "associations": sorted(self.associations)}


@dataclass(frozen=True, slots=True)
class Label:
    """A row or column heading: the key as data plus its name in both languages."""

    key: str
    name_zh: str
    name_en: str

    def name(self, language: str) -> str:
        """The heading in `language`."""
        return self.name_en if language.startswith("en") else self.name_zh


@dataclass(frozen=True, slots=True)
class Cell:
    """One figure and why it is (not) shown. Suppressed cells carry no figure at all."""

    status: CellStatus
    value: float | None = None
    """The count, or the rate (0..1); None unless shown."""
    low: float | None = None
    """Wilson 95% lower bound, rates only."""
    high: float | None = None

    @property
    def shown(self) -> bool:
        """True when the figure may be printed."""
        return self.status is CellStatus.SHOWN


@dataclass(frozen=True, slots=True)
class ReportTable:
    """One KPI split by one or two dimensions, with totals.

    `cells[r][c]` for the row labels × column labels; `row_totals[r]`, `column_totals[c]`
    and `total` are the margins (a table with no column dimension has one column, "all").
    """

    kpi: str
    kpi_version: int
    rows_by: Dimension
    columns_by: Dimension | None
    rows: tuple[Label, ...]
    columns: tuple[Label, ...]
    cells: tuple[tuple[Cell, ...], ...]
    row_totals: tuple[Cell, ...]
    column_totals: tuple[Cell, ...]
    total: Cell
    extra: dict[str, Cell] = field(default_factory=dict)
    """Figures beside the table: the baseline total, its change, the median hours."""
    target_met: bool | None = None
    """Whether the total meets the KPI's target; None without a target or a figure."""

    def cell_count(self) -> int:
        """Every cell including margins."""
        return (len(self.rows) + 1) * (len(self.columns) + 1)


@dataclass(frozen=True, slots=True)
class Report:
    """What `ReportService.report` returns: tables plus everything needed to read them."""

    audience: Audience
    scope: Scope
    period: Period
    baseline: Period | None
    suppression_version: str
    threshold: int
    """k: counts below it (and above zero) are suppressed."""
    kpis: tuple[dict[str, object], ...]
    """The definitions (`KpiDefinition.as_data`) of every KPI in the tables."""
    tables: tuple[ReportTable, ...]
    generated_at: datetime

    def cell_count(self) -> int:
        """Cells in all tables, margins included (what the access log records)."""
        return sum(table.cell_count() for table in self.tables)
