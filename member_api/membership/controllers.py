"""/api/v1/applications and /api/v1/vendors."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_201_CREATED,
    HTTP_409_CONFLICT,
    HTTP_429_TOO_MANY_REQUESTS,
)

from member_api.contract import problems
from member_api.deps import CallerDep, ServicesDep
from member_api.membership.schemas import (
    ApplicationDecisionIn,
    ApplicationOut,
    ApplicationPage,
    VendorOut,
    VendorPage,
    application_out,
    vendor_out,
)
from member_api.pagination import PageNumber, PageSize, offset_of
from member_api.schemas import EnvelopeIn, page_out, strict_json_body
from registry.accounts.access import PUBLIC, opt, roles
from registry.client_address import UNKNOWN_CLIENT
from registry.kernel.caller import Role
from registry.membership.models import ApplicationStatus

ADMINS = roles(Role.ASSOCIATION_ADMIN, Role.FEDERATION_ADMIN)
ApplicationId = Annotated[int, PathParameter(title="application id", ge=1)]


class ApplicationController(Controller):
    """Vendors apply with a signed statement; association admins decide."""

    path = "/api/v1/applications"
    tags = ["applications"]

    @post(
        "/",
        opt=opt(PUBLIC),
        status_code=HTTP_201_CREATED,
        responses=problems(HTTP_409_CONFLICT, HTTP_429_TOO_MANY_REQUESTS),
        before_request=strict_json_body,
    )
    async def submit(
        self, services: ServicesDep, request: Request[Any, Any, Any], data: JSONBody[EnvelopeIn]
    ) -> Response[ApplicationOut]:
        """Apply to join an association.

        The body is a DSSE envelope around an in-toto statement with predicateType
        `https://trust-registry.dev/attestations/vendor-application/v1`, signed by the key
        the predicate registers (proof of possession). Sending the same envelope again
        returns the original application with 200. Applications are limited per client
        address and per credit code (429).
        """
        client = request.client.host if request.client else UNKNOWN_CLIENT
        result = await services.membership.submit_application(data.to_envelope(), client=client)
        status = HTTP_201_CREATED if result.created else HTTP_200_OK
        return Response(application_out(result.application), status_code=status)

    @get("/", opt=opt(ADMINS))
    async def list_applications(
        self,
        services: ServicesDep,
        caller: CallerDep,
        page: PageNumber = 1,
        page_size: PageSize = 20,
        status: FromQuery[ApplicationStatus | None] = None,
    ) -> ApplicationPage:
        """Applications to the caller's association (all of them for the federation admin)."""
        result = await services.membership.list_applications(
            caller, status, offset_of(page, page_size), page_size
        )
        return ApplicationPage(
            items=[application_out(r.application, r) for r in result.items],
            page=page_out(page, page_size, result.total),
        )

    @get("/{application_id:int}", opt=opt(ADMINS))
    async def get_application(
        self, services: ServicesDep, caller: CallerDep, application_id: ApplicationId
    ) -> ApplicationOut:
        """One application."""
        review = await services.membership.get_application(caller, application_id)
        return application_out(review.application, review)

    @post(
        "/{application_id:int}/approve",
        opt=opt(ADMINS),
        status_code=HTTP_200_OK,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def approve(
        self,
        services: ServicesDep,
        caller: CallerDep,
        application_id: ApplicationId,
        data: JSONBody[ApplicationDecisionIn],
    ) -> ApplicationOut:
        """Admit the vendor; its key becomes active and the decision is logged."""
        return application_out(
            await services.membership.approve(caller, application_id, data.reason)
        )

    @post(
        "/{application_id:int}/reject",
        opt=opt(ADMINS),
        status_code=HTTP_200_OK,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def reject(
        self,
        services: ServicesDep,
        caller: CallerDep,
        application_id: ApplicationId,
        data: JSONBody[ApplicationDecisionIn],
    ) -> ApplicationOut:
        """Refuse the application; `reason` is required and logged."""
        return application_out(
            await services.membership.reject(caller, application_id, data.reason)
        )


class VendorDirectoryController(Controller):
    """The public, paginated directory of member vendors."""

    path = "/api/v1/vendors"
    tags = ["vendors"]

    @get("/", opt=opt(PUBLIC))
    async def list_vendors(
        self,
        services: ServicesDep,
        page: PageNumber = 1,
        page_size: PageSize = 20,
        q: Annotated[
            str | None,
            QueryParameter(max_length=200, description="name (zh or en), credit code or domain"),
        ] = None,
    ) -> VendorPage:
        """Search member vendors."""
        result = await services.membership.directory(q, offset_of(page, page_size), page_size)
        return VendorPage(
            items=[vendor_out(v) for v in result.items],
            page=page_out(page, page_size, result.total),
        )

    @get("/{slug:str}", opt=opt(PUBLIC))
    async def get_vendor(self, services: ServicesDep, slug: FromPath[str]) -> VendorOut:
        """One member vendor."""
        return vendor_out(await services.membership.vendor(slug))
