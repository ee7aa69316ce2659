"""/api/v1/reports: KPI definitions, public and partner reports (JSON, CSV, XLSX), the
partners' access log and the signed monthly snapshots."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get
from litestar.params import PathParameter, QueryParameter
from litestar.status_codes import HTTP_404_NOT_FOUND, HTTP_422_UNPROCESSABLE_ENTITY

from member_api.contract import problems
from member_api.deps import CallerDep, ServicesDep
from member_api.pagination import PageNumber, PageSize, offset_of
from registry.accounts.access import PUBLIC, opt, roles
from registry.kernel.caller import Role
from registry.kernel.clock import isoformat
from registry.reports.exports import report_csv, report_data, report_xlsx
from registry.reports.kpis import KPIS
from registry.reports.suppression import MIN_RATE_DENOMINATOR, RULE_VERSION
from registry.reports.tables import Audience, Dimension, Period, Report, Scope

PARTNERS = roles(Role.GOVERNMENT_PARTNER, Role.FEDERATION_ADMIN)
CSV_MEDIA_TYPE = "text/csv"
"""Litestar adds `; charset=utf-8` to a text type itself."""
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

KpiIds = Annotated[
    list[str],
    QueryParameter(
        min_items=1, max_items=16, description="KPI ids (repeat the parameter), see /kpis"
    ),
]
PeriodText = Annotated[
    str,
    QueryParameter(min_length=4, max_length=7, description="2026-11, 2026-Q4 or 2026"),
]
UntilText = Annotated[
    str | None,
    QueryParameter(min_length=4, max_length=7, description="last month/quarter/year"),
]
GranularityText = Annotated[str, QueryParameter(description="month, quarter or year", max_length=7)]
ByDimensions = Annotated[
    list[Dimension],
    QueryParameter(min_items=1, max_items=2, description="rows, then optionally columns"),
]
Regions = Annotated[
    list[str] | None,
    QueryParameter(max_items=50, description="GB/T 2260 codes inside the partner's scope"),
]
Language = Annotated[str, QueryParameter(pattern="^(zh|en)$", description="zh or en")]
SnapshotPeriod = Annotated[
    str, PathParameter(title="snapshot month", pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
]


class NamesOut(msgspec.Struct):
    """A name in both languages."""

    zh: str
    en: str


class LabelOut(msgspec.Struct):
    """A row or column heading."""

    key: str
    name: NamesOut


class CellOut(msgspec.Struct, omit_defaults=True):
    """A figure with its status; withheld cells have no value."""

    status: str
    value: float | None = None
    low: float | None = None
    high: float | None = None


class TableOut(msgspec.Struct):
    """One KPI split by one or two dimensions, with totals."""

    kpi: str
    kpi_version: int
    rows_by: str
    columns_by: str | None
    rows: list[LabelOut]
    columns: list[LabelOut]
    cells: list[list[CellOut]]
    row_totals: list[CellOut]
    column_totals: list[CellOut]
    total: CellOut
    extra: dict[str, CellOut]
    target_met: bool | None


class PeriodOut(msgspec.Struct):
    """A run of months and how it is split."""

    first: str
    last: str
    granularity: str


class SuppressionOut(msgspec.Struct):
    """The small-cell rule applied."""

    version: str
    threshold: int
    min_rate_denominator: int
    zero_shown: bool


class ScopeOut(msgspec.Struct):
    """Regions and associations covered (empty: all)."""

    regions: list[str]
    associations: list[int]


class ReportHeaderOut(msgspec.Struct):
    """What the figures are: audience, period, baseline, scope, suppression."""

    audience: str
    period: PeriodOut
    baseline: PeriodOut | None
    scope: ScopeOut
    suppression: SuppressionOut
    generated_at: str


class TargetOut(msgspec.Struct):
    """The programme's goal."""

    measure: str
    op: str
    value: float


class KpiOut(msgspec.Struct):
    """A versioned KPI definition."""

    id: str
    version: int
    name: NamesOut
    kind: str
    numerator: list[str]
    denominator: str | None
    direction: str
    target: TargetOut | None
    definition: NamesOut


class ReportOut(msgspec.Struct):
    """A report: header, the definitions used and the tables."""

    report: ReportHeaderOut
    kpis: list[KpiOut]
    tables: list[TableOut]


