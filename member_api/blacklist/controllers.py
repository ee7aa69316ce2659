"""/api/v1/blacklist: rulebooks and terms (public to read, set by the association's
admins), cases for those concerned, and the subject's answer."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_409_CONFLICT

from member_api.blacklist.schemas import (
    CaseOut,
    CasePage,
    RelayIn,
    RulebookIn,
    RulebookOut,
    TermsIn,
    TermsOut,
    case_out,
    case_page,
    rulebook_out,
    terms_out,
)
from member_api.contract import problems
from member_api.deps import CallerDep, ServicesDep
from member_api.pagination import PageNumber, PageSize, offset_of
from member_api.schemas import EnvelopeIn, strict_json_body
from registry.accounts.access import PUBLIC, opt, roles
from registry.blacklist.states import CaseState
from registry.errors import InvalidInput
from registry.kernel.caller import Role
from registry.kernel.clock import as_utc

ADMINS = roles(Role.ASSOCIATION_ADMIN, Role.FEDERATION_ADMIN)
CASE_READERS = roles(
    Role.VENDOR_ADMIN,
    Role.ASSOCIATION_ADMIN,
    Role.COMMITTEE_MEMBER,
    Role.MEDIATOR,
    Role.FEDERATION_ADMIN,
)
ASSOCIATION_CASE_READERS = roles(
    Role.ASSOCIATION_ADMIN, Role.COMMITTEE_MEMBER, Role.MEDIATOR, Role.FEDERATION_ADMIN
)


class BlacklistRulebookController(Controller):
    """An association's blacklist rulebooks and terms: published for everyone to read."""

    path = "/api/v1/blacklist/associations/{association:str}"
    tags = ["blacklist"]

    @get("/terms", opt=opt(PUBLIC))
    async def terms(self, services: ServicesDep, association: FromPath[str]) -> TermsOut:
        """The association's blacklist procedure: notice, windows, quorum and majority."""
        return terms_out(await services.blacklist_rules.terms(association))

    @put("/terms", opt=opt(ADMINS), status_code=HTTP_200_OK)
    async def set_terms(
        self,
        services: ServicesDep,
        caller: CallerDep,
        association: FromPath[str],
        data: JSONBody[TermsIn],
    ) -> TermsOut:
        """Change some of the terms, logged; cases already open keep theirs."""
        return terms_out(
            await services.blacklist_rules.set_terms(caller, association, data.changes())
        )

    @get("/rulebooks", opt=opt(PUBLIC))
    async def rulebooks(
        self, services: ServicesDep, association: FromPath[str]
    ) -> list[RulebookOut]:
        """Every published rulebook version, newest first, with its rules."""
        return [rulebook_out(v) for v in await services.blacklist_rules.rulebooks(association)]

    @get("/rulebooks/{version:int}", opt=opt(PUBLIC))
    async def rulebook(
        self, services: ServicesDep, association: FromPath[str], version: FromPath[int]
    ) -> RulebookOut:
        """One published rulebook version."""
        return rulebook_out(await services.blacklist_rules.rulebook(association, version))

    @post("/rulebooks", opt=opt(ADMINS), status_code=HTTP_201_CREATED)
    async def publish(
        self,
        services: ServicesDep,
        caller: CallerDep,
        association: FromPath[str],
        data: JSONBody[RulebookIn],
    ) -> RulebookOut:
        """Publish a new rulebook version, effective no sooner than the notice period."""
        if data.effective_from.tzinfo is None:
            raise InvalidInput(
                "effective_from must carry a time zone, e.g. 2027-01-31T00:00:00+08:00",
                fields={"effective_from": "no time zone"},
            )
        view = await services.blacklist_rules.publish(
            caller,
            association,
            [msgspec.structs.asdict(rule) for rule in data.rules],
            as_utc(data.effective_from),
        )
        return rulebook_out(view)

    @get("/cases", opt=opt(ASSOCIATION_CASE_READERS))
    async def cases(
        self,
        services: ServicesDep,
        caller: CallerDep,
        association: FromPath[str],
        *,
        case_state: Annotated[
            CaseState | None, QueryParameter(name="state", description="only cases in this state")
        ] = None,
        page: PageNumber = 1,
        page_size: PageSize = 20,
    ) -> CasePage:
        """The cases the association governs, newest first, optionally in one state."""
        result = await services.blacklist_notice.association_cases(
            caller, association, case_state, offset_of(page, page_size), page_size
        )
        return case_page(result, page, page_size)


class BlacklistVendorCaseController(Controller):
    """A vendor's blacklist inbox."""

    path = "/api/v1/blacklist/vendors/{slug:str}/cases"
    tags = ["blacklist"]

    @get("/", opt=opt(roles(Role.VENDOR_ADMIN, Role.ASSOCIATION_ADMIN, Role.FEDERATION_ADMIN)))
    async def inbox(
        self,
        services: ServicesDep,
        caller: CallerDep,
        slug: FromPath[str],
        page: PageNumber = 1,
        page_size: PageSize = 20,
    ) -> CasePage:
        """Cases opened against the vendor, newest first: its blacklist notices."""
        result = await services.blacklist_notice.vendor_cases(
            caller, slug, offset_of(page, page_size), page_size
        )
        return case_page(result, page, page_size)


class BlacklistCaseController(Controller):
    """One case, for those concerned; the subject's answer."""

    path = "/api/v1/blacklist/cases/{reference:str}"
    tags = ["blacklist"]

    @get("/", opt=opt(CASE_READERS))
    async def case(
        self, services: ServicesDep, caller: CallerDep, reference: FromPath[str]
    ) -> CaseOut:
        """The case with its evidence, windows and timeline.

        For the subject vendor and the governing association's admins, committee and
        mediators (anyone else: 404)."""
        return case_out(await services.blacklist_notice.case(caller, reference))

    @post(
        "/answer",
        opt=opt(roles(Role.VENDOR_ADMIN)),
        status_code=HTTP_200_OK,
        responses=problems(HTTP_409_CONFLICT),
        before_request=strict_json_body,
    )
    async def answer(
        self,
        services: ServicesDep,
        caller: CallerDep,
        reference: FromPath[str],
        data: JSONBody[EnvelopeIn],
    ) -> CaseOut:
        """Answer the case with a statement signed by one of the vendor's keys."""
        view = await services.blacklist_notice.answer(caller, reference, data.to_envelope())
        return case_out(view)

    @post(
        "/relayed-answer",
        opt=opt(roles(Role.MEDIATOR)),
        status_code=HTTP_200_OK,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def relay(
        self,
        services: ServicesDep,
        caller: CallerDep,
        reference: FromPath[str],
        data: JSONBody[RelayIn],
    ) -> CaseOut:
        """Relay a non-member subject's answer as a mediator of the governing association."""
        view = await services.blacklist_notice.relay_answer(
            caller, reference, data.statement, data.remedies, data.evidence_digests
        )
        return case_out(view)
