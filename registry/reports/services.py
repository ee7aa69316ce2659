"""Reports from the rollup tables: the one call every page, download and snapshot makes.

`ReportService.report(scope=…, kpis=…, period=…, dimensions=…, audience=…)` reads the
pre-summed rollups (never the complaint table), splits each KPI by one or two dimensions,
suppresses small cells for the audience (`registry.reports.suppression`) and returns typed
tables whose every cell says whether it is shown. Partners go through `partner_report`,
which narrows the scope to the partner's own and records the query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.accounts.models import ApiToken
from registry.certification.audit_models import AuditRecord
from registry.certification.models import AttestationRecord, Certification
from registry.certification.status import CertificationState
from registry.complaints.messages import CATEGORY_NAMES
from registry.complaints.models import ComplaintCategory
from registry.context import RegistryContext
from registry.errors import InvalidInput, PermissionDenied
from registry.federation.lookups import association_by_slug
from registry.federation.models import Association
from registry.kernel import regions
from registry.kernel.caller import Caller, Role
from registry.membership.models import Vendor
from registry.reports.blacklist import FIGURES, BlacklistFigures, blacklist_figures
from registry.reports.kpis import KPI_BY_ID, KpiDefinition, KpiKind, TargetMeasure
from registry.reports.models import (
    COMPLAINT_COUNTERS,
    NO_ASSOCIATION,
    RESPONSE_BUCKETS,
    RESPONSE_HOUR_EDGES,
    VENDOR_COUNTERS,
    ComplaintRollup,
    PartnerScope,
    ReportAccess,
    VendorRollup,
)
from registry.reports.suppression import (
    CellStatus,
    rate_status,
    suppress,
    wilson,
)
from registry.reports.tables import (
    Audience,
    Cell,
    Dimension,
    Label,
    Period,
    Report,
    ReportTable,
    Scope,
    add_months,
    month_key,
)

VENDOR_SIZES: dict[str, tuple[str, str]] = {
    "none": ("非会员（未注册主体）", "none (unregistered subject)"),
    "micro": ("微型企业", "micro enterprise"),
    "small": ("小型企业", "small enterprise"),
    "medium": ("中型企业", "medium-sized enterprise"),
    "large": ("大型企业", "large enterprise"),
    "unspecified": ("会员（规模未登记）", "member (size not recorded)"),
}
"""The vendor-size dimension: the SME bands a member declares (`VendorSize`, after
工信部联企业〔2011〕300号 for software and IT services), or none/unspecified."""
_VENDOR_DIMENSIONS = frozenset({Dimension.ASSOCIATION, Dimension.PERIOD})
"""The only splits certificate and audit counters have."""
_PUBLIC_DIMENSIONS = frozenset(
    {
        Dimension.ASSOCIATION,
        Dimension.PROVINCE,
        Dimension.CATEGORY,
        Dimension.VENDOR_SIZE,
        Dimension.PERIOD,
    }
)
"""The public sees coarser cells: regions by province only."""


@dataclass(frozen=True, slots=True)
class _Ask:
    """One report's question, shared by its tables."""

    scope: Scope
    period: Period
    baseline: Period
    rows_by: Dimension
    columns_by: Dimension | None
    labels: dict[Dimension, tuple[Label, ...]]
    k: int


_COMPLIANCE_DIMENSIONS = frozenset(
    {Dimension.ASSOCIATION, Dimension.PROVINCE, Dimension.PREFECTURE}
)
_CERTIFIED_STATES = (CertificationState.ACTIVE, CertificationState.RENEWAL_DUE)


def _vendor_key(dimension: Dimension, association_id: int, code: str) -> str:
    if dimension is Dimension.ASSOCIATION:
        return str(association_id)
    if not regions.is_known(code):
        return "unknown"
    return regions.rolled_up(code, regions.RegionLevel(dimension.value))


Key = tuple[str, str]
"""(row key, column key) of a cell; the column key is "all" in a one-way table."""
ALL = "all"


