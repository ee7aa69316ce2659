"""The thread's bookkeeping and forwarding a complaint to the vendor it is about.

Kept apart from `services` because the composition root's reactions to membership
events call it too: when an applicant vendor is admitted (`VendorAdmitted`) or a member
proves a domain (`VendorDomainVerified`), complaints already filed against its credit
code or that domain are attached to it and forwarded in the same transaction (so a
complaint is never left waiting for a vendor that is already a member). This module
imports no other service module.

Every step is a thread entry with its time and actor; attachment and SLA breaches are
also registry decisions, so each is a transparency-log leaf. Notifications carry only a
reference (tracking code, status or reason), never the contact.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from registry.complaints.events import ComplaintForwarded, publish_complaint_fact
from registry.complaints.models import (
    ActorKind,
    Complaint,
    ComplaintEvent,
    ComplaintSlaPolicy,
    ComplaintStatus,
    EventKind,
    SlaClock,
    SubjectKind,
)
from registry.federation.models import Association
from registry.membership.models import Vendor, VendorDomain
from registry.notifications.services import enqueue_association_event, enqueue_event
from registry.settings import Settings
from registry.transparency.entries import EntryType
from registry.transparency.services import LogAppender, PendingLeaf


def record_event(
    session: AsyncSession,
    complaint: Complaint,
    now: datetime,
    kind: EventKind,
    actor: ActorKind,
    *,
    principal_id: int | None = None,
    from_status: ComplaintStatus | None = None,
    to_status: ComplaintStatus | None = None,
    body: str | None = None,
) -> None:
    """Add a thread entry (through the relationship, so a new complaint and its first
    entries go in one flush)."""
    event = ComplaintEvent(
        complaint=complaint,
        created_at=now,
        kind=kind,
        actor=actor,
        actor_principal_id=principal_id,
        from_status=from_status,
        to_status=to_status,
        body=body,
    )
    session.add(event)


def transition(
    session: AsyncSession,
    complaint: Complaint,
    to: ComplaintStatus,
    now: datetime,
    actor: ActorKind,
    *,
    principal_id: int | None = None,
    body: str | None = None,
) -> None:
    """Move the complaint and record who moved it, when."""
    previous = complaint.status
    complaint.status = to
    record_event(
        session,
        complaint,
        now,
        EventKind.TRANSITION,
        actor,
        principal_id=principal_id,
        from_status=previous,
        to_status=to,
        body=body,
    )


async def notify_vendor(
    session: AsyncSession, complaint: Complaint, event: str, now: datetime
) -> None:
    """Queue the vendor's webhook: a reference only (tracking code, status), no contact."""
    if complaint.vendor_id is None:
        return
    await enqueue_event(
        session,
        vendor_id=complaint.vendor_id,
        event=event,
        data={"tracking_code": complaint.tracking_code, "status": complaint.status.value},
        now=now,
    )


async def notify_mediators(
    session: AsyncSession,
    *,
    association_id: int | None,
    tracking_code: str,
    event: str,
    reason: str,
    now: datetime,
) -> None:
    """Queue a notification for the mediators of one association, or of every association
    when the complaint has none yet (an unregistered subject awaiting triage)."""
    if association_id is not None:
        targets = [association_id]
    else:
        targets = list((await session.execute(select(Association.id))).scalars())
    for target in targets:
        await enqueue_association_event(
            session,
            association_id=target,
            event=event,
            data={"tracking_code": tracking_code, "reason": reason},
            now=now,
        )


def clocks(settings: Settings, row: ComplaintSlaPolicy | None) -> tuple[timedelta, timedelta]:
    """The association's clocks, or the settings' defaults when it set none."""
    if row is None:
        return settings.complaint_first_response, settings.complaint_resolution
    return timedelta(seconds=row.first_response_seconds), timedelta(seconds=row.resolution_seconds)


async def policy_row(session: AsyncSession, association_id: int) -> ComplaintSlaPolicy | None:
    """The association's own clocks, if it set any."""
    return (
        await session.execute(
            select(ComplaintSlaPolicy).where(ComplaintSlaPolicy.association_id == association_id)
        )
    ).scalar_one_or_none()


