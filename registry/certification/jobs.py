"""Deadline jobs: expiry, renewal reminders and overdue audits (see registry/scheduling.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from registry.services import Services


async def expiry_job(services: Services) -> None:
    """Move certificates past `valid_until` to expired, one logged transition each."""
    await services.certification.expire_due()


async def renewal_reminder_job(services: Services) -> None:
    """Send renewal reminders at the scheme's thresholds (60/30/7 days); mark renewal_due."""
    await services.certification.remind_renewals()


async def audit_overdue_job(services: Services) -> None:
    """Suspend audited certificates whose next audit is overdue beyond the grace period."""
    await services.certification.suspend_overdue_audits()