class ReportService:
    """Builds reports from the rollups for the public, partners and the federation."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    def threshold(self, audience: Audience) -> int:
        """k for `audience`: counts 0 < n < k are suppressed."""
        settings = self.ctx.settings
        if audience is Audience.PUBLIC:
            return settings.report_public_threshold
        return settings.report_partner_threshold

    async def report(
        self,
        *,
        scope: Scope,
        kpis: Sequence[str],
        period: Period,
        dimensions: Sequence[Dimension],
        audience: Audience,
        baseline: Period | None = None,
    ) -> Report:
        """Every KPI in `kpis` for `period`, split by `dimensions` (one or two: rows, then
        columns), inside `scope`, suppressed for `audience`.

        `baseline` is what change-against-baseline targets compare with (default: the same
        months a year earlier). Raises InvalidInput for an unknown KPI or dimension set.
        """
        definitions = _definitions(kpis)
        rows_by, columns_by = _dimensions(dimensions, audience)
        baseline = baseline or period.shifted_years(-1)
        k = self.threshold(audience)
        async with self.ctx.db.read() as session:
            labels = {
                dim: await self._labels(session, dim, scope, period)
                for dim in (rows_by, columns_by)
                if dim is not None
            }
            ask = _Ask(scope, period, baseline, rows_by, columns_by, labels, k)
            tables = [await self._table(session, definition, ask) for definition in definitions]
        return Report(
            audience=audience,
            scope=scope,
            period=period,
            baseline=baseline,
            suppression_version=_rule_version(),
            threshold=k,
            kpis=tuple(d.as_data() for d in definitions),
            tables=tuple(tables),
            generated_at=self.ctx.clock.now(),
        )

    async def partner_scope(self, caller: Caller) -> Scope:
        """The regions and associations a government partner may see (never empty: a
        partner without any scope row sees nothing, and is refused)."""
        if caller.role is Role.FEDERATION_ADMIN:
            return Scope()
        if caller.role is not Role.GOVERNMENT_PARTNER:
            raise PermissionDenied("reports by region are for government partners")
        async with self.ctx.db.read() as session:
            rows = (
                await session.execute(
                    select(PartnerScope.region, PartnerScope.association_id).where(
                        PartnerScope.principal_id == caller.principal_id
                    )
                )
            ).all()
        if not rows:
            raise PermissionDenied("this partner has no region or association in its scope")
        return Scope(
            regions=frozenset(r.region for r in rows if r.region),
            associations=frozenset(r.association_id for r in rows if r.association_id),
        )

    async def check_partner_scope(
        self, region_codes: Sequence[str], association_slugs: Sequence[str]
    ) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """Validate a partner's scope before anything is created: every region a known
        province or prefecture code, every association existing, at least one of either."""
        if not region_codes and not association_slugs:
            raise InvalidInput(
                "a government_partner token needs --region and/or --association",
                fields={"region": "GB/T 2260 province or prefecture code"},
            )
        for code in region_codes:
            if not regions.is_known(code) or regions.prefecture_of(code) != code:
                raise InvalidInput(
                    f"{code!r} is not a province or prefecture code of GB/T 2260",
                    fields={"region": "province (110000) or prefecture (440300) code"},
                )
        association_ids: list[int] = []
        async with self.ctx.db.read() as session:
            for slug in association_slugs:
                association_ids.append((await association_by_slug(session, slug)).id)
        return tuple(dict.fromkeys(region_codes)), tuple(dict.fromkeys(association_ids))

    async def grant_partner_scope(
        self, token_id: int, region_codes: Sequence[str], association_ids: Sequence[int]
    ) -> None:
        """Give the government partner holding `token_id` its regions and associations."""
        async with self.ctx.db.transaction() as session:
            principal_id, role = (
                await session.execute(
                    select(ApiToken.principal_id, ApiToken.role).where(ApiToken.id == token_id)
                )
            ).one()
            if role is not Role.GOVERNMENT_PARTNER:
                raise InvalidInput("only government partners have a report scope")
            for code in region_codes:
                session.add(PartnerScope(principal_id=principal_id, region=code))
            for association_id in association_ids:
                session.add(PartnerScope(principal_id=principal_id, association_id=association_id))

    async def access_log(self, offset: int, limit: int) -> list[ReportAccess]:
        """The partners' report queries, newest first (federation admin)."""
        async with self.ctx.db.read() as session:
            rows = await session.scalars(
                select(ReportAccess).order_by(ReportAccess.id.desc()).offset(offset).limit(limit)
            )
            return list(rows)

    async def partner_report(
        self,
        caller: Caller,
        *,
        kpis: Sequence[str],
        period: Period,
        dimensions: Sequence[Dimension],
        regions_asked: Sequence[str] = (),
        baseline: Period | None = None,
        output: str = "json",
    ) -> Report:
        """A report inside the caller's scope (narrowed further to `regions_asked`, each of
        which must lie inside it), recorded in the access log in the same transaction."""
        allowed = await self.partner_scope(caller)
        scope = _narrowed(allowed, regions_asked)
        audience = Audience.FEDERATION if caller.role is Role.FEDERATION_ADMIN else Audience.PARTNER
        report = await self.report(
            scope=scope,
            kpis=kpis,
            period=period,
            dimensions=dimensions,
            audience=audience,
            baseline=baseline,
        )
        query = {
            "kpis": list(kpis),
            "period": period.as_data(),
            "dimensions": [d.value for d in dimensions],
            "scope": scope.as_data(),
            "format": output,
        }
        await self._record_access(caller, report.generated_at, query, report.cell_count())
        return report

    async def _record_access(
        self, caller: Caller, at: datetime, query: dict[str, Any], cells: int
    ) -> None:
        """One partner query in the access log (who, which report, when, how many cells)."""
        async with self.ctx.db.transaction() as session:
            session.add(
                ReportAccess(
                    at=at,
                    principal_id=caller.principal_id,
                    token_id=caller.token_id,
                    query=query,
                    cells=cells,
                )
            )

    # --- the blacklist's own figures ------------------------------------------------

    async def blacklist_figures(
        self, period: Period, scope: Scope | None = None
    ) -> BlacklistFigures:
        """The list's figures for `period` (`registry.reports.blacklist`): public records,
        so nothing is suppressed, for the public and partners alike."""
        async with self.ctx.db.read() as session:
            return await blacklist_figures(session, period, scope or Scope(), self.ctx.clock.now())

    async def partner_blacklist_figures(
        self, caller: Caller, period: Period, output: str = "json"
    ) -> BlacklistFigures:
        """The figures inside the partner's associations (a partner scoped by regions only
        sees every association: cases have no region), recorded in the access log."""
        allowed = await self.partner_scope(caller)
        scope = Scope(associations=allowed.associations)
        figures = await self.blacklist_figures(period, scope)
        rows = len(figures.rows) + len(figures.by_association) + len(figures.by_tier) + 1
        query = {
            "report": "blacklist_figures",
            "period": period.as_data(),
            "scope": scope.as_data(),
            "format": output,
        }
        await self._record_access(caller, figures.generated_at, query, rows * len(FIGURES))
        return figures

    # --- labels ----------------------------------------------------------------------

    async def _labels(
        self, session: AsyncSession, dimension: Dimension, scope: Scope, period: Period
    ) -> tuple[Label, ...]:
        """Every heading of `dimension` inside `scope`, zero rows included, so tables of
        different periods line up."""
        if dimension is Dimension.PERIOD:
            return tuple(Label(b, b, b) for b in period.buckets())
        if dimension is Dimension.CATEGORY:
            return tuple(
                Label(c.value, CATEGORY_NAMES[c.value].zh, CATEGORY_NAMES[c.value].en)
                for c in ComplaintCategory
            )
        if dimension is Dimension.VENDOR_SIZE:
            return tuple(Label(key, zh, en) for key, (zh, en) in VENDOR_SIZES.items())
        if dimension is Dimension.ASSOCIATION:
            query = select(Association.id, Association.name_zh, Association.name_en).order_by(
                Association.id
            )
            if scope.associations:
                query = query.where(Association.id.in_(scope.associations))
            labels = [
                Label(str(r.id), r.name_zh, r.name_en) for r in (await session.execute(query))
            ]
            if not scope.associations:
                labels.append(Label(str(NO_ASSOCIATION), "未关联协会", "no association"))
            return tuple(labels)
        units = regions.provinces() if dimension is Dimension.PROVINCE else regions.prefectures()
        if scope.regions:
            units = [u for u in units if any(_overlaps(u.code, s) for s in scope.regions)]
        return tuple(Label(u.code, u.name_zh, u.name_en) for u in units)

    # --- one table ---------------------------------------------------------------------

    async def _table(
        self, session: AsyncSession, definition: KpiDefinition, ask: _Ask
    ) -> ReportTable:
        scope, period, k = ask.scope, ask.period, ask.k
        rows_by, columns_by, labels = ask.rows_by, ask.columns_by, ask.labels
        row_labels = labels[rows_by]
        column_labels = labels[columns_by] if columns_by else (Label(ALL, "合计", "all"),)
        counters = [
            *definition.numerator,
            *([definition.denominator] if definition.denominator else []),
        ]
        if definition.id == "compliance":
            sums = await self._compliance(session, scope, period, (rows_by, columns_by))
        else:
            sums = await self._sums(session, counters, scope, period, (rows_by, columns_by))
        if sums is None:
            return _not_applicable(definition, rows_by, columns_by, row_labels, column_labels)
        rk = [label.key for label in row_labels]
        ck = [label.key for label in column_labels]

        def grid(names: Sequence[str]) -> list[list[int]]:
            return [[sum(sums.get((r, c), {}).get(n, 0) for n in names) for c in ck] for r in rk]

        numerators = grid(definition.numerator)
        extra: dict[str, Cell] = {}
        if definition.kind is KpiKind.COUNT:
            table = _count_table(numerators, k)
            total_value = table.total.value
        else:
            table = _rate_table(numerators, grid([definition.denominator or "filed"]), k)
            total_value = table.total.value
        target_figure = total_value if table.total.shown else None
        if definition.target is not None and definition.target.measure is not TargetMeasure.VALUE:
            target_figure = await self._baseline_figures(
                session, definition, ask, table.total, extra
            )
        target_met = definition.target.met(target_figure) if definition.target else None
        return ReportTable(
            kpi=definition.id,
            kpi_version=definition.version,
            rows_by=rows_by,
            columns_by=columns_by,
            rows=row_labels,
            columns=column_labels,
            cells=table.cells,
            row_totals=table.row_totals,
            column_totals=table.column_totals,
            total=table.total,
            extra=extra,
            target_met=target_met,
        )

    async def _baseline_figures(
        self,
        session: AsyncSession,
        definition: KpiDefinition,
        ask: _Ask,
        total: Cell,
        extra: dict[str, Cell],
    ) -> float | None:
        """Fill the baseline figures beside the table; return what the target judges."""
        scope, period, baseline, k = ask.scope, ask.period, ask.baseline, ask.k
        target = definition.target
        if target is None:
            return None
        if target.measure is TargetMeasure.SPEED_CHANGE_VS_BASELINE:
            now = await self._median_hours(session, scope, period, k)
            before = await self._median_hours(session, scope, baseline, k)
            extra["median_hours"] = now
            extra["baseline_median_hours"] = before
            if now.shown and before.shown and now.value and before.value is not None:
                change = before.value / now.value - 1
                extra["speed_change"] = Cell(CellStatus.SHOWN, round(change, 4))
                return change
            extra["speed_change"] = Cell(CellStatus.NOT_APPLICABLE)
            return None
        counters = [
            *definition.numerator,
            *([definition.denominator] if definition.denominator else []),
        ]
        sums = await self._sums(session, counters, scope, baseline, (Dimension.PERIOD, None))
        grand: dict[str, int] = defaultdict(int)
        for values in (sums or {}).values():
            for name, value in values.items():
                grand[name] += value
        numerator = sum(grand[n] for n in definition.numerator)
        if definition.kind is KpiKind.COUNT or definition.denominator is None:
            before = _count_cell(numerator, k)
        else:
            before = _rate_cell(
                numerator,
                grand[definition.denominator],
                _count_cell(grand[definition.denominator], k).status,
            )
        extra["baseline"] = before
        if before.shown and total.shown and before.value and total.value is not None:
            change = (total.value - before.value) / before.value
            extra["change"] = Cell(CellStatus.SHOWN, round(change, 4))
            return change
        extra["change"] = Cell(CellStatus.NOT_APPLICABLE)
        return None

    async def _median_hours(
        self, session: AsyncSession, scope: Scope, period: Period, k: int
    ) -> Cell:
        """Median hours to first response, read from the response-time histogram
        (linear within the bucket); suppressed like a count below k."""
        sums = await self._sums(
            session, list(RESPONSE_BUCKETS), scope, period, (Dimension.PERIOD, None)
        )
        histogram = [0] * len(RESPONSE_BUCKETS)
        for values in (sums or {}).values():
            for i, name in enumerate(RESPONSE_BUCKETS):
                histogram[i] += values.get(name, 0)
        answered = sum(histogram)
        if answered == 0:
            return Cell(CellStatus.NOT_APPLICABLE)
        if answered < max(k, 1):
            return Cell(CellStatus.SUPPRESSED_PRIMARY)
        return Cell(CellStatus.SHOWN, round(median_from_histogram(histogram), 2))

    async def compliance_counts(
        self,
        scope: Scope,
        period: Period,
        split: tuple[Dimension, Dimension | None],
    ) -> dict[Key, dict[str, int]] | None:
        """The compliance KPI's counters (certified, compliant) by `split`; see `_compliance`."""
        async with self.ctx.db.read() as session:
            return await self._compliance(session, scope, period, split)

    async def _compliance(
        self,
        session: AsyncSession,
        scope: Scope,
        period: Period,
        split: tuple[Dimension, Dimension | None],
    ) -> dict[Key, dict[str, int]] | None:
        """Certified and compliant vendors as they stand now, by association or by the
        region of their credit code (GB 32100: characters 3-8 are the registering
        authority's division code). Past states are not kept, so only a period ending
        this month or last month has the figure; other periods and splits: None."""
        now_month = month_key(self.ctx.clock.now())
        wanted = [d for d in split if d is not None]
        if period.last < add_months(now_month, -1) or not set(wanted) <= _COMPLIANCE_DIMENSIONS:
            return None
        latest_attestation = (
            select(
                AttestationRecord.vendor_id,
                func.max(AttestationRecord.period_end).label("period_end"),
            )
            .group_by(AttestationRecord.vendor_id)
            .subquery()
        )
        attested = {
            vendor_id: bool(all_met)
            for vendor_id, all_met in await session.execute(
                select(AttestationRecord.vendor_id, AttestationRecord.all_met).join(
                    latest_attestation,
                    (latest_attestation.c.vendor_id == AttestationRecord.vendor_id)
                    & (latest_attestation.c.period_end == AttestationRecord.period_end),
                )
            )
        }
        latest_audit = (
            select(AuditRecord.vendor_id, func.max(AuditRecord.period_end).label("period_end"))
            .group_by(AuditRecord.vendor_id)
            .subquery()
        )
        audited = {
            vendor_id: "major_nonconformity" not in (outcomes or {}).values()
            for vendor_id, outcomes in await session.execute(
                select(AuditRecord.vendor_id, AuditRecord.outcomes).join(
                    latest_audit,
                    (latest_audit.c.vendor_id == AuditRecord.vendor_id)
                    & (latest_audit.c.period_end == AuditRecord.period_end),
                )
            )
        }
        certified = await session.execute(
            select(Vendor.id, Vendor.association_id, Vendor.credit_code)
            .join(Certification, Certification.vendor_id == Vendor.id)
            .where(Certification.state.in_(_CERTIFIED_STATES))
        )
        result: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for vendor_id, association_id, credit_code in certified:
            code = credit_code[2:8]
            if scope.associations and association_id not in scope.associations:
                continue
            if scope.regions and not any(regions.within(code, s) for s in scope.regions):
                continue
            keys = [_vendor_key(d, association_id, code) for d in wanted]
            cell = result[(keys[0], keys[1] if len(keys) == 2 else ALL)]
            cell["certified"] += 1
            if attested.get(vendor_id, False) and audited.get(vendor_id, True):
                cell["compliant"] += 1
        return result

    async def _sums(
        self,
        session: AsyncSession,
        counters: Sequence[str],
        scope: Scope,
        period: Period,
        split: tuple[Dimension, Dimension | None],
    ) -> dict[Key, dict[str, int]] | None:
        """{(row key, column key): {counter: sum}} over the rollups the counters live in.

        Certificate and audit counters split by association and period only: asked for
        another split (or a region scope) they are left out, and when nothing else is
        asked the answer is None (the table is not applicable)."""
        rows_by, columns_by = split
        vendor_counters = [c for c in counters if c in VENDOR_COUNTERS]
        complaint_counters = [c for c in counters if c not in VENDOR_COUNTERS]
        wanted = {rows_by, *([columns_by] if columns_by else [])}
        vendor_splits = wanted <= _VENDOR_DIMENSIONS and not scope.regions
        if not complaint_counters and not vendor_splits:
            return None
        result: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        sources: list[tuple[Any, list[str]]] = []
        if complaint_counters:
            sources.append((ComplaintRollup, complaint_counters))
        if vendor_counters and vendor_splits:
            sources.append((VendorRollup, vendor_counters))
        dims = [rows_by, *([columns_by] if columns_by else [])]
        for table, names in sources:
            group = [_column(table, d) for d in dims]
            query = (
                select(*group, *(func.sum(getattr(table, c)).label(c) for c in names))
                .where(table.month >= period.first, table.month <= period.last)
                .group_by(*group)
            )
            conditions = _scope_conditions(table, scope, vendor=table is VendorRollup)
            if conditions is not None:
                query = query.where(conditions)
            width = len(dims)
            keyed = [_keyer(d, period) for d in dims]
            for row in await session.execute(query):
                cell = result[(keyed[0](row[0]), keyed[1](row[1]) if columns_by else ALL)]
                for j, name in enumerate(names, start=width):
                    cell[name] += int(row[j] or 0)
        return result