async def forward(
    session: AsyncSession,
    settings: Settings,
    complaint: Complaint,
    now: datetime,
    policy: ComplaintSlaPolicy | None,
    *,
    actor: ActorKind = ActorKind.SYSTEM,
    principal_id: int | None = None,
    matched_by: str | None = None,
) -> None:
    """Start the clocks and tell the vendor (webhook via the outbox, and the inbox API)."""
    first_response, resolution = clocks(settings, policy)
    complaint.forwarded_at = now
    complaint.first_response_due_at = now + first_response
    complaint.resolution_due_at = now + resolution
    complaint.sla_due_at = complaint.first_response_due_at
    complaint.sla_clock = SlaClock.FIRST_RESPONSE
    transition(session, complaint, ComplaintStatus.FORWARDED, now, actor, principal_id=principal_id)
    publish_complaint_fact(session, ComplaintForwarded, complaint, now, matched_by=matched_by)
    await notify_vendor(session, complaint, "complaint.forwarded", now)


def awaiting_triage() -> ColumnElement[bool]:
    """The condition of an unregistered subject's complaint nobody has attached yet."""
    return and_(Complaint.vendor_id.is_(None), Complaint.status == ComplaintStatus.SUBMITTED)


async def attach(
    session: AsyncSession,
    settings: Settings,
    complaint: Complaint,
    vendor: Vendor,
    now: datetime,
    *,
    log: LogAppender,
    actor: ActorKind,
    principal_id: int | None,
    matched_by: str,
) -> None:
    """Attach an unregistered subject's complaint to `vendor` and forward it; the clocks
    start now, not at filing (the vendor could not have answered before)."""
    complaint.vendor_id = vendor.id
    complaint.vendor = vendor
    complaint.association_id = vendor.association_id
    record_event(
        session,
        complaint,
        now,
        EventKind.VENDOR_ATTACHED,
        actor,
        principal_id=principal_id,
        body=f"{vendor.slug} ({matched_by})",
    )
    await log.append(
        PendingLeaf(
            EntryType.COMPLAINT_ATTACHED,
            {
                "tracking_code": complaint.tracking_code,
                "subject_kind": complaint.subject_kind.value,
                "matched_by": matched_by,
                "actor": actor.value,
                "category": complaint.category.value,
            },
            vendor_id=vendor.id,
            vendor_slug=vendor.slug,
        )
    )
    await forward(
        session,
        settings,
        complaint,
        now,
        await policy_row(session, vendor.association_id),
        actor=actor,
        principal_id=principal_id,
        matched_by=matched_by,
    )


def _about_domain(domain: str) -> ColumnElement[bool]:
    return (Complaint.subject_kind == SubjectKind.DOMAIN) & or_(
        Complaint.subject_value == domain,
        Complaint.subject_value.endswith(f".{domain}", autoescape=True),
    )


async def attach_waiting_complaints(
    session: AsyncSession, settings: Settings, vendor: Vendor, now: datetime
) -> int:
    """Attach every complaint awaiting triage whose subject is the newly active vendor's
    credit code or one of its verified domains (or a subdomain of one); returns how many.

    A domain the vendor only claims attaches nothing: the complaints carry consumers'
    contacts, which go to the vendor only once it has proven it controls the domain.
    """
    domains = list(
        (
            await session.execute(
                select(VendorDomain.domain).where(
                    VendorDomain.vendor_id == vendor.id, VendorDomain.verified_at.is_not(None)
                )
            )
        ).scalars()
    )
    matches: list[ColumnElement[bool]] = [
        (Complaint.subject_kind == SubjectKind.CREDIT_CODE)
        & (Complaint.subject_value == vendor.credit_code)
    ]
    matches.extend(_about_domain(domain) for domain in domains)
    return await _attach_matching(session, settings, vendor, now, matches)


async def attach_domain_complaints(
    session: AsyncSession, settings: Settings, vendor: Vendor, domain: str, now: datetime
) -> int:
    """Attach the complaints awaiting triage about `domain` (or a subdomain of it), once
    the member vendor has proven control of it; returns how many."""
    return await _attach_matching(session, settings, vendor, now, [_about_domain(domain)])


async def _attach_matching(
    session: AsyncSession,
    settings: Settings,
    vendor: Vendor,
    now: datetime,
    matches: list[ColumnElement[bool]],
) -> int:
    waiting = list(
        (
            await session.execute(
                select(Complaint)
                .where(awaiting_triage(), or_(*matches))
                .options(selectinload(Complaint.events), selectinload(Complaint.vendor))
                .order_by(Complaint.id)
                .with_for_update()
            )
        ).scalars()
    )
    log = LogAppender(session, now)
    for complaint in waiting:
        matched_by = (
            "credit_code" if complaint.subject_kind is SubjectKind.CREDIT_CODE else "domain"
        )
        await attach(
            session,
            settings,
            complaint,
            vendor,
            now,
            log=log,
            actor=ActorKind.SYSTEM,
            principal_id=None,
            matched_by=matched_by,
        )
    return len(waiting)
