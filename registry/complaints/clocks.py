"""The complaint clocks: each association's first-response and resolution deadlines, and
the scheduler's scan that escalates every complaint whose running clock has expired."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from registry.complaints.actor_service import ComplaintActorService
from registry.complaints.events import ComplaintEscalated, ComplaintSlaBreached
from registry.complaints.forwarding import notify_mediators, policy_row
from registry.complaints.models import (
    ActorKind,
    Complaint,
    ComplaintEvent,
    ComplaintSlaPolicy,
    ComplaintStatus,
    EventKind,
    SlaClock,
)
from registry.errors import InvalidInput, PermissionDenied
from registry.events import publish
from registry.federation.lookups import association_by_slug
from registry.kernel.caller import Caller
from registry.kernel.clock import isoformat
from registry.membership.models import Vendor
from registry.notifications.services import enqueue_event
from registry.transparency.entries import EntryType
from registry.transparency.services import LogAppender, PendingLeaf


@dataclass(frozen=True)
class SlaPolicy:
    """An association's complaint clocks."""

    association: str
    first_response: timedelta
    resolution: timedelta
    custom: bool


@dataclass(frozen=True)
class SlaScanResult:
    """What one SLA scan escalated."""

    escalated: int
    first_response_breaches: int
    resolution_breaches: int


class ComplaintClockService(ComplaintActorService):
    """The associations' SLA policies and the breach scan (a scheduler job)."""

    # --- association SLA policy -------------------------------------------------------------

    async def policy(self, association_slug: str) -> SlaPolicy:
        """The association's clocks (the settings' defaults when it set none)."""
        async with self.ctx.db.read() as session:
            association = await association_by_slug(session, association_slug)
            row = await policy_row(session, association.id)
        if row is None:
            return SlaPolicy(
                association_slug,
                self.ctx.settings.complaint_first_response,
                self.ctx.settings.complaint_resolution,
                custom=False,
            )
        return SlaPolicy(
            association_slug,
            timedelta(seconds=row.first_response_seconds),
            timedelta(seconds=row.resolution_seconds),
            custom=True,
        )

    async def set_policy(
        self,
        caller: Caller,
        association_slug: str,
        *,
        first_response: timedelta,
        resolution: timedelta,
    ) -> SlaPolicy:
        """Set the association's clocks for complaints forwarded from now on."""
        if first_response <= timedelta(0) or resolution < first_response:
            raise InvalidInput(
                "first_response must be positive and resolution at least as long",
                fields={"resolution_hours": "must be at least first_response_hours"},
            )
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            association = await association_by_slug(session, association_slug)
            if not caller.administers_association(association.id):
                raise PermissionDenied("only this association's admins may set its clocks")
            row = await policy_row(session, association.id)
            if row is None:
                row = ComplaintSlaPolicy(
                    association_id=association.id,
                    created_at=now,
                    first_response_seconds=0,
                    resolution_seconds=0,
                    updated_at=now,
                )
                session.add(row)
            row.first_response_seconds = int(first_response.total_seconds())
            row.resolution_seconds = int(resolution.total_seconds())
            row.updated_at = now
        return SlaPolicy(association_slug, first_response, resolution, custom=True)

    # --- the SLA scan (scheduler job) ------------------------------------------------------

    async def escalate_breaches(self) -> SlaScanResult:
        """Escalate every complaint whose running clock has expired, recording the breach.

        Reads only the `sla_due_at` index, in batches; each batch is one transaction with
        its thread entries, log leaves and webhooks. Idempotent: an escalated complaint has
        no running clock, so a re-run finds nothing. After downtime it catches up, and the
        breach is dated at the deadline that was missed, not at the late scan.
        """
        now = self.ctx.clock.now()
        batch = self.ctx.settings.complaint_sla_scan_batch
        counts = {SlaClock.FIRST_RESPONSE: 0, SlaClock.RESOLUTION: 0}
        while True:
            async with self.ctx.db.transaction() as session:
                due = (
                    await session.execute(
                        select(
                            Complaint.id,
                            Complaint.tracking_code,
                            Complaint.status,
                            Complaint.sla_clock,
                            Complaint.sla_due_at,
                            Complaint.vendor_id,
                            Complaint.association_id,
                            Complaint.category,
                            Vendor.slug,
                        )
                        .join(Vendor, Vendor.id == Complaint.vendor_id)
                        .where(Complaint.sla_due_at <= now)
                        .order_by(Complaint.sla_due_at)
                        .limit(batch)
                    )
                ).all()
                if not due:
                    break
                await self._escalate_batch(session, due, now, counts)
            if len(due) < batch:
                break
        total = sum(counts.values())
        return SlaScanResult(total, counts[SlaClock.FIRST_RESPONSE], counts[SlaClock.RESOLUTION])

    async def _escalate_batch(
        self,
        session: AsyncSession,
        due: Sequence[Any],
        now: datetime,
        counts: dict[SlaClock, int],
    ) -> None:
        """Escalate one batch: one bulk update, one bulk insert of thread entries, the log
        leaves, then each complaint's events and notifications."""
        breaches = [(row, row.sla_clock or SlaClock.FIRST_RESPONSE) for row in due]
        for _row, clock in breaches:
            counts[clock] += 1
        # ORM bulk UPDATE by primary key: one executemany for the whole batch.
        await session.execute(update(Complaint), [_escalated(r, c, now) for r, c in breaches])
        await session.execute(
            insert(ComplaintEvent), [_breach_entry(r, c, now) for r, c in breaches]
        )
        await LogAppender(session, now).append_many([_breach_leaf(r, c) for r, c in breaches])
        for row, clock in breaches:
            await _announce_breach(session, row, clock, now)