# --- pure helpers ----------------------------------------------------------------------


def _rule_version() -> str:
    from registry.reports.suppression import RULE_VERSION

    return RULE_VERSION


def _definitions(kpis: Sequence[str]) -> list[KpiDefinition]:
    if not kpis:
        raise InvalidInput("name at least one KPI", fields={"kpis": "at least one"})
    unknown = [k for k in kpis if k not in KPI_BY_ID]
    if unknown:
        raise InvalidInput(
            f"unknown KPI {unknown[0]!r}", fields={"kpis": "one of " + ", ".join(KPI_BY_ID)}
        )
    return [KPI_BY_ID[k] for k in dict.fromkeys(kpis)]


def _dimensions(
    dimensions: Sequence[Dimension], audience: Audience
) -> tuple[Dimension, Dimension | None]:
    if not 1 <= len(dimensions) <= 2 or len(set(dimensions)) != len(dimensions):
        raise InvalidInput(
            "split a report by one or two different dimensions",
            fields={"dimensions": "one or two of " + ", ".join(d.value for d in Dimension)},
        )
    if {Dimension.PROVINCE, Dimension.PREFECTURE} <= set(dimensions):
        raise InvalidInput(
            "split by province or by prefecture, not both",
            fields={"dimensions": "province or prefecture"},
        )
    if audience is Audience.PUBLIC and not set(dimensions) <= _PUBLIC_DIMENSIONS:
        raise InvalidInput(
            "public reports split regions by province only",
            fields={"dimensions": "province, not prefecture"},
        )
    return dimensions[0], (dimensions[1] if len(dimensions) == 2 else None)


