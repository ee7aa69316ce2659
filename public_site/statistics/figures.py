"""What the statistics pages show, built from reports: the programme's KPIs against their
targets with a trend chart each, complaints by category and by month.

The numbers come from `ReportService` already suppressed for the page's audience; this
module only words and draws them in the page's language. A cell that is not shown stays
not shown here too: a gap in a chart, "not shown" in a table, never a zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from public_site.charts import Chart, ChartKind, Series, Target
from public_site.i18n import N_, Language
from registry.reports.kpis import KPI_BY_ID, PROGRAMME_KPIS, KpiKind, TargetMeasure
from registry.reports.tables import (
    Cell,
    Granularity,
    Period,
    Report,
    ReportTable,
    add_months,
    month_key,
)

TREND_MONTHS: Final = 24
"""The trend charts cover the last two full years, month by month."""
SUMMARY_MONTHS: Final = 12
"""The headline figures and the category split cover the last twelve full months."""
PAGE_KPIS: Final = (*PROGRAMME_KPIS, "complaints")
COMPLAINTS: Final = "complaints"

NOT_SHOWN: Final = N_("not shown")
TARGET: Final = N_("Target")
MONTH: Final = N_("Month")
CATEGORY: Final = N_("Category")
PREFECTURE: Final = N_("Prefecture")
ALL_COMPLAINTS: Final = N_("Complaints")
ALL: Final = N_("All associations")


def full_months(now: datetime, count: int) -> Period:
    """The last `count` whole calendar months before the one `now` is in."""
    last = add_months(month_key(now), -1)
    return Period(add_months(last, -(count - 1)), last, Granularity.MONTH)


def percent(value: float) -> str:
    """A share as the page writes it: 83%."""
    return f"{value * 100:.0f}%"


def signed_percent(value: float) -> str:
    """A change as the page writes it: +12% or −30% (a true minus sign)."""
    return f"{value * 100:+.0f}%".replace("-", "−")


def count(value: float) -> str:
    """A count with thousands grouped: 12,345."""
    return f"{round(value):,}"


def formatter(kpi: str) -> Callable[[float], str]:
    """How values of `kpi` are written."""
    return count if KPI_BY_ID[kpi].kind is KpiKind.COUNT else percent


def _value(cell: Cell) -> float | None:
    return cell.value if cell.shown else None


@dataclass(frozen=True)
class KpiFigure:
    """One programme KPI on the page: its figure, its target, whether it is met, its trend."""

    kpi: str
    name: str
    definition: str
    figure: str
    """The last twelve months' value, or "not shown"."""
    interval: str | None
    """The Wilson 95% interval of a rate, "78%–86%"."""
    target: str | None
    """The target as a sentence ("at least 80%", "30% fewer than a year before")."""
    comparison: str | None
    """The change against the baseline the target judges, when it judges one."""
    met: bool | None
    chart: Chart | None
    """None when no month has a figure to draw."""


def target_sentence(kpi: str, language: Language) -> str | None:
    """The programme's target for `kpi` in words."""
    target = KPI_BY_ID[kpi].target
    if target is None:
        return None
    gettext = language.gettext
    if target.measure is TargetMeasure.VALUE:
        template = (
            gettext(N_("at least %(value)s"))
            if target.op == ">="
            else gettext(N_("at most %(value)s"))
        )
        return template % {"value": percent(target.value)}
    if target.measure is TargetMeasure.SPEED_CHANGE_VS_BASELINE:
        return gettext(N_("answered %(value)s faster than a year before")) % {
            "value": percent(target.value)
        }
    if target.value < 0:
        return gettext(N_("%(value)s fewer than a year before")) % {"value": percent(-target.value)}
    return gettext(N_("%(value)s more than a year before")) % {"value": percent(target.value)}


def _comparison(table: ReportTable, language: Language) -> str | None:
    gettext = language.gettext
    speed = table.extra.get("speed_change")
    if speed is not None:
        if not speed.shown or speed.value is None:
            return gettext(N_("no comparison with a year before yet"))
        hours = table.extra.get("median_hours")
        median = (
            gettext(N_("typical first answer after %(hours)s h")) % {"hours": f"{hours.value:.1f}"}
            if hours is not None and hours.shown and hours.value is not None
            else None
        )
        change = gettext(N_("%(change)s speed against a year before")) % {
            "change": signed_percent(speed.value)
        }
        return f"{change}{'；' if language.code == 'zh' else '; '}{median}" if median else change
    change_cell = table.extra.get("change")
    if change_cell is None:
        return None
    if not change_cell.shown or change_cell.value is None:
        return gettext(N_("no comparison with a year before yet"))
    return gettext(N_("%(change)s against a year before")) % {
        "change": signed_percent(change_cell.value)
    }


