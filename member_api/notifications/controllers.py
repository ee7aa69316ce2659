"""/api/v1/vendors/{slug}/webhooks: endpoints and the delivery log;
/api/v1/mediation/notifications: the mediators' feed of the same outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from member_api.deps import CallerDep, ServicesDep
from member_api.pagination import PageNumber, PageSize, offset_of
from member_api.schemas import PageOut, page_out
from registry.accounts.access import opt, roles
from registry.kernel.caller import Role
from registry.notifications.models import OutboxMessage, WebhookEndpoint
from registry.notifications.services import DeliveryView

VENDOR = roles(Role.VENDOR_ADMIN)
EndpointId = Annotated[int, PathParameter(title="endpoint id", ge=1)]


class EndpointIn(msgspec.Struct, forbid_unknown_fields=True):
    """Where to post events (https://); verify them with the federation key."""

    url: str
    description: str | None = None


class EndpointOut(msgspec.Struct):
    """A registered webhook endpoint."""

    id: int
    url: str
    description: str | None
    created_at: datetime


class DeliveryOut(msgspec.Struct):
    """One event sent (or being retried) to one endpoint."""

    id: int
    endpoint_id: int
    url: str
    event: str
    message_id: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class DeliveryPage(msgspec.Struct):
    """A page of the delivery log."""

    items: list[DeliveryOut]
    page: PageOut


class NotificationOut(msgspec.Struct):
    """One event for the association's mediators: a reference, never personal data."""

    id: str
    type: str
    timestamp: datetime
    data: dict[str, Any]


class NotificationPage(msgspec.Struct):
    """A page of the mediators' notification feed, newest first."""

    items: list[NotificationOut]
    page: PageOut


def notification_out(message: OutboxMessage) -> NotificationOut:
    """Shape a mediator notification like a webhook body (`id` is `msg_<n>`)."""
    return NotificationOut(
        id=f"msg_{message.id}", type=message.event, timestamp=message.created_at, data=message.data
    )


def endpoint_out(endpoint: WebhookEndpoint) -> EndpointOut:
    """Shape an endpoint."""
    return EndpointOut(endpoint.id, endpoint.url, endpoint.description, endpoint.created_at)


def delivery_out(view: DeliveryView) -> DeliveryOut:
    """Shape a delivery; `message_id` matches the `webhook-id` header the endpoint got."""
    return DeliveryOut(
        id=view.id,
        endpoint_id=view.endpoint_id,
        url=view.url,
        event=view.event,
        message_id=f"msg_{view.message_id}",
        status=view.status,
        attempts=view.attempts,
        next_attempt_at=view.next_attempt_at,
        last_attempt_at=view.last_attempt_at,
        last_status_code=view.last_status_code,
        last_error=view.last_error,
        delivered_at=view.delivered_at,
        created_at=view.created_at,
    )


class WebhookController(Controller):
    """A vendor's webhook endpoints and what was delivered to them."""

    path = "/api/v1/vendors/{slug:str}/webhooks"
    tags = ["notifications"]

    @get("/", opt=opt(VENDOR))
    async def list_endpoints(
        self, services: ServicesDep, caller: CallerDep, slug: FromPath[str]
    ) -> list[EndpointOut]:
        """The vendor's live endpoints."""
        return [endpoint_out(e) for e in await services.notifications.endpoints(caller, slug)]

    @post("/", opt=opt(VENDOR), status_code=HTTP_201_CREATED)
    async def add_endpoint(
        self,
        services: ServicesDep,
        caller: CallerDep,
        slug: FromPath[str],
        data: JSONBody[EndpointIn],
    ) -> EndpointOut:
        """Register an https:// endpoint on a public address (at most 5 per vendor by
        default). Each event is posted as JSON with Standard Webhooks headers
        (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1a,<Ed25519>`) signed by
        the federation key, and retried with exponential back-off. The body names its
        recipient (`endpoint.id`, `endpoint.url`): on receipt, verify the signature with
        the key from /api/v1/federation/key, refuse a stale timestamp, and refuse a body
        whose `endpoint.url` is not your own URL, so no other vendor's delivery can be
        replayed to you (`registry.notifications.signing.verify_webhook` does all three).
        """
        return endpoint_out(
            await services.notifications.add_endpoint(caller, slug, data.url, data.description)
        )

    @delete("/{endpoint_id:int}", opt=opt(VENDOR), status_code=HTTP_204_NO_CONTENT)
    async def delete_endpoint(
        self, services: ServicesDep, caller: CallerDep, slug: FromPath[str], endpoint_id: EndpointId
    ) -> None:
        """Stop sending to this endpoint; its delivery log stays readable."""
        await services.notifications.delete_endpoint(caller, slug, endpoint_id)

    @get("/deliveries", opt=opt(VENDOR))
    async def deliveries(
        self,
        services: ServicesDep,
        caller: CallerDep,
        slug: FromPath[str],
        page: PageNumber = 1,
        page_size: PageSize = 20,
    ) -> DeliveryPage:
        """Every delivery with its attempts, last status and next retry, newest first."""
        rows, total = await services.notifications.deliveries(
            caller, slug, offset=offset_of(page, page_size), limit=page_size
        )
        return DeliveryPage(
            items=[delivery_out(d) for d in rows], page=page_out(page, page_size, total)
        )


class MediatorNotificationController(Controller):
    """Mediators have no webhook endpoints; they poll this feed (or act on the queue).

    The same transactional outbox as vendors' webhooks, addressed to the association:
    a complaint escalated by the consumer or by an SLA breach (`complaint.escalated`),
    and an unregistered subject's complaint awaiting triage (`complaint.awaiting_triage`).
    """

    path = "/api/v1/mediation/notifications"
    tags = ["complaints"]

    @get("/", opt=opt(roles(Role.MEDIATOR)))
    async def feed(
        self,
        services: ServicesDep,
        caller: CallerDep,
        page: PageNumber = 1,
        page_size: PageSize = 20,
        after: Annotated[
            str | None,
            QueryParameter(
                description="the last id seen (`msg_42`): only newer notifications", max_length=40
            ),
        ] = None,
    ) -> NotificationPage:
        """The caller's association's notifications, newest first."""
        result = await services.notifications.association_feed(
            caller, after=after, offset=offset_of(page, page_size), limit=page_size
        )
        return NotificationPage(
            items=[notification_out(m) for m in result.items],
            page=page_out(page, page_size, result.total),
        )