def _narrowed(allowed: Scope, asked: Sequence[str]) -> Scope:
    if not asked:
        return allowed
    for code in asked:
        if not regions.is_known(code):
            raise InvalidInput(f"unknown region code {code!r}", fields={"region": "GB/T 2260 code"})
        if allowed.regions and not any(regions.within(code, s) for s in allowed.regions):
            raise PermissionDenied(f"region {code} is outside this partner's scope")
    return Scope(regions=frozenset(asked), associations=allowed.associations)


def _overlaps(unit: str, scope_code: str) -> bool:
    """True when the province/prefecture `unit` and the scope region share ground."""
    return regions.within(unit, scope_code) or regions.within(scope_code, unit)


def _column(table: Any, dimension: Dimension) -> Any:
    return {
        Dimension.ASSOCIATION: lambda: table.association_id,
        Dimension.PROVINCE: lambda: table.province,
        Dimension.PREFECTURE: lambda: table.prefecture,
        Dimension.CATEGORY: lambda: table.category,
        Dimension.VENDOR_SIZE: lambda: table.vendor_size,
        Dimension.PERIOD: lambda: table.month,
    }[dimension]()


def _keyer(dimension: Dimension, period: Period) -> Callable[[Any], str]:
    """How a grouped value becomes a row or column key (months fold into buckets)."""
    if dimension is Dimension.PERIOD:
        buckets = {month: period.bucket(month) for month in period.months()}
        return lambda value: buckets[int(value)]
    return str


