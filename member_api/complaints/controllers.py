"""/api/v1/complaints (consumers), /api/v1/inbox/complaints (vendors),
/api/v1/mediation/complaints (mediators), public figures and association clocks."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_201_CREATED,
    HTTP_409_CONFLICT,
    HTTP_429_TOO_MANY_REQUESTS,
)

from member_api.complaints.errors import BILINGUAL_HANDLERS, SECRET_HEADER, request_language
from member_api.complaints.schemas import (
    ComplaintFiledOut,
    ComplaintIn,
    ComplaintOut,
    ComplaintPage,
    ContactOut,
    FiguresOut,
    LinkIn,
    MediationDecisionIn,
    MediatorComplaintOut,
    MessageIn,
    NoteIn,
    ProposalIn,
    RatingIn,
    RejectIn,
    SlaPolicyIn,
    SlaPolicyOut,
    complaint_out,
    contact_out,
    figures_out,
    mediator_complaint_out,
    sla_policy_out,
    summary_out,
)
from member_api.contract import problems
from member_api.deps import CallerDep, ServicesDep
from member_api.pagination import PageNumber, PageSize, offset_of
from member_api.schemas import page_out
from registry.accounts.access import PUBLIC, opt, roles
from registry.complaints.consumers import FiledComplaint
from registry.complaints.messages import FILED
from registry.complaints.models import ComplaintStatus
from registry.kernel.caller import Role
from registry.pagination import Page

ComplaintSecret = Annotated[
    str,
    HeaderParameter(
        name=SECRET_HEADER,
        description="the secret shown once when the complaint was filed",
        max_length=200,
    ),
]
VENDOR = roles(Role.VENDOR_ADMIN)
MEDIATOR = roles(Role.MEDIATOR)


def client_ip(request: Request[Any, Any, Any]) -> str:
    """The client's address, for the per-IP rate limit (only a keyed hash is stored).

    Resolved once per request by `registry.client_address` (trusted proxies only).
    """
    return request.client.host if request.client else "unknown"


def filed_out(filed: FiledComplaint, language: str) -> ComplaintFiledOut:
    """Shape a filing's answer in the consumer's language."""
    return ComplaintFiledOut(
        tracking_code=filed.tracking_code,
        secret=filed.secret,
        status=filed.status.value,
        first_response_due_at=filed.first_response_due_at,
        message=FILED.in_language(language),
    )


def page_of(result: Page[Any], page: int, page_size: int) -> ComplaintPage:
    """Shape a page of complaints."""
    return ComplaintPage(
        items=[summary_out(c) for c in result.items],
        page=page_out(page, page_size, result.total),
    )


class ConsumerComplaintController(Controller):
    """Consumers file and follow complaints without an account.

    Every route is PUBLIC at the guard; the routes about one complaint check its tracking
    code and the `X-Complaint-Secret` header in the service. Errors come in the
    consumer's language (`?lang=zh|en` or Accept-Language; Chinese by default).
    """

    path = "/api/v1/complaints"
    tags = ["complaints"]
    exception_handlers = BILINGUAL_HANDLERS

    @post(
        "/",
        opt=opt(PUBLIC),
        status_code=HTTP_201_CREATED,
        responses=problems(HTTP_429_TOO_MANY_REQUESTS),
    )
    async def file(
        self, services: ServicesDep, request: Request[Any, Any, Any], data: JSONBody[ComplaintIn]
    ) -> Response[ComplaintFiledOut]:
        """File a complaint; the answer holds the tracking code and the secret (shown once).

        A repeat of an open complaint by the same contact is answered exactly like a fresh
        filing (its own code and secret); only mediators see the link between the two.
        """
        language = request_language(request)
        filed = await services.complaints.consumers.file(
            data.submission(language), client_ip=client_ip(request)
        )
        return Response(
            filed_out(filed, language),
            status_code=HTTP_201_CREATED,
            headers={"Cache-Control": "no-store"},
        )

    @get("/{tracking_code:str}", opt=opt(PUBLIC))
    async def view(
        self, services: ServicesDep, tracking_code: FromPath[str], secret: ComplaintSecret
    ) -> ComplaintOut:
        """The complaint and its thread (PUBLIC at the guard; the secret is checked here)."""
        return complaint_out(await services.complaints.consumers.view(tracking_code, secret))

    @post(
        "/{tracking_code:str}/messages",
        opt=opt(PUBLIC),
        status_code=HTTP_201_CREATED,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def message(
        self,
        services: ServicesDep,
        tracking_code: FromPath[str],
        secret: ComplaintSecret,
        data: JSONBody[MessageIn],
    ) -> ComplaintOut:
        """Write to the vendor on the thread (PUBLIC at the guard; secret checked)."""
        return complaint_out(
            await services.complaints.consumers.message(tracking_code, secret, data.body)
        )

    @post(
        "/{tracking_code:str}/accept",
        opt=opt(PUBLIC),
        status_code=HTTP_200_OK,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def accept(
        self, services: ServicesDep, tracking_code: FromPath[str], secret: ComplaintSecret
    ) -> ComplaintOut:
        """Accept the vendor's proposal: resolved (PUBLIC at the guard; secret checked)."""
        return complaint_out(await services.complaints.consumers.accept(tracking_code, secret))

    @post(
        "/{tracking_code:str}/reject",
        opt=opt(PUBLIC),
        status_code=HTTP_200_OK,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def reject(
        self,
        services: ServicesDep,
        tracking_code: FromPath[str],
        secret: ComplaintSecret,
        data: JSONBody[RejectIn],
    ) -> ComplaintOut:
        """Turn the proposal down: escalated to mediation (PUBLIC; secret checked)."""
        return complaint_out(
            await services.complaints.consumers.reject(tracking_code, secret, data.reason)
        )

    @post(
        "/{tracking_code:str}/rating",
        opt=opt(PUBLIC),
        status_code=HTTP_200_OK,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def rate(
        self,
        services: ServicesDep,
        tracking_code: FromPath[str],
        secret: ComplaintSecret,
        data: JSONBody[RatingIn],
    ) -> ComplaintOut:
        """Rate the handling 1-5, once, after closure (PUBLIC at the guard; secret checked)."""
        return complaint_out(
            await services.complaints.consumers.rate(
                tracking_code, secret, data.score, data.comment
            )
        )

    @post(
        "/{tracking_code:str}/erase-contact",
        opt=opt(PUBLIC),
        status_code=HTTP_200_OK,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def erase_contact(
        self, services: ServicesDep, tracking_code: FromPath[str], secret: ComplaintSecret
    ) -> ComplaintOut:
        """Destroy the sealed contact after closure (PUBLIC at the guard; secret checked)."""
        return complaint_out(
            await services.complaints.consumers.erase_contact(tracking_code, secret)
        )


class VendorComplaintController(Controller):
    """The vendor's complaint inbox: only its own complaints."""

    path = "/api/v1/inbox/complaints"
    tags = ["complaints"]

    @get("/", opt=opt(VENDOR))
    async def inbox(
        self,
        services: ServicesDep,
        caller: CallerDep,
        page: PageNumber = 1,
        page_size: PageSize = 20,
        status: FromQuery[ComplaintStatus | None] = None,
    ) -> ComplaintPage:
        """Complaints against the caller's vendor, newest first."""
        result = await services.complaints.vendors.inbox(
            caller, status, offset_of(page, page_size), page_size
        )
        return page_of(result, page, page_size)

    @get("/{tracking_code:str}", opt=opt(VENDOR))
    async def view(
        self, services: ServicesDep, caller: CallerDep, tracking_code: FromPath[str]
    ) -> ComplaintOut:
        """One complaint and its thread (no contact; see /contact)."""
        return complaint_out(await services.complaints.vendors.view(caller, tracking_code))

    @post(
        "/{tracking_code:str}/acknowledge",
        opt=opt(VENDOR),
        status_code=HTTP_200_OK,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def acknowledge(
        self,
        services: ServicesDep,
        caller: CallerDep,
        tracking_code: FromPath[str],
        data: JSONBody[MessageIn],
    ) -> ComplaintOut:
        """First response: stops the first-response clock and starts the resolution clock."""
        return complaint_out(
            await services.complaints.vendors.acknowledge(caller, tracking_code, data.body)
        )

    @post(
        "/{tracking_code:str}/messages",
        opt=opt(VENDOR),
        status_code=HTTP_201_CREATED,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def message(
        self,
        services: ServicesDep,
        caller: CallerDep,
        tracking_code: FromPath[str],
        data: JSONBody[MessageIn],
    ) -> ComplaintOut:
        """Write to the consumer; a first message also acknowledges."""
        return complaint_out(
            await services.complaints.vendors.message(caller, tracking_code, data.body)
        )

    @post(
        "/{tracking_code:str}/proposal",
        opt=opt(VENDOR),
        status_code=HTTP_200_OK,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def propose(
        self,
        services: ServicesDep,
        caller: CallerDep,
        tracking_code: FromPath[str],
        data: JSONBody[ProposalIn],
    ) -> ComplaintOut:
        """Propose a resolution for the consumer to accept or reject."""
        return complaint_out(
            await services.complaints.vendors.propose_resolution(
                caller, tracking_code, data.proposal, concede=data.concede
            )
        )

    @get("/{tracking_code:str}/contact", opt=opt(VENDOR))
    async def contact(
        self, services: ServicesDep, caller: CallerDep, tracking_code: FromPath[str]
    ) -> Response[ContactOut]:
        """The consumer's contact, only if they consented; the opening is recorded."""
        contact = await services.complaints.vendors.reveal_contact(caller, tracking_code)
        return Response(contact_out(contact), headers={"Cache-Control": "no-store"})


class MediationController(Controller):
    """Mediators: their association's escalated complaints, and unregistered subjects'
    complaints awaiting triage (every association's mediators see those)."""

    path = "/api/v1/mediation/complaints"
    tags = ["complaints"]

    @get("/", opt=opt(MEDIATOR))
    async def queue(
        self,
        services: ServicesDep,
        caller: CallerDep,
        page: PageNumber = 1,
        page_size: PageSize = 20,
        status: FromQuery[ComplaintStatus | None] = None,
    ) -> ComplaintPage:
        """The mediation queue: the association's escalated complaints and those awaiting triage.

        Escalated, mediated and closed-after-mediation complaints of the association, and
        complaints awaiting triage (`status=submitted` lists only those)."""
        result = await services.complaints.mediators.queue(
            caller, status, offset_of(page, page_size), page_size
        )
        return page_of(result, page, page_size)

    @get("/{tracking_code:str}", opt=opt(MEDIATOR))
    async def view(
        self, services: ServicesDep, caller: CallerDep, tracking_code: FromPath[str]
    ) -> MediatorComplaintOut:
        """One complaint in mediation, its thread and its duplicate links.

        Escalated, awaiting triage, or a repeat filing awaiting a join."""
        return mediator_complaint_out(
            await services.complaints.mediators.view(caller, tracking_code)
        )

    @post("/{tracking_code:str}/join", opt=opt(MEDIATOR), status_code=HTTP_200_OK)
    async def join(
        self,
        services: ServicesDep,
        caller: CallerDep,
        tracking_code: FromPath[str],
        data: JSONBody[NoteIn],
    ) -> ComplaintOut:
        """Join a repeat filing into the earlier complaint it repeats.

        Its text goes onto the earlier thread (`duplicate_of`) and this one is closed."""
        return complaint_out(
            await services.complaints.mediators.join_duplicate(caller, tracking_code, data.note)
        )

    @post(
        "/{tracking_code:str}/messages",
        opt=opt(MEDIATOR),
        status_code=HTTP_201_CREATED,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def message(
        self,
        services: ServicesDep,
        caller: CallerDep,
        tracking_code: FromPath[str],
        data: JSONBody[MessageIn],
    ) -> ComplaintOut:
        """Write on the thread."""
        return complaint_out(
            await services.complaints.mediators.message(caller, tracking_code, data.body)
        )

    @post(
        "/{tracking_code:str}/decision",
        opt=opt(MEDIATOR),
        status_code=HTTP_200_OK,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def decide(
        self,
        services: ServicesDep,
        caller: CallerDep,
        tracking_code: FromPath[str],
        data: JSONBody[MediationDecisionIn],
    ) -> ComplaintOut:
        """Upheld or not upheld, with the reasons; logged in the transparency log."""
        return complaint_out(
            await services.complaints.mediators.decide(
                caller, tracking_code, data.outcome, data.note
            )
        )

    @post(
        "/{tracking_code:str}/close",
        opt=opt(MEDIATOR),
        status_code=HTTP_200_OK,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def close(
        self,
        services: ServicesDep,
        caller: CallerDep,
        tracking_code: FromPath[str],
        data: JSONBody[NoteIn],
    ) -> ComplaintOut:
        """Close a mediated complaint."""
        return complaint_out(
            await services.complaints.mediators.close(caller, tracking_code, data.note)
        )

    @post(
        "/{tracking_code:str}/vendor",
        opt=opt(roles(Role.MEDIATOR, Role.ASSOCIATION_ADMIN, Role.FEDERATION_ADMIN)),
        status_code=HTTP_200_OK,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def link_vendor(
        self,
        services: ServicesDep,
        caller: CallerDep,
        tracking_code: FromPath[str],
        data: JSONBody[LinkIn],
    ) -> ComplaintOut:
        """Attach a complaint awaiting triage to a member vendor and forward it.

        The vendor gets it by webhook and in its inbox, and its clocks start now. Logged in
        the transparency log."""
        return complaint_out(
            await services.complaints.mediators.link_vendor(caller, tracking_code, data.vendor)
        )

    @post(
        "/{tracking_code:str}/take-up",
        opt=opt(MEDIATOR),
        status_code=HTTP_200_OK,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def take_up(
        self,
        services: ServicesDep,
        caller: CallerDep,
        tracking_code: FromPath[str],
        data: JSONBody[NoteIn],
    ) -> ComplaintOut:
        """Take an unregistered subject's complaint into your association's mediation.

        Once the first response a member would have owed has passed since filing, the
        complaint is escalated to the caller's association, which then decides it like any
        escalation (`…/decision`, `…/close`)."""
        return complaint_out(
            await services.complaints.mediators.take_up(caller, tracking_code, data.note)
        )

    @get("/{tracking_code:str}/contact", opt=opt(MEDIATOR))
    async def contact(
        self, services: ServicesDep, caller: CallerDep, tracking_code: FromPath[str]
    ) -> Response[ContactOut]:
        """The consumer's contact, to reach them during mediation; the opening is recorded."""
        contact = await services.complaints.mediators.reveal_contact(caller, tracking_code)
        return Response(contact_out(contact), headers={"Cache-Control": "no-store"})


class ComplaintFiguresController(Controller):
    """Aggregates anyone may read; small counts are suppressed."""

    path = "/api/v1"
    tags = ["complaints"]

    @get("/vendors/{slug:str}/complaint-figures", opt=opt(PUBLIC))
    async def figures(self, services: ServicesDep, slug: FromPath[str]) -> FiguresOut:
        """The vendor's complaint figures over the last 12 months."""
        return figures_out(await services.complaints.figures.for_vendor(slug))

    @get("/associations/{slug:str}/complaint-sla", opt=opt(PUBLIC))
    async def sla(self, services: ServicesDep, slug: FromPath[str]) -> SlaPolicyOut:
        """The association's complaint clocks (first response, resolution)."""
        return sla_policy_out(await services.complaints.clocks.policy(slug))

    @put(
        "/associations/{slug:str}/complaint-sla",
        opt=opt(roles(Role.ASSOCIATION_ADMIN, Role.FEDERATION_ADMIN)),
        status_code=HTTP_200_OK,
    )
    async def set_sla(
        self,
        services: ServicesDep,
        caller: CallerDep,
        slug: FromPath[str],
        data: JSONBody[SlaPolicyIn],
    ) -> SlaPolicyOut:
        """Set the association's clocks for complaints forwarded from now on."""
        policy = await services.complaints.clocks.set_policy(
            caller,
            slug,
            first_response=timedelta(hours=data.first_response_hours),
            resolution=timedelta(hours=data.resolution_hours),
        )
        return sla_policy_out(policy)
