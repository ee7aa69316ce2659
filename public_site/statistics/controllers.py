"""/statistics: the programme's KPIs against their targets, with charts and open data.

Public, no JavaScript: every chart is server-rendered SVG with its numbers beside it as a
table. The figures come from `ReportService` for the public audience (coarser cells,
k = 10, complementary suppression), so nothing here can reveal a small cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from litestar import get
from litestar.response import Template

from public_site.controller import SitePageController
from public_site.site import ServicesDep, SiteDep
from public_site.statistics.figures import (
    COMPLAINTS,
    PAGE_KPIS,
    PUBLIC_TABLES,
    SUMMARY_MONTHS,
    TREND_MONTHS,
    category_chart,
    full_months,
    kpi_figures,
    month_chart,
)
from registry.accounts.access import PUBLIC, opt
from registry.reports.tables import Audience, Dimension, Report, Scope
from registry.services import Services


@dataclass(frozen=True)
class PageReports:
    """The three reports the page is drawn from."""

    summary: Report
    """Last twelve months by association: the headline figures and their targets."""
    trend: Report
    """Last two years by month and association: the trend charts."""
    by_category: Report
    """Last twelve months' complaints by category."""


async def page_reports(
    services: Services, now: datetime, scope: Scope, audience: Audience
) -> PageReports:
    """The page's reports for `audience`, inside `scope` (the partner dashboard draws the
    same page from its own scope with finer cells)."""
    summary_period = full_months(now, SUMMARY_MONTHS)

    async def report(kpis: Sequence[str], months: int, *dimensions: Dimension) -> Report:
        period = summary_period if months == SUMMARY_MONTHS else full_months(now, months)
        return await services.reports.report(
            scope=scope,
            kpis=kpis,
            period=period,
            dimensions=dimensions,
            audience=audience,
        )

    return PageReports(
        summary=await report(PAGE_KPIS, SUMMARY_MONTHS, Dimension.ASSOCIATION),
        trend=await report(PAGE_KPIS, TREND_MONTHS, Dimension.PERIOD, Dimension.ASSOCIATION),
        by_category=await report([COMPLAINTS], SUMMARY_MONTHS, Dimension.CATEGORY),
    )


class StatisticsController(SitePageController):
    """The public statistics page."""

    path = "/statistics"

    @get("/", opt=opt(PUBLIC))
    async def statistics(self, site: SiteDep, services: ServicesDep) -> Template:
        """The six programme KPIs with their targets and trends, complaints by category
        and by month, and the open data downloads."""
        reports = await page_reports(services, site.now, Scope(), Audience.PUBLIC)
        return site.page(
            "statistics/statistics.html",
            kpis=kpi_figures(reports.summary, reports.trend, site.lang),
            by_category=category_chart(reports.by_category, site.lang),
            by_month=month_chart(reports.trend, site.lang),
            summary=reports.summary,
            threshold=reports.summary.threshold,
            tables=list(PUBLIC_TABLES),
        )