def _scope_conditions(table: Any, scope: Scope, *, vendor: bool) -> ColumnElement[bool] | None:
    conditions: list[ColumnElement[bool]] = []
    if scope.associations:
        conditions.append(table.association_id.in_(sorted(scope.associations)))
    if scope.regions and not vendor:
        by_region = []
        for code in sorted(scope.regions):
            if code.endswith("0000"):
                by_region.append(table.province == code)
            elif regions.prefecture_of(code) == code:
                by_region.append(table.prefecture == code)
            else:
                by_region.append(table.region == code)
        conditions.append(or_(*by_region))
    return and_(*conditions) if conditions else None


def median_from_histogram(histogram: Sequence[int]) -> float:
    """The median of response hours from bucket counts, linear within its bucket; the
    open last bucket is read as ending at twice the last edge."""
    total = sum(histogram)
    half = total / 2
    seen = 0
    lower = 0.0
    edges = [*RESPONSE_HOUR_EDGES, RESPONSE_HOUR_EDGES[-1] * 2]
    for count, upper in zip(histogram, edges, strict=True):
        if count and seen + count >= half:
            return lower + (upper - lower) * (half - seen) / count
        seen += count
        lower = float(upper)
    return lower


class _Grid:
    """Cells with their margins, before they become a ReportTable."""

    def __init__(
        self,
        cells: tuple[tuple[Cell, ...], ...],
        row_totals: tuple[Cell, ...],
        column_totals: tuple[Cell, ...],
        total: Cell,
    ) -> None:
        self.cells = cells
        self.row_totals = row_totals
        self.column_totals = column_totals
        self.total = total


