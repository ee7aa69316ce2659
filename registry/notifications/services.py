"""The outbox and webhook delivery.

`enqueue_event` adds a row in the caller's open transaction, so an event exists exactly
when the change it reports was committed (transactional outbox). The delivery job fans
new messages out to the vendor's endpoints, then posts each due delivery signed with the
federation key (Standard Webhooks, see `signing`), retrying with exponential back-off.
HTTP calls happen outside any transaction, so a slow endpoint never holds a database
lock; only one scheduler runs jobs, so a delivery is never posted twice at once.

Every URL is a vendor's choice, so registration and every attempt go through
`registry.outbound` (public addresses only, checked against what the name resolves to at
that moment). Endpoints are posted to concurrently, each endpoint's deliveries one after
another with a per-attempt timeout, so an endpoint that never answers delays only itself.
The delivery log says "delivery failed" whatever went wrong before an answer, so the log
cannot be used to tell open, closed and TLS ports apart; the server log keeps the detail.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from attestations.canonical import canonicalize
from registry.context import RegistryContext
from registry.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from registry.kernel.caller import Caller, Role
from registry.kernel.clock import isoformat
from registry.kernel.members import VENDOR, VendorRef, is_member, vendor_by_slug
from registry.notifications.models import (
    DeliveryStatus,
    OutboxMessage,
    WebhookDelivery,
    WebhookEndpoint,
)
from registry.notifications.signing import webhook_headers
from registry.outbound import (
    OutboundRefused,
    Unresolvable,
    outbound_client,
    parse_target,
    resolve_public,
    send,
)
from registry.pagination import Page

MAX_URL_LENGTH = 500
MESSAGE_ID_PREFIX = "msg_"
"""Outbox messages are named `msg_<n>` everywhere they leave the registry: webhook ids,
delivery logs and the mediators' feed."""


def message_number(reference: str) -> int:
    """The outbox sequence number in `msg_<n>` (or a bare `<n>`), as a poller passes back
    the last id it saw; anything else is refused naming the expected shape."""
    text = reference.strip()
    digits = text.removeprefix(MESSAGE_ID_PREFIX)
    if not digits.isascii() or not digits.isdigit() or len(digits) > 18:
        raise InvalidInput(
            f"after must be a notification id such as msg_42 (the id the feed prints), "
            f"not {reference!r}",
            fields={"after": "not a notification id"},
        )
    return int(digits)


DELIVERY_FAILED = "delivery failed"
"""The one error the delivery log shows for an attempt that got no answer."""
logger = logging.getLogger("registry.webhooks")


async def enqueue_event(
    session: AsyncSession, *, vendor_id: int, event: str, data: dict[str, Any], now: datetime
) -> None:
    """Queue `event` for the vendor's webhooks inside the caller's transaction."""
    session.add(OutboxMessage(vendor_id=vendor_id, event=event, data=data, created_at=now))


async def enqueue_association_event(
    session: AsyncSession,
    *,
    association_id: int,
    event: str,
    data: dict[str, Any],
    now: datetime,
) -> None:
    """Queue `event` for the association's mediators inside the caller's transaction.

    Mediators are principals without webhook endpoints: they read these messages in
    their notification feed. Like vendor events, `data` is a reference (tracking code,
    reason), never personal data.
    """
    session.add(
        OutboxMessage(association_id=association_id, event=event, data=data, created_at=now)
    )


@dataclass(frozen=True)
class DeliveryView:
    """One delivery as the vendor sees it in its log."""

    id: int
    endpoint_id: int
    url: str
    event: str
    message_id: int
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


def message_body(message: OutboxMessage, vendor_slug: str, endpoint: WebhookEndpoint) -> bytes:
    """The JSON a webhook carries (RFC 8785, so the signed bytes are reproducible).

    It names its recipient endpoint, so the signature covers who it was for: a receiver
    that checks `endpoint.url` against its own URL cannot be fed a delivery that was
    signed for another vendor's endpoint.
    """
    return canonicalize(
        {
            "id": f"msg_{message.id}",
            "type": message.event,
            "vendor": vendor_slug,
            "endpoint": {"id": endpoint.id, "url": endpoint.url},
            "timestamp": isoformat(message.created_at),
            "data": message.data,
        }
    )


