"""Webhook delivery job (see registry/scheduling.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from registry.services import Services


async def deliver_webhooks_job(services: Services) -> None:
    """Fan new outbox messages out to endpoints and attempt every due delivery."""
    await services.notifications.dispatch_outbox()
    await services.notifications.deliver_due()