def _escalated(row: Any, clock: SlaClock, now: datetime) -> dict[str, Any]:
    """The complaint's new columns: escalated, the breach dated at the missed deadline,
    no clock running any more."""
    return {
        "id": row.id,
        "status": ComplaintStatus.ESCALATED,
        "escalated_at": now,
        "breached_clock": clock,
        "breached_at": row.sla_due_at,
        "sla_due_at": None,
        "sla_clock": None,
    }


def _breach_entry(row: Any, clock: SlaClock, now: datetime) -> dict[str, Any]:
    """The thread entry: the registry moved the complaint to `escalated`, saying why."""
    return {
        "complaint_id": row.id,
        "created_at": now,
        "kind": EventKind.TRANSITION,
        "actor": ActorKind.SYSTEM,
        "from_status": row.status,
        "to_status": ComplaintStatus.ESCALATED,
        "body": f"{clock.value} due {isoformat(row.sla_due_at)} was missed",
    }


def _breach_leaf(row: Any, clock: SlaClock) -> PendingLeaf:
    """The transparency-log leaf of the breach (no contact, no text of the complaint)."""
    return PendingLeaf(
        EntryType.COMPLAINT_SLA_BREACH,
        {
            "tracking_code": row.tracking_code,
            "clock": clock.value,
            "due_at": isoformat(row.sla_due_at),
            "category": row.category.value,
        },
        vendor_id=row.vendor_id,
        vendor_slug=row.slug,
    )


async def _announce_breach(session: AsyncSession, row: Any, clock: SlaClock, now: datetime) -> None:
    """Publish the breach and the escalation, and tell the vendor and the mediators."""
    facts = {
        "complaint_id": row.id,
        "tracking_code": row.tracking_code,
        "vendor_id": row.vendor_id,
        "association_id": row.association_id,
    }
    publish(session, ComplaintSlaBreached(**facts, at=row.sla_due_at, clock=clock))
    publish(session, ComplaintEscalated(**facts, at=now, reason="sla_breach"))
    await enqueue_event(
        session,
        vendor_id=row.vendor_id,
        event="complaint.escalated",
        data={"tracking_code": row.tracking_code, "reason": "sla_breach"},
        now=now,
    )
    await notify_mediators(
        session,
        association_id=row.association_id,
        tracking_code=row.tracking_code,
        event="complaint.escalated",
        reason="sla_breach",
        now=now,
    )
