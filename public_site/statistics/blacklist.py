"""The blacklist section of /statistics and the partner dashboard: the list's own figures
by tier and by association, as accessible tables, with their downloads.

The figures are public records (`registry.reports.blacklist`), so none is withheld; this
module only words them in the page's language. A median or a share with nothing behind
it reads "—" and says why in the table's note.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from litestar import Response

from public_site.i18n import Language
from registry.errors import NotFound
from registry.reports.blacklist import FIGURES, BlacklistFigures, FigureRow, figures_csv
from registry.reports.tables import Granularity, Period, add_months, month_key

BLACKLIST_MONTHS: Final = 12
"""The section covers the twelve months up to and including this one (so far): the
list's steps are public records, settled when they happen, so the current month counts."""
DOWNLOAD_NAME: Final = "blacklist-figures"
FORMATS: Final = ("csv", "json")
DASH: Final = "—"


def blacklist_period(now: datetime) -> Period:
    """The twelve months ending with the one `now` is in."""
    last = month_key(now)
    return Period(add_months(last, -(BLACKLIST_MONTHS - 1)), last, Granularity.MONTH)


@dataclass(frozen=True)
class FigureTable:
    """One table of the section: a heading column, then every figure."""

    table_id: str
    caption: str
    heading: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    total: tuple[str, ...]


@dataclass(frozen=True)
class BlacklistSection:
    """What statistics/_blacklist.html draws."""

    first: str
    last: str
    by_tier: FigureTable
    by_association: FigureTable


def _text(row: FigureRow, key: str, language: Language) -> str:
    value = row.value(key)
    if value is None:
        return DASH
    if key == "overturned_share":
        return f"{value * 100:.0f}%"
    if key.endswith("_days"):
        return f"{value:g}"  # the column heading says "days"
    return f"{int(value):,}"


def _table(
    table_id: str,
    caption: str,
    *,
    heading: str,
    rows: tuple[FigureRow, ...],
    total: FigureRow,
    language: Language,
    by_tier: bool,
) -> FigureTable:
    code = language.code

    def line(row: FigureRow, name: str) -> tuple[str, ...]:
        return (name, *(_text(row, key, language) for key, _, _ in FIGURES))

    return FigureTable(
        table_id=table_id,
        caption=caption,
        heading=heading,
        columns=tuple(en if code == "en" else zh for _, zh, en in FIGURES),
        rows=tuple(
            line(row, (row.tier if by_tier else row.association).name(code)) for row in rows
        ),
        total=line(total, language.gettext("All")),
    )


def blacklist_section(figures: BlacklistFigures, language: Language) -> BlacklistSection:
    """The section's two tables in `language`."""
    data = figures.period.as_data()
    return BlacklistSection(
        first=data["first"],
        last=data["last"],
        by_tier=_table(
            "blacklist-by-tier",
            language.gettext("The blacklist's figures by tier"),
            heading=language.gettext("Tier"),
            rows=figures.by_tier,
            total=figures.total,
            language=language,
            by_tier=True,
        ),
        by_association=_table(
            "blacklist-by-association",
            language.gettext("The blacklist's figures by association"),
            heading=language.gettext("Association"),
            rows=figures.by_association,
            total=figures.total,
            language=language,
            by_tier=False,
        ),
    )


def blacklist_download(figures: BlacklistFigures, extension: str, language: str) -> Response[bytes]:
    """The figures as CSV (UTF-8 with BOM) or JSON, every association × tier included."""
    if extension not in FORMATS:
        raise NotFound(f"no table {DOWNLOAD_NAME}.{extension}")
    if extension == "csv":
        body, media_type = figures_csv(figures, language), "text/csv; charset=utf-8"
    else:
        body = json.dumps(figures.as_data(), ensure_ascii=False, indent=1).encode("utf-8")
        media_type = "application/json"
    name = f"{DOWNLOAD_NAME}-{figures.period.label()}.{extension}"
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