def _series(table: ReportTable, language: Language) -> tuple[Series, ...]:
    """A two-way table's row totals ("all") and each column with a figure; a one-way
    table's single column."""
    definition = KPI_BY_ID[table.kpi]
    if table.columns_by is None:
        values = tuple(_value(row[0]) for row in table.cells)
        return (Series(definition.name(language.code), values),)
    series = [Series(language.gettext(ALL), tuple(_value(c) for c in table.row_totals))]
    for position, column in enumerate(table.columns):
        values = tuple(_value(row[position]) for row in table.cells)
        if any(v is not None for v in values):
            series.append(Series(column.name(language.code), values))
    return tuple(series)


def trend_chart(
    table: ReportTable, language: Language, *, title: str, chart_id: str
) -> Chart | None:
    """The table's months as lines (rates) or bars (counts), with the target when the
    target is a level (not a change); None when no month has a figure."""
    series = _series(table, language)
    if all(v is None for s in series for v in s.values):
        return None
    definition = KPI_BY_ID[table.kpi]
    rate = definition.kind is KpiKind.RATE
    target = definition.target
    line = (
        Target(target.value, language.gettext(TARGET))
        if target is not None and target.measure is TargetMeasure.VALUE
        else None
    )
    description = language.gettext(N_("%(name)s by month, %(first)s to %(last)s.")) % {
        "name": definition.name(language.code),
        "first": table.rows[0].key,
        "last": table.rows[-1].key,
    }
    if len(series) > 1:
        description += " " + language.gettext(
            N_("One line for all complaints and one for each association.")
        )
    if line is not None:
        description += " " + language.gettext(N_("The dashed line is the target, %(target)s.")) % {
            "target": percent(line.value)
        }
    return Chart(
        chart_id=chart_id,
        kind=ChartKind.LINE if rate else ChartKind.BAR,
        title=title,
        description=description,
        category_heading=language.gettext(MONTH),
        categories=tuple(label.name(language.code) for label in table.rows),
        series=series if rate else series[:1],
        format_value=formatter(table.kpi),
        not_shown=language.gettext(NOT_SHOWN),
        target=line,
        y_ceiling=1.0 if rate else None,
    )


def _table(report: Report, kpi: str) -> ReportTable:
    for table in report.tables:
        if table.kpi == kpi:
            return table
    raise KeyError(kpi)  # pragma: no cover - the page asks for every KPI it shows


def kpi_figures(summary: Report, trend: Report, language: Language) -> list[KpiFigure]:
    """The six programme KPIs: the summary's totals and targets, the trend's months."""
    figures = []
    for kpi in PROGRAMME_KPIS:
        definition = KPI_BY_ID[kpi]
        total = _table(summary, kpi)
        shown = total.total.shown and total.total.value is not None
        interval = None
        if shown and total.total.low is not None and total.total.high is not None:
            interval = f"{percent(total.total.low)}–{percent(total.total.high)}"
        figures.append(
            KpiFigure(
                kpi=kpi,
                name=definition.name(language.code),
                definition=definition.definition_en
                if language.code == "en"
                else definition.definition_zh,
                figure=formatter(kpi)(total.total.value)  # type: ignore[arg-type]
                if shown
                else language.gettext(NOT_SHOWN),
                interval=interval,
                target=target_sentence(kpi, language),
                comparison=_comparison(total, language)
                if definition.target is not None
                and definition.target.measure is not TargetMeasure.VALUE
                else None,
                met=total.target_met,
                chart=trend_chart(
                    _table(trend, kpi),
                    language,
                    title=definition.name(language.code),
                    chart_id=f"kpi-{kpi}",
                ),
            )
        )
    return figures


def count_chart(
    report: Report, language: Language, *, chart_id: str, title: str, heading: str
) -> Chart:
    """A one-way table of complaint counts as bars (by category, by prefecture)."""
    table = _table(report, COMPLAINTS)
    period = report.period.as_data()
    return Chart(
        chart_id=chart_id,
        kind=ChartKind.BAR,
        title=title,
        description=language.gettext(
            N_("Complaints filed from %(first)s to %(last)s, by %(what)s.")
        )
        % {
            "first": period["first"],
            "last": period["last"],
            "what": heading.lower() if language.code == "en" else heading,
        },
        category_heading=heading,
        categories=tuple(label.name(language.code) for label in table.rows),
        series=(
            Series(language.gettext(ALL_COMPLAINTS), tuple(_value(row[0]) for row in table.cells)),
        ),
        format_value=count,
        not_shown=language.gettext(NOT_SHOWN),
    )


def category_chart(by_category: Report, language: Language) -> Chart:
    """Complaints of the last twelve months by category, as bars."""
    return count_chart(
        by_category,
        language,
        chart_id="complaints-by-category",
        title=language.gettext(N_("Complaints by category")),
        heading=language.gettext(CATEGORY),
    )


def month_chart(trend: Report, language: Language) -> Chart | None:
    """Complaints by month over the trend's two years, as bars."""
    return trend_chart(
        _table(trend, COMPLAINTS),
        language,
        title=language.gettext(N_("Complaints by month")),
        chart_id="complaints-by-month",
    )
