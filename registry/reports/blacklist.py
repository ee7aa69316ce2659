"""The blacklist's own figures: per association and tier, what the committees did.

Counts come from `blacklist_rollup` and the two medians, exactly, from the waits in
`blacklist_duration`, both kept by the case events (`registry.reports.rollups`; see
docs/architecture.md, `reports.blacklist_rollup`, for why the waits are kept rather than
read from the case rows). Every figure is attributed to the month (UTC) of its own step: a case opened in
October and listed in November counts as opened in October and as listed in November.

No small-cell suppression applies: every step counted here is a public record (each is
a transparency-log leaf, and every listing is published with its subject on /blacklist),
so a count reveals nothing a reader could not count from the log, and the figures are
split by association and tier only, never by region. The README ("Reports and
statistics", "The blacklist's own figures") defines each figure.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.blacklist.states import Tier
from registry.federation.models import Association
from registry.kernel.clock import isoformat
from registry.reports.models import BLACKLIST_COUNTERS, BlacklistDuration, BlacklistRollup
from registry.reports.tables import Label, Period, Scope, add_months

TIER_LABELS: dict[Tier, Label] = {
    Tier.MINOR: Label(Tier.MINOR.value, "轻微", "minor"),
    Tier.GENERAL: Label(Tier.GENERAL.value, "一般", "general"),
    Tier.SERIOUS: Label(Tier.SERIOUS.value, "严重", "serious"),
}
ALL_TIERS = Label("all", "全部等级", "all tiers")
ALL_ASSOCIATIONS = Label("all", "全部协会", "all associations")

FIGURES: tuple[tuple[str, str, str], ...] = (
    ("opened", "立案", "cases opened"),
    ("listed", "列入", "listed"),
    ("not_listed", "未列入（含逾期未决）", "not listed (lapsed included)"),
    ("lapsed", "其中逾期未决", "of which lapsed"),
    ("decision_median_days", "立案至决定天数中位数", "median days, case to decision"),
    ("appeals", "申诉（已决）", "appeals decided"),
    ("appeals_overturned", "申诉撤销", "appeals overturned"),
    ("overturned_share", "撤销比例", "share overturned"),
    ("repairs_applied", "信用修复申请", "repairs applied"),
    ("repairs_granted", "信用修复准予", "repairs granted"),
    ("delist_median_days", "申请修复至移出天数中位数", "median days, repair to delisting"),
)
"""Every figure of a row, in the order tables and downloads show them: key, zh, en."""


@dataclass(frozen=True, slots=True)
class FigureRow:
    """One association × tier (either may be "all"), every figure of the period."""

    association: Label
    tier: Label
    counts: dict[str, int]
    """BLACKLIST_COUNTERS, summed over the period."""
    decision_days: tuple[float, ...]
    """Days from opening to decision of every case decided (listed or not) in the period,
    in ascending order."""
    delist_days: tuple[float, ...]
    """Days from the repair application to delisting of every repair granted in it, in
    ascending order."""

    def value(self, figure: str) -> float | int | None:
        """A figure of FIGURES by key; None where it has no meaning (no case decided, no
        appeal decided, no repair granted)."""
        if figure == "not_listed":
            return self.counts["not_listed"] + self.counts["lapsed"]
        if figure == "decision_median_days":
            return _median(self.decision_days)
        if figure == "delist_median_days":
            return _median(self.delist_days)
        if figure == "overturned_share":
            appeals = self.counts["appeals"]
            return round(self.counts["appeals_overturned"] / appeals, 4) if appeals else None
        return self.counts[figure]

    def as_data(self) -> dict[str, Any]:
        """The row as JSON-ready data."""
        return {
            "association": _label_data(self.association),
            "tier": _label_data(self.tier),
            **{key: self.value(key) for key, _, _ in FIGURES},
            "decisions_timed": len(self.decision_days),
        }


@dataclass(frozen=True, slots=True)
class BlacklistFigures:
    """The list's figures for a period inside a scope, with every margin."""

    period: Period
    scope: Scope
    rows: tuple[FigureRow, ...]
    """Every association in scope × every tier, zero rows included."""
    by_association: tuple[FigureRow, ...]
    """Each association, all tiers."""
    by_tier: tuple[FigureRow, ...]
    """Each tier, all associations in scope."""
    total: FigureRow
    generated_at: datetime

    def as_data(self) -> dict[str, Any]:
        """The figures as JSON-ready data (the API's answer, the snapshot's table)."""
        return {
            "period": self.period.as_data(),
            "scope": {"associations": sorted(self.scope.associations)},
            "suppression": "none: every counted step is a public record",
            "figures": [{"key": key, "name": {"zh": zh, "en": en}} for key, zh, en in FIGURES],
            "rows": [row.as_data() for row in self.rows],
            "by_association": [row.as_data() for row in self.by_association],
            "by_tier": [row.as_data() for row in self.by_tier],
            "total": self.total.as_data(),
            "generated_at": isoformat(self.generated_at),
        }