class KpiCatalogueOut(msgspec.Struct):
    """Every KPI definition and the suppression rule in force."""

    kpis: list[KpiOut]
    suppression_version: str
    public_threshold: int
    partner_threshold: int
    min_rate_denominator: int


class AccessOut(msgspec.Struct):
    """One recorded partner query."""

    id: int
    at: str
    principal_id: int
    token_id: int | None
    query: dict[str, Any]
    cells: int


class SnapshotOut(msgspec.Struct):
    """A signed monthly snapshot in the listing."""

    serial: int
    period: str
    issued_at: str
    next_update: str
    log_index: int | None
    envelope_sha256: str


class SnapshotDocumentOut(msgspec.Struct):
    """The snapshot: its DSSE envelope and the tables whose digests it signs."""

    envelope: dict[str, Any]
    tables: list[dict[str, Any]]


def _report_out(report: Report) -> ReportOut:
    return msgspec.convert(report_data(report), ReportOut)


def _period(period: str, until: str | None, granularity: str) -> Period:
    return Period.parse(period, until, granularity)


def _download(data: bytes, media_type: str, name: str) -> Response[bytes]:
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class ReportController(Controller):
    """Reports by association, region, category and period, suppressed for the reader."""

    path = "/api/v1/reports"
    tags = ["reports"]

    @get("/kpis", opt=opt(PUBLIC))
    async def kpis(self, services: ServicesDep) -> KpiCatalogueOut:
        """Every KPI definition with its version, and the suppression rule in force."""
        return KpiCatalogueOut(
            kpis=[msgspec.convert(k.as_data(), KpiOut) for k in KPIS],
            suppression_version=RULE_VERSION,
            public_threshold=services.reports.threshold(Audience.PUBLIC),
            partner_threshold=services.reports.threshold(Audience.PARTNER),
            min_rate_denominator=MIN_RATE_DENOMINATOR,
        )

    async def _public(
        self,
        *,
        services: Any,
        kpi: list[str],
        period: str,
        until: str | None,
        granularity: str,
        by: list[Dimension],
    ) -> Report:
        report: Report = await services.reports.report(
            scope=Scope(),
            kpis=kpi,
            period=_period(period, until, granularity),
            dimensions=by,
            audience=Audience.PUBLIC,
        )
        return report

    @get("/public", opt=opt(PUBLIC), responses=problems(HTTP_422_UNPROCESSABLE_ENTITY))
    async def public(
        self,
        *,
        services: ServicesDep,
        kpi: KpiIds,
        period: PeriodText,
        by: ByDimensions,
        until: UntilText = None,
        granularity: GranularityText = "month",
    ) -> ReportOut:
        """A public report: regions by province, counts below 10 suppressed."""
        return _report_out(
            await self._public(
                services=services,
                kpi=kpi,
                period=period,
                until=until,
                granularity=granularity,
                by=by,
            )
        )

    @get(
        "/public.csv",
        opt=opt(PUBLIC),
        media_type=CSV_MEDIA_TYPE,
        responses=problems(HTTP_422_UNPROCESSABLE_ENTITY),
    )
    async def public_csv(
        self,
        *,
        services: ServicesDep,
        kpi: KpiIds,
        period: PeriodText,
        by: ByDimensions,
        until: UntilText = None,
        granularity: GranularityText = "month",
        lang: Language = "zh",
    ) -> Response[bytes]:
        """The public report as CSV (UTF-8 with BOM), definitions in its header lines."""
        report = await self._public(
            services=services, kpi=kpi, period=period, until=until, granularity=granularity, by=by
        )
        return _download(report_csv(report, lang), CSV_MEDIA_TYPE, "report.csv")

    @get(
        "/public.xlsx",
        opt=opt(PUBLIC),
        media_type=XLSX_MEDIA_TYPE,
        responses=problems(HTTP_422_UNPROCESSABLE_ENTITY),
    )
    async def public_xlsx(
        self,
        *,
        services: ServicesDep,
        kpi: KpiIds,
        period: PeriodText,
        by: ByDimensions,
        until: UntilText = None,
        granularity: GranularityText = "month",
        lang: Language = "zh",
    ) -> Response[bytes]:
        """The public report as an XLSX workbook with an about sheet."""
        report = await self._public(
            services=services, kpi=kpi, period=period, until=until, granularity=granularity, by=by
        )
        return _download(report_xlsx(report, lang), XLSX_MEDIA_TYPE, "report.xlsx")

    async def _partner(
        self,
        *,
        services: Any,
        caller: Any,
        query: tuple[list[str], str, str | None, str, list[Dimension], list[str] | None],
        output: str,
    ) -> Report:
        kpi, period, until, granularity, by, region = query
        report: Report = await services.reports.partner_report(
            caller,
            kpis=kpi,
            period=_period(period, until, granularity),
            dimensions=by,
            regions_asked=region or (),
            output=output,
        )
        return report

    @get(
        "/partner",
        opt=opt(PARTNERS),
        responses=problems(HTTP_422_UNPROCESSABLE_ENTITY),
    )
    async def partner(
        self,
        *,
        services: ServicesDep,
        caller: CallerDep,
        kpi: KpiIds,
        period: PeriodText,
        by: ByDimensions,
        until: UntilText = None,
        granularity: GranularityText = "month",
        region: Regions = None,
    ) -> ReportOut:
        """A report inside the partner's scope (counts below 3 suppressed), logged."""
        query = (kpi, period, until, granularity, by, region)
        return _report_out(
            await self._partner(services=services, caller=caller, query=query, output="json")
        )

    @get(
        "/partner.csv",
        opt=opt(PARTNERS),
        media_type=CSV_MEDIA_TYPE,
        responses=problems(HTTP_422_UNPROCESSABLE_ENTITY),
    )
    async def partner_csv(
        self,
        *,
        services: ServicesDep,
        caller: CallerDep,
        kpi: KpiIds,
        period: PeriodText,
        by: ByDimensions,
        until: UntilText = None,
        granularity: GranularityText = "month",
        region: Regions = None,
        lang: Language = "zh",
    ) -> Response[bytes]:
        """The partner's report as CSV (UTF-8 with BOM), logged."""
        query = (kpi, period, until, granularity, by, region)
        report = await self._partner(services=services, caller=caller, query=query, output="csv")
        return _download(report_csv(report, lang), CSV_MEDIA_TYPE, "report.csv")

    @get(
        "/partner.xlsx",
        opt=opt(PARTNERS),
        media_type=XLSX_MEDIA_TYPE,
        responses=problems(HTTP_422_UNPROCESSABLE_ENTITY),
    )
    async def partner_xlsx(
        self,
        *,
        services: ServicesDep,
        caller: CallerDep,
        kpi: KpiIds,
        period: PeriodText,
        by: ByDimensions,
        until: UntilText = None,
        granularity: GranularityText = "month",
        region: Regions = None,
        lang: Language = "zh",
    ) -> Response[bytes]:
        """The partner's report as an XLSX workbook, logged."""
        query = (kpi, period, until, granularity, by, region)
        report = await self._partner(services=services, caller=caller, query=query, output="xlsx")
        return _download(report_xlsx(report, lang), XLSX_MEDIA_TYPE, "report.xlsx")

    @get("/access-log", opt=opt(roles(Role.FEDERATION_ADMIN)))
    async def access_log(
        self, services: ServicesDep, page: PageNumber = 1, page_size: PageSize = 20
    ) -> list[AccessOut]:
        """Who queried which partner report, and when, newest first."""
        rows = await services.reports.access_log(offset_of(page, page_size), page_size)
        return [
            AccessOut(
                id=row.id,
                at=isoformat(row.at),
                principal_id=row.principal_id,
                token_id=row.token_id,
                query=row.query,
                cells=row.cells,
            )
            for row in rows
        ]

    @get("/snapshots", opt=opt(PUBLIC))
    async def snapshots(self, services: ServicesDep) -> list[SnapshotOut]:
        """The signed monthly snapshots, newest first."""
        return [
            SnapshotOut(
                serial=s.serial,
                period=s.period,
                issued_at=isoformat(s.issued_at),
                next_update=isoformat(s.next_update),
                log_index=s.log_index,
                envelope_sha256=s.envelope_digest,
            )
            for s in await services.report_snapshots.list()
        ]

    @get(
        "/snapshots/{period:str}",
        opt=opt(PUBLIC),
        responses=problems(HTTP_404_NOT_FOUND),
    )
    async def snapshot(self, services: ServicesDep, period: SnapshotPeriod) -> SnapshotDocumentOut:
        """One month's snapshot: the DSSE envelope and the tables it signs."""
        document = await services.report_snapshots.document(period)
        return SnapshotDocumentOut(envelope=document["envelope"], tables=document["tables"])


__all__ = ["ReportController"]
