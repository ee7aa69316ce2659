"""/api/v1/vendors/{slug}/certification, /attestations and /api/v1/associations/{a}/schemes."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_409_CONFLICT

from member_api.certification.schemas import (
    AttestationOut,
    AttestationPage,
    AuditSummaryOut,
    BatchIn,
    BatchOut,
    CertificationOut,
    ReasonIn,
    SchemeIn,
    SchemeOut,
    TransitionOut,
    attestation_out,
    audit_summary_out,
    batch_out,
    certification_out,
    scheme_out,
    transition_out,
)
from member_api.contract import problems
from member_api.deps import CallerDep, ServicesDep
from member_api.pagination import PageNumber, PageSize, offset_of
from member_api.schemas import page_out, strict_json_body
from registry.accounts.access import PUBLIC, opt, roles
from registry.certification.machine import Trigger
from registry.certification.verdict import verdict
from registry.errors import NotFound
from registry.kernel.caller import Role
from registry.settings import Settings

ADMINS = roles(Role.ASSOCIATION_ADMIN, Role.FEDERATION_ADMIN)


class CertificationController(Controller):
    """A vendor's certificate: public to read; suspended, reinstated or revoked by admins."""

    path = "/api/v1/vendors/{slug:str}/certification"
    tags = ["certification"]

    @get("/", opt=opt(PUBLIC))
    async def status(self, services: ServicesDep, slug: FromPath[str]) -> CertificationOut:
        """State, level, validity, scheme version and the log index of the latest change.

        `certified` is true only in states active and renewal_due with a validity that has
        not ended (fail closed; the badge and badge token say the same). `causes`
        lists every cause in force (an association's suspension, a blacklist listing, a
        failed audit, an unmet criterion, an overdue audit) with who may lift it.
        """
        status = await services.certification.public_status(slug)
        if status is None:
            raise NotFound(f"no member vendor with slug {slug!r}")
        return certification_out(status, verdict(status, services.ctx.clock.now()))

    @get("/history", opt=opt(PUBLIC))
    async def history(self, services: ServicesDep, slug: FromPath[str]) -> list[TransitionOut]:
        """Every transition with its cause and log index, oldest first."""
        return [transition_out(t) for t in await services.certification.history(slug)]

    @get("/audits", opt=opt(PUBLIC))
    async def audits(self, services: ServicesDep, slug: FromPath[str]) -> list[AuditSummaryOut]:
        """Accepted audits, newest first; gaps between audited periods are flagged."""
        return [audit_summary_out(a) for a in await services.certification.audit_summaries(slug)]

    @post(
        "/suspend", opt=opt(ADMINS), status_code=HTTP_200_OK, responses=problems(HTTP_409_CONFLICT)
    )
    async def suspend(
        self,
        services: ServicesDep,
        caller: CallerDep,
        slug: FromPath[str],
        data: JSONBody[ReasonIn],
    ) -> TransitionOut:
        """Suspend for the vendor's association, with a reason that is logged.

        The association's cause stays in force until its admins reinstate: fresh
        evidence does not lift it. On an applied or expired certificate it blocks the grant.
        """
        return transition_out(
            await services.certification.decide_by_admin(
                caller, slug, Trigger.SUSPEND, data.reason, data.reason_lang
            )
        )

    @post(
        "/reinstate",
        opt=opt(ADMINS),
        status_code=HTTP_200_OK,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def reinstate(
        self,
        services: ServicesDep,
        caller: CallerDep,
        slug: FromPath[str],
        data: JSONBody[ReasonIn],
    ) -> TransitionOut:
        """Lift the association's suspension; the evidence then decides again.

        The certificate stays suspended while another cause is in force (a failed audit,
        a listing), and is otherwise active at the level the evidence supports if still valid.
        """
        return transition_out(
            await services.certification.decide_by_admin(
                caller, slug, Trigger.REINSTATE, data.reason, data.reason_lang
            )
        )

    @post(
        "/revoke", opt=opt(ADMINS), status_code=HTTP_200_OK, responses=problems(HTTP_409_CONFLICT)
    )
    async def revoke(
        self,
        services: ServicesDep,
        caller: CallerDep,
        slug: FromPath[str],
        data: JSONBody[ReasonIn],
    ) -> TransitionOut:
        """Revoke the certificate for good, with a reason that is logged."""
        return transition_out(
            await services.certification.decide_by_admin(
                caller, slug, Trigger.REVOKE, data.reason, data.reason_lang
            )
        )


class AttestationController(Controller):
    """Self-regulation attestations: submitted by the vendor, one at a time or in batches."""

    path = "/api/v1/vendors/{slug:str}/attestations"
    tags = ["certification"]

    @post(
        "/",
        opt=opt(roles(Role.VENDOR_ADMIN)),
        status_code=HTTP_201_CREATED,
        responses=problems(HTTP_409_CONFLICT),
        before_request=strict_json_body,
    )
    async def submit(
        self,
        services: ServicesDep,
        caller: CallerDep,
        slug: FromPath[str],
        data: JSONBody[dict[str, Any]],
    ) -> Response[AttestationOut]:
        """Submit a self-regulation attestation.

        The body is a DSSE envelope around an in-toto statement with predicateType
        `https://trust-registry.dev/attestations/self-regulation/v1`, signed by an active key
        of the vendor. The same envelope again returns the stored attestation with 200.
        """
        # Parsed by the service, as each envelope of a batch is: one set of rules and
        # one answer for a malformed envelope on both routes.
        result = await services.attestations.submit(caller, slug, data)
        return Response(
            attestation_out(result.record, result.scheme),
            status_code=HTTP_201_CREATED if result.created else HTTP_200_OK,
        )

    @post(
        "/batch",
        opt=opt(roles(Role.VENDOR_ADMIN)),
        status_code=HTTP_200_OK,
        request_max_body_size=Settings.max_batch_body_bytes,
        before_request=strict_json_body,
    )
    async def submit_batch(
        self, services: ServicesDep, caller: CallerDep, slug: FromPath[str], data: JSONBody[BatchIn]
    ) -> BatchOut:
        """Submit up to 500 attestations in one request.

        Each envelope is accepted, a duplicate, or rejected with a problem object of its
        own, and the accepted ones commit together.
        """
        return batch_out(await services.attestations.submit_batch(caller, slug, data.envelopes))

    @get("/", opt=opt(roles(Role.VENDOR_ADMIN, Role.ASSOCIATION_ADMIN, Role.FEDERATION_ADMIN)))
    async def list_attestations(
        self,
        services: ServicesDep,
        caller: CallerDep,
        slug: FromPath[str],
        page: PageNumber = 1,
        page_size: PageSize = 20,
    ) -> AttestationPage:
        """The vendor's attestations, newest period first."""
        rows, total = await services.attestations.list_for_vendor(
            caller, slug, offset=offset_of(page, page_size), limit=page_size
        )
        return AttestationPage(
            items=[attestation_out(r, label) for r, label in rows],
            page=page_out(page, page_size, total),
        )


class SchemeController(Controller):
    """An association's certification schemes: public to read, published by its admins."""

    path = "/api/v1/associations/{association:str}/schemes"
    tags = ["certification"]

    @get("/", opt=opt(PUBLIC))
    async def list_schemes(
        self, services: ServicesDep, association: FromPath[str]
    ) -> list[SchemeOut]:
        """Every published version, newest first; the default scheme is version 1."""
        return [scheme_out(s) for s in await services.schemes.list_versions(association)]

    @post("/", opt=opt(ADMINS), status_code=HTTP_201_CREATED)
    async def publish(
        self,
        services: ServicesDep,
        caller: CallerDep,
        association: FromPath[str],
        data: JSONBody[SchemeIn],
    ) -> SchemeOut:
        """Publish the next version of a scheme; existing certificates keep theirs."""
        return scheme_out(
            await services.schemes.publish(
                caller,
                association,
                slug=data.slug,
                title=(data.title_zh, data.title_en),
                document=data.document,
            )
        )