FIGURES_ID = "blacklist_figures"
FIGURES_VERSION = 1
"""The definitions in FIGURES and the README; a change to what a figure counts is a new
version, named in every snapshot that freezes them."""


def snapshot_table(figures: BlacklistFigures) -> dict[str, Any]:
    """The figures as one table of a signed monthly snapshot (`kpi`, `rows_by` and
    `columns_by` as every snapshot table has them; no generation time: the snapshot's
    `issued_at` dates it)."""
    data = figures.as_data()
    del data["generated_at"]
    return {
        "kpi": FIGURES_ID,
        "kpi_version": FIGURES_VERSION,
        "rows_by": "association",
        "columns_by": "tier",
        **data,
    }


def _label_data(label: Label) -> dict[str, Any]:
    return {"key": label.key, "name": {"zh": label.name_zh, "en": label.name_en}}


def _median(ordered: Sequence[float]) -> float | None:
    """The median of values already in order, to two decimals; None for none."""
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return round(ordered[middle], 2)
    return round((ordered[middle - 1] + ordered[middle]) / 2, 2)


def period_bounds(period: Period) -> tuple[datetime, datetime]:
    """[start, end) of the period's months in UTC."""
    after = add_months(period.last, 1)
    return (
        datetime(period.first // 100, period.first % 100, 1, tzinfo=UTC),
        datetime(after // 100, after % 100, 1, tzinfo=UTC),
    )


Cell = tuple[int, str]
"""(association id, tier value)."""


async def blacklist_figures(
    session: AsyncSession, period: Period, scope: Scope, now: datetime
) -> BlacklistFigures:
    """The figures of `period` for the associations of `scope` (empty: all of them)."""
    associations = await _associations(session, scope)
    counts = await _counts(session, period, scope)
    decisions, delistings = await _durations(session, period, scope)
    tiers = list(Tier)

    def row(association: Label, tier: Label, cells: Iterable[Cell]) -> FigureRow:
        wanted = list(cells)
        summed = {name: sum(counts[c][name] for c in wanted) for name in BLACKLIST_COUNTERS}
        return FigureRow(
            association,
            tier,
            summed,
            tuple(sorted(d for c in wanted for d in decisions[c])),
            tuple(sorted(d for c in wanted for d in delistings[c])),
        )

    ids = list(associations)
    return BlacklistFigures(
        period=period,
        scope=scope,
        rows=tuple(
            row(associations[a], TIER_LABELS[t], [(a, t.value)]) for a in ids for t in tiers
        ),
        by_association=tuple(
            row(associations[a], ALL_TIERS, [(a, t.value) for t in tiers]) for a in ids
        ),
        by_tier=tuple(
            row(ALL_ASSOCIATIONS, TIER_LABELS[t], [(a, t.value) for a in ids]) for t in tiers
        ),
        total=row(ALL_ASSOCIATIONS, ALL_TIERS, [(a, t.value) for a in ids for t in tiers]),
        generated_at=now,
    )


async def _associations(session: AsyncSession, scope: Scope) -> dict[int, Label]:
    query = select(Association.id, Association.name_zh, Association.name_en).order_by(
        Association.id
    )
    if scope.associations:
        query = query.where(Association.id.in_(sorted(scope.associations)))
    return {r.id: Label(str(r.id), r.name_zh, r.name_en) for r in await session.execute(query)}


async def _counts(
    session: AsyncSession, period: Period, scope: Scope
) -> defaultdict[Cell, defaultdict[str, int]]:
    r = BlacklistRollup
    query = (
        select(
            r.association_id,
            r.tier,
            *(func.sum(getattr(r, name)).label(name) for name in BLACKLIST_COUNTERS),
        )
        .where(r.month >= period.first, r.month <= period.last)
        .group_by(r.association_id, r.tier)
    )
    if scope.associations:
        query = query.where(r.association_id.in_(sorted(scope.associations)))
    result: defaultdict[Cell, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
    for found in await session.execute(query):
        for name in BLACKLIST_COUNTERS:
            result[(found.association_id, found.tier)][name] += int(getattr(found, name) or 0)
    return result


async def _durations(
    session: AsyncSession, period: Period, scope: Scope
) -> tuple[defaultdict[Cell, list[float]], defaultdict[Cell, list[float]]]:
    """Days from opening to decision (cases listed or not listed in the period) and from
    a repair application to the delisting it won (repairs granted in the period), read
    from `blacklist_duration` by month: narrow rows, no join, no date arithmetic."""
    d = BlacklistDuration
    query = select(d.kind, d.association_id, d.tier, d.days).where(
        d.month >= period.first, d.month <= period.last
    )
    if scope.associations:
        query = query.where(d.association_id.in_(sorted(scope.associations)))
    found: dict[str, defaultdict[Cell, list[float]]] = {
        "decision": defaultdict(list),
        "delisting": defaultdict(list),
    }
    connection = await session.connection()  # plain rows: no ORM loading per row
    for kind, association_id, tier, days in await connection.execute(query):
        found[kind][(association_id, tier)].append(days)
    return found["decision"], found["delisting"]


def _csv_value(value: float | int | None) -> str:
    if value is None:
        return "NA"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def figures_csv(figures: BlacklistFigures, language: str = "zh") -> bytes:
    """The figures as CSV in UTF-8 with a BOM: "#" metadata lines, then one line per
    association × tier, per association, per tier and the total (long form)."""
    english = language.startswith("en")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["# period", figures.period.label(), figures.period.granularity.value])
    writer.writerow(
        [
            "# scope.associations",
            " ".join(str(a) for a in sorted(figures.scope.associations)) or "all",
        ]
    )
    writer.writerow(
        [
            "# suppression",
            "none: every counted step is a public record"
            if english
            else "不抑制：所计每一步均为公开记录",
        ]
    )
    writer.writerow(["# NA", "not applicable" if english else "不适用"])
    writer.writerow(["# generated_at", isoformat(figures.generated_at)])
    writer.writerow(
        [
            "association" if english else "协会",
            "tier" if english else "等级",
            *((en if english else zh) for _, zh, en in FIGURES),
        ]
    )
    every = [*figures.rows, *figures.by_association, *figures.by_tier, figures.total]
    for row in every:
        writer.writerow(
            [
                row.association.name("en" if english else "zh"),
                row.tier.name("en" if english else "zh"),
                *(_csv_value(row.value(key)) for key, _, _ in FIGURES),
            ]
        )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


__all__ = [
    "FIGURES",
    "BlacklistFigures",
    "FigureRow",
    "blacklist_figures",
    "figures_csv",
    "snapshot_table",
]