@dataclass(frozen=True)
class _Due:
    """One delivery to attempt, with what its signed body is made of."""

    delivery_id: int
    endpoint: WebhookEndpoint
    message: OutboxMessage
    vendor_slug: str


class NotificationService:
    """Webhook endpoints, fan-out of the outbox and signed delivery with back-off."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    async def _check_url(self, url: str) -> str:
        """A public https:// URL, refused with the reason if it points anywhere else.

        A name is resolved now as well: one that already points inside a private network
        is refused at once. One that does not resolve yet is accepted (the vendor may set
        up DNS later); every delivery checks again.
        """
        url = url.strip()
        if len(url) > MAX_URL_LENGTH:
            raise InvalidInput(
                f"the URL is {len(url)} characters, at most {MAX_URL_LENGTH} allowed",
                fields={"url": "too long"},
            )
        settings = self.ctx.settings
        try:
            target = parse_target(url, settings, allow_http_loopback=True)
            async with asyncio.timeout(settings.webhook_timeout_seconds):
                await resolve_public(target, settings)
        except (Unresolvable, TimeoutError):
            pass
        except OutboundRefused as exc:
            raise InvalidInput(
                f"{exc.reason}: webhooks go only to public https:// addresses",
                fields={"url": "not a public https URL"},
            ) from exc
        return url

    async def add_endpoint(
        self, caller: Caller, slug: str, url: str, description: str | None
    ) -> WebhookEndpoint:
        """Register an endpoint for the caller's own vendor, up to the per-vendor limit."""
        url = await self._check_url(url)
        now = self.ctx.clock.now()
        limit = self.ctx.settings.webhook_endpoints_per_vendor
        async with self.ctx.db.transaction() as session:
            vendor = await _own_vendor(session, caller, slug)
            # Lock the vendor row so two concurrent additions cannot both pass the count.
            await session.execute(
                select(VENDOR.c.id).where(VENDOR.c.id == vendor.id).with_for_update()
            )
            live = await session.scalar(
                select(func.count())
                .select_from(WebhookEndpoint)
                .where(WebhookEndpoint.vendor_id == vendor.id, WebhookEndpoint.deleted_at.is_(None))
            )
            if (live or 0) >= limit:
                raise Conflict(
                    f"the vendor already has {limit} webhook endpoints, the most allowed; "
                    "delete one before adding another",
                    fields={"url": "endpoint limit reached"},
                )
            endpoint = WebhookEndpoint(
                vendor_id=vendor.id,
                url=url,
                description=(description or "").strip()[:200] or None,
                created_at=now,
            )
            session.add(endpoint)
            await session.flush()
            return endpoint

    async def endpoints(self, caller: Caller, slug: str) -> list[WebhookEndpoint]:
        """The vendor's live endpoints."""
        async with self.ctx.db.read() as session:
            vendor = await _own_vendor(session, caller, slug)
            rows = await session.execute(
                select(WebhookEndpoint)
                .where(WebhookEndpoint.vendor_id == vendor.id, WebhookEndpoint.deleted_at.is_(None))
                .order_by(WebhookEndpoint.id)
            )
            return list(rows.scalars())

    async def delete_endpoint(self, caller: Caller, slug: str, endpoint_id: int) -> None:
        """Stop sending to an endpoint; pending deliveries to it are abandoned, the log stays."""
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            vendor = await _own_vendor(session, caller, slug)
            endpoint = await session.get(WebhookEndpoint, endpoint_id)
            if endpoint is None or endpoint.vendor_id != vendor.id or endpoint.deleted_at:
                raise NotFound(f"the vendor has no endpoint {endpoint_id}")
            endpoint.deleted_at = now
            pending = await session.execute(
                select(WebhookDelivery).where(
                    WebhookDelivery.endpoint_id == endpoint.id,
                    WebhookDelivery.status == DeliveryStatus.PENDING,
                )
            )
            for delivery in pending.scalars():
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
                delivery.last_error = "endpoint deleted"

    async def deliveries(
        self, caller: Caller, slug: str, *, offset: int, limit: int
    ) -> tuple[list[DeliveryView], int]:
        """The vendor's delivery log, newest first."""
        async with self.ctx.db.read() as session:
            vendor = await _own_vendor(session, caller, slug)
            scope = (
                select(WebhookDelivery, WebhookEndpoint.url, OutboxMessage.event)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .join(OutboxMessage, OutboxMessage.id == WebhookDelivery.message_id)
                .where(WebhookEndpoint.vendor_id == vendor.id)
            )
            total = await session.scalar(select(func.count()).select_from(scope.subquery()))
            rows = await session.execute(
                scope.order_by(WebhookDelivery.id.desc()).offset(offset).limit(limit)
            )
            return [
                DeliveryView(
                    id=d.id,
                    endpoint_id=d.endpoint_id,
                    url=url,
                    event=event,
                    message_id=d.message_id,
                    status=d.status.value,
                    attempts=d.attempts,
                    next_attempt_at=d.next_attempt_at,
                    last_attempt_at=d.last_attempt_at,
                    last_status_code=d.last_status_code,
                    last_error=d.last_error,
                    delivered_at=d.delivered_at,
                    created_at=d.created_at,
                )
                for d, url, event in rows.all()
            ], total or 0

    async def association_feed(
        self, caller: Caller, *, after: str | None, offset: int, limit: int
    ) -> Page[OutboxMessage]:
        """The caller's association's mediator notifications, newest first.

        `after` lets a poller ask only for messages newer than the last id it saw, given
        as the feed printed it (`msg_<n>`).
        """
        if caller.role is not Role.MEDIATOR or caller.association_id is None:
            raise PermissionDenied("only an association's mediators have a notification feed")
        conditions = [OutboxMessage.association_id == caller.association_id]
        if after is not None:
            conditions.append(OutboxMessage.id > message_number(after))
        async with self.ctx.db.read() as session:
            total = await session.scalar(
                select(func.count()).select_from(OutboxMessage).where(*conditions)
            )
            rows = await session.execute(
                select(OutboxMessage)
                .where(*conditions)
                .order_by(OutboxMessage.id.desc())
                .offset(offset)
                .limit(limit)
            )
            return Page(list(rows.scalars()), total or 0, offset, limit)

    async def dispatch_outbox(self) -> int:
        """Create a delivery per live endpoint for each undispatched message; returns messages."""
        now = self.ctx.clock.now()
        handled = 0
        while True:
            async with self.ctx.db.transaction() as session:
                messages = list(
                    (
                        await session.execute(
                            select(OutboxMessage)
                            .where(OutboxMessage.dispatched_at.is_(None))
                            .order_by(OutboxMessage.id)
                            .limit(self.ctx.settings.webhook_batch)
                        )
                    ).scalars()
                )
                if not messages:
                    return handled
                # Association messages have no endpoints: they are only marked dispatched.
                vendor_ids = {m.vendor_id for m in messages if m.vendor_id is not None}
                endpoints = (
                    await session.execute(
                        select(WebhookEndpoint.id, WebhookEndpoint.vendor_id).where(
                            WebhookEndpoint.vendor_id.in_(vendor_ids),
                            WebhookEndpoint.deleted_at.is_(None),
                        )
                    )
                ).all()
                for message in messages:
                    for endpoint_id, vendor_id in endpoints:
                        if vendor_id == message.vendor_id:
                            session.add(
                                WebhookDelivery(
                                    message_id=message.id,
                                    endpoint_id=endpoint_id,
                                    status=DeliveryStatus.PENDING,
                                    attempts=0,
                                    next_attempt_at=now,
                                    created_at=now,
                                )
                            )
                    message.dispatched_at = now
                handled += len(messages)

    async def deliver_due(self) -> int:
        """Post every due delivery once; returns how many were attempted.

        At most `webhook_endpoint_batch` deliveries per endpoint are picked, endpoints are
        served concurrently (up to `webhook_concurrency` at once), and an endpoint that
        fails to answer gets no further attempt in this run: its other deliveries stay
        due, and the endpoints of other vendors are not kept waiting behind it.
        """
        now = self.ctx.clock.now()
        settings = self.ctx.settings
        ranked = (
            select(
                WebhookDelivery.id,
                func.row_number()
                .over(
                    partition_by=WebhookDelivery.endpoint_id,
                    order_by=(WebhookDelivery.next_attempt_at, WebhookDelivery.id),
                )
                .label("rank"),
            )
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= now,
            )
            .subquery()
        )
        async with self.ctx.db.read() as session:
            rows = (
                await session.execute(
                    select(WebhookDelivery.id, WebhookEndpoint, OutboxMessage, VENDOR.c.slug)
                    .join(ranked, ranked.c.id == WebhookDelivery.id)
                    .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                    .join(OutboxMessage, OutboxMessage.id == WebhookDelivery.message_id)
                    .join(VENDOR, VENDOR.c.id == OutboxMessage.vendor_id)
                    .where(ranked.c.rank <= settings.webhook_endpoint_batch)
                    .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                    .limit(settings.webhook_batch)
                )
            ).all()
        if not rows:
            return 0
        by_endpoint: dict[int, list[_Due]] = defaultdict(list)
        for delivery_id, endpoint, message, slug in rows:
            by_endpoint[endpoint.id].append(_Due(delivery_id, endpoint, message, slug))
        gate = asyncio.Semaphore(settings.webhook_concurrency)

        async def serve(due: list[_Due]) -> list[tuple[int, int | None, str | None]]:
            async with gate:
                return await self._deliver_to_endpoint(due, now)

        results = await asyncio.gather(*(serve(due) for due in by_endpoint.values()))
        outcomes = [outcome for result in results for outcome in result]
        await self._record(outcomes, now)
        return len(outcomes)

    async def _deliver_to_endpoint(
        self, due: list[_Due], now: datetime
    ) -> list[tuple[int, int | None, str | None]]:
        """Post one endpoint's deliveries in order, stopping at the first that gets no
        answer; each attempt (lookup, connect, send, read) is bounded by the timeout."""
        settings = self.ctx.settings
        outcomes: list[tuple[int, int | None, str | None]] = []
        async with outbound_client(settings, settings.webhook_timeout_seconds) as client:
            for item in due:
                body = message_body(item.message, item.vendor_slug, item.endpoint)
                headers = webhook_headers(
                    self.ctx.federation_key, f"msg_{item.message.id}", now, body
                )
                try:
                    async with asyncio.timeout(settings.webhook_timeout_seconds):
                        target = parse_target(item.endpoint.url, settings, allow_http_loopback=True)
                        response, _ = await send(
                            client, "POST", target, settings, content=body, headers=headers
                        )
                except (OutboundRefused, httpx.HTTPError, TimeoutError) as exc:
                    # The URL may carry the vendor's own secret: log the endpoint id only.
                    detail = exc.reason if isinstance(exc, OutboundRefused) else repr(exc)
                    logger.info(
                        "webhook delivery %s to endpoint %s failed: %s",
                        item.delivery_id,
                        item.endpoint.id,
                        detail,
                    )
                    outcomes.append((item.delivery_id, None, DELIVERY_FAILED))
                    break
                error = None if response.is_success else DELIVERY_FAILED
                outcomes.append((item.delivery_id, response.status_code, error))
        return outcomes

    async def _record(
        self, outcomes: list[tuple[int, int | None, str | None]], now: datetime
    ) -> None:
        """Store each attempt: delivered, or the next try after base * 2^(attempts-1)."""
        settings = self.ctx.settings
        async with self.ctx.db.transaction() as session:
            for delivery_id, status_code, error in outcomes:
                delivery = await session.get(WebhookDelivery, delivery_id)
                if delivery is None or delivery.status is not DeliveryStatus.PENDING:
                    continue
                delivery.attempts += 1
                delivery.last_attempt_at = now
                delivery.last_status_code = status_code
                delivery.last_error = error
                if error is None:
                    delivery.status = DeliveryStatus.DELIVERED
                    delivery.delivered_at = now
                    delivery.next_attempt_at = None
                elif delivery.attempts >= settings.webhook_max_attempts:
                    delivery.status = DeliveryStatus.FAILED
                    delivery.next_attempt_at = None
                else:
                    delivery.next_attempt_at = now + settings.webhook_backoff_base * 2 ** (
                        delivery.attempts - 1
                    )


async def _own_vendor(session: AsyncSession, caller: Caller, slug: str) -> VendorRef:
    """The member vendor `slug`, if the caller is its admin; others learn nothing."""
    vendor = await vendor_by_slug(session, slug)
    if vendor is None or not is_member(vendor.status) or not caller.speaks_for_vendor(vendor.id):
        raise NotFound(f"no vendor {slug!r} that you administer")
    return vendor