def _split(full: list[list[Cell]]) -> _Grid:
    """A (R+1) × (C+1) grid with margins into cells and totals."""
    return _Grid(
        cells=tuple(tuple(row[:-1]) for row in full[:-1]),
        row_totals=tuple(row[-1] for row in full[:-1]),
        column_totals=tuple(full[-1][:-1]),
        total=full[-1][-1],
    )


def _count_table(counts: list[list[int]], k: int) -> _Grid:
    from registry.reports.suppression import with_margins

    grid = with_margins(counts)
    statuses = suppress(counts, k).status
    return _split(
        [
            [
                Cell(status, float(value)) if status is CellStatus.SHOWN else Cell(status)
                for value, status in zip(row, status_row, strict=True)
            ]
            for row, status_row in zip(grid, statuses, strict=True)
        ]
    )


def _rate_table(numerators: list[list[int]], denominators: list[list[int]], k: int) -> _Grid:
    from registry.reports.suppression import with_margins

    nums = with_margins(numerators)
    dens = with_margins(denominators)
    statuses = suppress(denominators, k).status
    return _split(
        [
            [
                _rate_cell(n, d, status)
                for n, d, status in zip(num_row, den_row, status_row, strict=True)
            ]
            for num_row, den_row, status_row in zip(nums, dens, statuses, strict=True)
        ]
    )


