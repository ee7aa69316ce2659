"""/statistics: the programme's KPIs against their targets, with charts and open data.

Public, no JavaScript: every chart is server-rendered SVG with its numbers beside it as a
table. The figures come from `ReportService` for the public audience (coarser cells,
k = 10, complementary suppression), so nothing here can reveal a small cell. Every table
the page draws can be downloaded as CSV (UTF-8 with BOM) or JSON, with the definitions of
its figures, its period and the suppression rule (`registry.reports.exports`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final

from litestar import Response, get
from litestar.params import PathParameter
from litestar.response import Template

from public_site.controller import SitePageController
from public_site.i18n import N_, Language
from public_site.site import ServicesDep, SiteDep
from public_site.statistics.blacklist import (
    DOWNLOAD_NAME,
    FORMATS,
    blacklist_download,
    blacklist_period,
    blacklist_section,
)
from public_site.statistics.figures import (
    COMPLAINTS,
    PAGE_KPIS,
    SUMMARY_MONTHS,
    TREND_MONTHS,
    category_chart,
    full_months,
    kpi_figures,
    month_chart,
)
from registry.accounts.access import PUBLIC, opt
from registry.errors import NotFound
from registry.reports.exports import report_csv, report_data, report_xlsx
from registry.reports.tables import Audience, Dimension, Report, Scope
from registry.services import Services

ReportMaker = Callable[[Sequence[str], int, Sequence[Dimension]], Awaitable[Report]]


@dataclass(frozen=True)
class PageTable:
    """A table the page draws, downloadable under `name`."""

    name: str
    title: str
    kpis: tuple[str, ...]
    months: int
    dimensions: tuple[Dimension, ...]


PAGE_TABLES: Final = (
    PageTable(
        "kpis-by-association",
        N_("The programme's figures by association, last twelve months"),
        PAGE_KPIS,
        SUMMARY_MONTHS,
        (Dimension.ASSOCIATION,),
    ),
    PageTable(
        "kpis-by-month",
        N_("The programme's figures by month and association, last two years"),
        PAGE_KPIS,
        TREND_MONTHS,
        (Dimension.PERIOD, Dimension.ASSOCIATION),
    ),
    PageTable(
        "complaints-by-category",
        N_("Complaints by category, last twelve months"),
        (COMPLAINTS,),
        SUMMARY_MONTHS,
        (Dimension.CATEGORY,),
    ),
)
PREFECTURE_TABLE: Final = PageTable(
    "complaints-by-prefecture",
    N_("Complaints and their handling by prefecture, last twelve months"),
    (COMPLAINTS, "timeliness", "satisfaction", "first_response_24h"),
    SUMMARY_MONTHS,
    (Dimension.PREFECTURE,),
)
"""Partners only: the public sees regions by province, partners their prefectures."""
PARTNER_TABLES: Final = (*PAGE_TABLES, PREFECTURE_TABLE)
PUBLIC_FORMATS: Final = ("csv", "json")
MEDIA_TYPES: Final = {
    "csv": "text/csv",  # Litestar adds "; charset=utf-8" to a text type
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

TableName = Annotated[str, PathParameter(max_length=64, pattern=r"^[a-z-]+\.[a-z]+$")]


@dataclass(frozen=True)
class Download:
    """One downloadable table, as the page lists it."""

    title: str
    url: str
    formats: tuple[str, ...]


def downloads(
    tables: Sequence[PageTable], prefix: str, formats: tuple[str, ...], language: Language
) -> list[Download]:
    """`tables` as download links under `prefix`."""
    return [
        *(
            Download(language.gettext(table.title), f"{prefix}/{table.name}", formats)
            for table in tables
        ),
        Download(
            language.gettext("The blacklist's own figures, by association and tier"),
            f"{prefix}/{DOWNLOAD_NAME}",
            FORMATS,
        ),
    ]


@dataclass(frozen=True)
class PageReports:
    """The three reports a statistics page is drawn from."""

    summary: Report
    """Last twelve months by association: the headline figures and their targets."""
    trend: Report
    """Last two years by month and association: the trend charts."""
    by_category: Report
    """Last twelve months' complaints by category."""


def public_report_maker(services: Services, now: datetime) -> ReportMaker:
    """Reports for the public: the whole federation, public thresholds."""

    async def make(kpis: Sequence[str], months: int, dimensions: Sequence[Dimension]) -> Report:
        return await services.reports.report(
            scope=Scope(),
            kpis=kpis,
            period=full_months(now, months),
            dimensions=dimensions,
            audience=Audience.PUBLIC,
        )

    return make


async def page_reports(make: ReportMaker) -> PageReports:
    """The page's three reports, each `PAGE_TABLES` entry once."""
    made = [await make(t.kpis, t.months, t.dimensions) for t in PAGE_TABLES]
    return PageReports(summary=made[0], trend=made[1], by_category=made[2])


def page_context(reports: PageReports, language: Language) -> dict[str, Any]:
    """What statistics/_body.html draws."""
    return {
        "kpis": kpi_figures(reports.summary, reports.trend, language),
        "by_category": category_chart(reports.by_category, language),
        "by_month": month_chart(reports.trend, language),
        "summary": reports.summary,
        "threshold": reports.summary.threshold,
    }


async def table_download(
    make: ReportMaker,
    tables: Sequence[PageTable],
    name: str,
    formats: tuple[str, ...],
    language: str,
) -> Response[bytes]:
    """One of `tables` as a file; unknown tables and formats are 404."""
    stem, _, extension = name.partition(".")
    table = next((t for t in tables if t.name == stem), None)
    if table is None or extension not in formats:
        raise NotFound(f"no table {name}")
    report = await make(table.kpis, table.months, table.dimensions)
    if extension == "csv":
        body = report_csv(report, language)
    elif extension == "xlsx":
        body = report_xlsx(report, language)
    else:
        body = json.dumps(report_data(report), ensure_ascii=False, indent=1).encode("utf-8")
    return Response(
        body,
        media_type=MEDIA_TYPES[extension],
        headers={
            "Content-Disposition": f'attachment; filename="{stem}-{report.period.label()}.{extension}"',
            "Cache-Control": "no-store",
        },
    )


class StatisticsController(SitePageController):
    """The public statistics page and its open data."""

    path = "/statistics"

    @get("/", opt=opt(PUBLIC))
    async def statistics(self, site: SiteDep, services: ServicesDep) -> Template:
        """The six programme KPIs with their targets and trends, complaints by category
        and by month, the blacklist's own figures, and the open data downloads."""
        reports = await page_reports(public_report_maker(services, site.now))
        figures = await services.reports.blacklist_figures(blacklist_period(site.now))
        return site.page(
            "statistics/statistics.html",
            **page_context(reports, site.lang),
            blacklist=blacklist_section(figures, site.lang),
            downloads=downloads(PAGE_TABLES, "/statistics/data", PUBLIC_FORMATS, site.lang),
        )

    @get("/data/{name:str}", opt=opt(PUBLIC))
    async def data(self, site: SiteDep, services: ServicesDep, name: TableName) -> Response[bytes]:
        """One of the page's tables as CSV (UTF-8 with BOM) or JSON, with its definitions."""
        stem, _, extension = name.partition(".")
        if stem == DOWNLOAD_NAME:
            figures = await services.reports.blacklist_figures(blacklist_period(site.now))
            return blacklist_download(figures, extension, site.lang.code)
        return await table_download(
            public_report_maker(services, site.now),
            PAGE_TABLES,
            name,
            PUBLIC_FORMATS,
            site.lang.code,
        )
