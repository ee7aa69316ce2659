"""/api/v1/auditors and /api/v1/audits."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import JSONBody
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_201_CREATED,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
)

from member_api.contract import problems
from member_api.deps import CallerDep, ServicesDep
from member_api.pagination import PageNumber, PageSize, offset_of
from member_api.schemas import EnvelopeIn, PageOut, page_out, strict_json_body
from registry.accounts.access import PUBLIC, opt, roles
from registry.certification.audit_models import Auditor, AuditRecord
from registry.certification.audits import Accreditation
from registry.errors import InvalidInput
from registry.kernel.caller import Role
from registry.kernel.clock import parse_iso


class AuditorOut(msgspec.Struct):
    """An accredited auditor organisation."""

    slug: str
    name_zh: str
    name_en: str
    scope: list[str]
    accredited_from: datetime
    accredited_until: datetime
    withdrawn_at: datetime | None
    log_index: int | None


class AccreditationIn(msgspec.Struct, forbid_unknown_fields=True):
    """Accreditation of an auditor organisation: its keys (base64 Ed25519), scope, validity."""

    slug: str
    name_zh: str
    name_en: str
    public_keys: list[str]
    scope: list[str]
    accredited_from: str
    accredited_until: str


class AuditOut(msgspec.Struct):
    """An accepted audit result."""

    id: int
    vendor: str
    key_id: str
    period_start: datetime
    period_end: datetime
    result: str
    outcomes: dict[str, str]
    report_sha256: str
    next_audit_due: datetime | None
    gap_before: bool
    received_at: datetime
    log_index: int
    envelope_digest: str


class AuditPage(msgspec.Struct):
    """A page of audits."""

    items: list[AuditOut]
    page: PageOut


def auditor_out(auditor: Auditor) -> AuditorOut:
    """Shape an auditor."""
    return AuditorOut(
        slug=auditor.slug,
        name_zh=auditor.name_zh,
        name_en=auditor.name_en,
        scope=list(auditor.scope),
        accredited_from=auditor.accredited_from,
        accredited_until=auditor.accredited_until,
        withdrawn_at=auditor.withdrawn_at,
        log_index=auditor.log_index,
    )


def audit_out(audit: AuditRecord, vendor: str) -> AuditOut:
    """Shape an audit."""
    return AuditOut(
        id=audit.id,
        vendor=vendor,
        key_id=audit.key_id,
        period_start=audit.period_start,
        period_end=audit.period_end,
        result=audit.result.value,
        outcomes=dict(audit.outcomes),
        report_sha256=audit.report_sha256,
        next_audit_due=audit.next_audit_due,
        gap_before=audit.gap_before,
        received_at=audit.received_at,
        log_index=audit.log_index,
        envelope_digest=audit.envelope_digest,
    )


def _time(value: str, field: str) -> datetime:
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise InvalidInput(
            f"{field} must be an ISO 8601 time with a zone", fields={field: "invalid"}
        ) from exc


class AuditorController(Controller):
    """Accredited auditors: public list, accredited by the federation."""

    path = "/api/v1/auditors"
    tags = ["audits"]

    @get("/", opt=opt(PUBLIC))
    async def list_auditors(self, services: ServicesDep) -> list[AuditorOut]:
        """Every accredited auditor organisation, with scope and validity."""
        return [auditor_out(a) for a in await services.audits.auditors()]

    @post(
        "/",
        opt=opt(roles(Role.FEDERATION_ADMIN)),
        status_code=HTTP_201_CREATED,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def accredit(
        self, services: ServicesDep, caller: CallerDep, data: JSONBody[AccreditationIn]
    ) -> AuditorOut:
        """Accredit an auditor organisation; its keys can then log in and sign audits."""
        grant = Accreditation(
            slug=data.slug,
            name_zh=data.name_zh,
            name_en=data.name_en,
            public_keys=data.public_keys,
            scope=data.scope,
            accredited_from=_time(data.accredited_from, "accredited_from"),
            accredited_until=_time(data.accredited_until, "accredited_until"),
        )
        return auditor_out(await services.audits.accredit(caller, grant))


class AuditController(Controller):
    """Signed audit results, submitted by accredited auditors."""

    path = "/api/v1/audits"
    tags = ["audits"]

    @post(
        "/",
        opt=opt(roles(Role.AUDITOR)),
        status_code=HTTP_201_CREATED,
        responses=problems(HTTP_404_NOT_FOUND, HTTP_409_CONFLICT),
        before_request=strict_json_body,
    )
    async def submit(
        self, services: ServicesDep, caller: CallerDep, data: JSONBody[EnvelopeIn]
    ) -> Response[AuditOut]:
        """Submit a signed audit result.

        The body is a DSSE envelope around an in-toto statement with predicateType
        `https://trust-registry.dev/attestations/audit-result/v1`, signed by a key of the
        calling auditor. The same envelope again returns the stored audit with 200.
        """
        result = await services.audits.submit(caller, data.to_envelope())
        return Response(
            audit_out(result.record, result.vendor),
            status_code=HTTP_201_CREATED if result.created else HTTP_200_OK,
        )

    @get("/", opt=opt(roles(Role.AUDITOR)))
    async def list_audits(
        self,
        services: ServicesDep,
        caller: CallerDep,
        page: PageNumber = 1,
        page_size: PageSize = 20,
    ) -> AuditPage:
        """The calling auditor's audits, newest first."""
        rows, total = await services.audits.list_own(
            caller, offset=offset_of(page, page_size), limit=page_size
        )
        return AuditPage(
            items=[audit_out(a, vendor) for a, vendor in rows],
            page=page_out(page, page_size, total),
        )