def _count_cell(value: int, k: int) -> Cell:
    if 0 < value < k:
        return Cell(CellStatus.SUPPRESSED_PRIMARY)
    return Cell(CellStatus.SHOWN, float(value))


def _rate_cell(numerator: int, denominator: int, denominator_status: CellStatus) -> Cell:
    status = rate_status(denominator, denominator_status)
    if status is not CellStatus.SHOWN:
        return Cell(status)
    interval = wilson(numerator, denominator)
    return Cell(
        status,
        round(interval.value, 4),
        round(interval.low, 4),
        round(interval.high, 4),
    )


def _not_applicable(
    definition: KpiDefinition,
    rows_by: Dimension,
    columns_by: Dimension | None,
    row_labels: tuple[Label, ...],
    column_labels: tuple[Label, ...],
) -> ReportTable:
    na = Cell(CellStatus.NOT_APPLICABLE)
    return ReportTable(
        kpi=definition.id,
        kpi_version=definition.version,
        rows_by=rows_by,
        columns_by=columns_by,
        rows=row_labels,
        columns=column_labels,
        cells=tuple(tuple(na for _ in column_labels) for _ in row_labels),
        row_totals=tuple(na for _ in row_labels),
        column_totals=tuple(na for _ in column_labels),
        total=na,
    )


__all__ = ["COMPLAINT_COUNTERS", "ReportService", "median_from_histogram"]
