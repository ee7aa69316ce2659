"""The mediators' side: their association's escalations, triage of unregistered subjects
(linking one to the member it is about, or taking it up for mediation when no member
answers for it), joining duplicates, the finding (logged) and closing. Association and
federation admins may also link a complaint awaiting triage to a vendor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from registry.complaints.access import (
    MEDIATION_STATES,
    awaiting_join,
    complaint_query,
    mediator_complaint,
    normalise_tracking_code,
    open_states,
    require_state,
)
from registry.complaints.actor_service import ComplaintActorService
from registry.complaints.events import (
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintMediated,
    ComplaintSubstantiated,
    SubstantiationBasis,
    publish_complaint_fact,
)
from registry.complaints.forwarding import (
    attach,
    awaiting_triage,
    clocks,
    notify_mediators,
    notify_vendor,
    policy_row,
    record_event,
    transition,
)
from registry.complaints.models import (
    ActorKind,
    Complaint,
    ComplaintStatus,
    EventKind,
    MediationOutcome,
)
from registry.complaints.pii import Contact
from registry.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from registry.kernel.caller import Caller, Role
from registry.kernel.clock import isoformat
from registry.kernel.members import VendorStatus
from registry.membership.models import Vendor
from registry.pagination import Page
from registry.transparency.entries import EntryType
from registry.transparency.services import LogAppender, PendingLeaf

UNREGISTERED_SUBJECT = "unregistered_subject"
"""Why a mediator took up a complaint: its subject is no member, nobody else answers it."""


@dataclass(frozen=True)
class MediatorComplaint:
    """A complaint as a mediator sees it: with its duplicate links, which nobody else sees."""

    complaint: Complaint
    duplicate_of: str | None
    """The tracking code of the earlier complaint this one repeats, until joined."""
    duplicates: list[str]
    """Tracking codes of later filings that repeat this one and are not joined yet."""


class MediationService(ComplaintActorService):
    """What a mediator does with escalated complaints, triage and duplicates."""

    async def queue(
        self, caller: Caller, status: ComplaintStatus | None, offset: int, limit: int
    ) -> Page[Complaint]:
        """The caller's association's escalated (and mediated, closed) complaints, and the
        unregistered subjects' complaints awaiting triage (`submitted`, no vendor yet),
        which every association's mediators see until one is attached to a vendor."""
        if caller.association_id is None:
            raise PermissionDenied("a mediator token must name its association")
        escalated = and_(
            Complaint.association_id == caller.association_id,
            Complaint.status.in_(
                [status] if status in MEDIATION_STATES else list(MEDIATION_STATES)
            ),
            Complaint.escalated_at.is_not(None),
        )
        if status is ComplaintStatus.SUBMITTED:
            conditions: list[Any] = [awaiting_triage()]
        elif status is not None and status not in MEDIATION_STATES:
            return Page([], 0, offset, limit)
        elif status is not None:
            conditions = [escalated]
        else:
            conditions = [or_(escalated, awaiting_triage(), awaiting_join(caller))]
        return await self.page(conditions, offset, limit)

    async def link_vendor(self, caller: Caller, tracking_code: str, vendor_slug: str) -> Complaint:
        """Attach an unregistered subject's complaint to the member vendor it is about and
        forward it; its clocks start now. Mediators and association admins link to vendors
        of their own association, the federation admin to any."""
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await _complaint_to_link(session, caller, tracking_code)
            vendor = await _vendor_to_link(session, caller, vendor_slug)
            actor = ActorKind.MEDIATOR if caller.role is Role.MEDIATOR else ActorKind.ADMIN
            await attach(
                session,
                self.ctx.settings,
                complaint,
                vendor,
                now,
                log=LogAppender(session, now),
                actor=actor,
                principal_id=caller.principal_id,
                matched_by=f"linked by {caller.role.value}",
            )
            return complaint

    async def take_up(self, caller: Caller, tracking_code: str, note: str) -> Complaint:
        """Take an unregistered subject's complaint into the caller's association's
        mediation: nobody answers for a subject that is no member, so once the first
        response a member would have owed (the association's clock, counted from filing)
        has passed, a mediator escalates it to its own association and decides it like
        any escalation (`decide`, `close`). The association is recorded on the complaint;
        other associations' mediators no longer see it."""
        text = self.message_text(note, field="note", required=False)
        now = self.ctx.clock.now()
        if caller.role is not Role.MEDIATOR or caller.association_id is None:
            raise PermissionDenied("only a mediator of an association takes up a complaint")
        async with self.ctx.db.transaction() as session:
            complaint = await _complaint_to_link(session, caller, tracking_code)
            first_response, _resolution = clocks(
                self.ctx.settings, await policy_row(session, caller.association_id)
            )
            ready = complaint.created_at + first_response
            if now < ready:
                raise Conflict(
                    f"complaint {complaint.tracking_code} awaits triage until {isoformat(ready)}: "
                    "a member it is about may still be linked; take it up after that"
                )
            complaint.association_id = caller.association_id
            complaint.escalated_at = now
            transition(
                session,
                complaint,
                ComplaintStatus.ESCALATED,
                now,
                ActorKind.MEDIATOR,
                principal_id=caller.principal_id,
                body=text,
            )
            publish_complaint_fact(
                session, ComplaintEscalated, complaint, now, reason=UNREGISTERED_SUBJECT
            )
            await notify_mediators(
                session,
                association_id=caller.association_id,
                tracking_code=complaint.tracking_code,
                event="complaint.escalated",
                reason=UNREGISTERED_SUBJECT,
                now=now,
            )
            return complaint

    async def view(self, caller: Caller, tracking_code: str) -> MediatorComplaint:
        """One escalated complaint of the mediator's association (or one awaiting triage, or
        a duplicate awaiting a join), with its duplicate links."""
        async with self.ctx.db.read() as session:
            complaint = await mediator_complaint(session, caller, tracking_code)
            earlier = None
            if complaint.duplicate_of_id is not None and complaint.duplicate_joined_at is None:
                earlier = await session.scalar(
                    select(Complaint.tracking_code).where(Complaint.id == complaint.duplicate_of_id)
                )
            later = (
                await session.execute(
                    select(Complaint.tracking_code)
                    .where(
                        Complaint.duplicate_of_id == complaint.id,
                        Complaint.duplicate_joined_at.is_(None),
                    )
                    .order_by(Complaint.id)
                )
            ).scalars()
            return MediatorComplaint(complaint, earlier, list(later))

    async def join_duplicate(self, caller: Caller, tracking_code: str, note: str) -> Complaint:
        """Join a duplicate filing into the earlier complaint it repeats: its text goes onto
        the earlier thread (the earlier filer sees it from now on) and the duplicate is
        closed. Only a mediator decides this; filing alone never joins two complaints."""
        text = self.message_text(note, field="note", required=False)
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            duplicate = await mediator_complaint(session, caller, tracking_code)
            if duplicate.duplicate_of_id is None or duplicate.duplicate_joined_at is not None:
                raise Conflict(f"complaint {duplicate.tracking_code} is no duplicate to join")
            require_state(duplicate, open_states(duplicate))
            earlier = await _repeated_complaint(session, duplicate)
            earlier.duplicates_merged += 1
            record_event(
                session,
                earlier,
                now,
                EventKind.DUPLICATE_MERGED,
                ActorKind.MEDIATOR,
                principal_id=caller.principal_id,
                body=duplicate.description,
            )
            duplicate.duplicate_joined_at = now
            duplicate.closed_at = now
            duplicate.sla_due_at = None
            duplicate.sla_clock = None
            transition(
                session,
                duplicate,
                ComplaintStatus.CLOSED,
                now,
                ActorKind.MEDIATOR,
                principal_id=caller.principal_id,
                body=text or None,
            )
            publish_complaint_fact(
                session, ComplaintClosed, duplicate, now, reason="duplicate_joined"
            )
            await notify_vendor(session, duplicate, "complaint.closed", now)
            if earlier.vendor_id is not None:
                await notify_vendor(session, earlier, "complaint.message", now)
            return duplicate

    async def message(self, caller: Caller, tracking_code: str, body: str) -> Complaint:
        """A mediator's message on the thread."""
        text = self.message_text(body)
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await mediator_complaint(session, caller, tracking_code)
            require_state(complaint, {ComplaintStatus.ESCALATED, ComplaintStatus.MEDIATED})
            record_event(
                session,
                complaint,
                now,
                EventKind.MESSAGE,
                ActorKind.MEDIATOR,
                principal_id=caller.principal_id,
                body=text,
            )
            await notify_vendor(session, complaint, "complaint.message", now)
            return complaint

    async def decide(
        self, caller: Caller, tracking_code: str, outcome: MediationOutcome, note: str
    ) -> Complaint:
        """The mediator's finding, logged: upheld complaints count against the vendor, or
        against the unregistered subject (domain, app id, credit code) a taken-up
        complaint names."""
        text = self.message_text(note, field="note")
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await mediator_complaint(session, caller, tracking_code)
            require_state(complaint, {ComplaintStatus.ESCALATED})
            complaint.mediation_outcome = outcome
            complaint.substantiated = (
                outcome is MediationOutcome.UPHELD or complaint.vendor_conceded
            )
            complaint.sla_due_at = None
            complaint.sla_clock = None
            transition(
                session,
                complaint,
                ComplaintStatus.MEDIATED,
                now,
                ActorKind.MEDIATOR,
                principal_id=caller.principal_id,
                body=text,
            )
            publish_complaint_fact(
                session, ComplaintMediated, complaint, now, outcome=outcome.value
            )
            if complaint.substantiated:
                publish_complaint_fact(
                    session,
                    ComplaintSubstantiated,
                    complaint,
                    now,
                    basis=(
                        SubstantiationBasis.UPHELD_IN_MEDIATION
                        if outcome is MediationOutcome.UPHELD
                        else SubstantiationBasis.VENDOR_CONCEDED
                    ),
                )
            await LogAppender(session, now).append(_mediation_leaf(complaint, outcome))
            await notify_vendor(session, complaint, "complaint.mediated", now)
            return complaint

    async def close(self, caller: Caller, tracking_code: str, note: str) -> Complaint:
        """Close a mediated complaint; the consumer may then rate it and erase the contact."""
        text = self.message_text(note, field="note", required=False)
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await mediator_complaint(session, caller, tracking_code)
            require_state(complaint, {ComplaintStatus.MEDIATED})
            complaint.closed_at = now
            transition(
                session,
                complaint,
                ComplaintStatus.CLOSED,
                now,
                ActorKind.MEDIATOR,
                principal_id=caller.principal_id,
                body=text,
            )
            publish_complaint_fact(session, ComplaintClosed, complaint, now, reason="mediated")
            await notify_vendor(session, complaint, "complaint.closed", now)
            return complaint

    async def reveal_contact(self, caller: Caller, tracking_code: str) -> Contact:
        """Open the sealed contact for the mediator, to reach the consumer; recorded."""
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await mediator_complaint(session, caller, tracking_code)
            return self.disclose_contact(session, complaint, caller, ActorKind.MEDIATOR, now)


async def _complaint_to_link(
    session: AsyncSession, caller: Caller, tracking_code: str
) -> Complaint:
    """The complaint awaiting triage that `caller` wants to link to a vendor."""
    complaint = (await session.execute(complaint_query(tracking_code))).scalar_one_or_none()
    # A complaint already about a vendor, or taken up by an association's mediators, is the
    # business of that association: to anyone else it does not exist, so tracking codes
    # cannot be probed here.
    outside = (
        complaint is not None
        and complaint.association_id is not None
        and caller.role is not Role.FEDERATION_ADMIN
        and complaint.association_id != caller.association_id
    )
    if complaint is None or outside:
        raise NotFound(f"no complaint {normalise_tracking_code(tracking_code)}")
    if complaint.vendor_id is not None:
        raise Conflict(f"complaint {complaint.tracking_code} is already about a member vendor")
    require_state(complaint, {ComplaintStatus.SUBMITTED})
    return complaint


async def _vendor_to_link(session: AsyncSession, caller: Caller, vendor_slug: str) -> Vendor:
    """The active member vendor named, if `caller` may link complaints to it: one of its
    own association's vendors, or any for the federation admin."""
    vendor = (
        await session.execute(
            select(Vendor).where(
                Vendor.slug == vendor_slug.strip(), Vendor.status == VendorStatus.ACTIVE
            )
        )
    ).scalar_one_or_none()
    if vendor is None:
        raise InvalidInput(f"no active member vendor {vendor_slug!r}", fields={"vendor": "unknown"})
    if caller.role is not Role.FEDERATION_ADMIN and (
        caller.association_id != vendor.association_id
    ):
        raise PermissionDenied(
            f"vendor {vendor.slug} belongs to another association; "
            "ask that association or the federation admin to link it"
        )
    return vendor


async def _repeated_complaint(session: AsyncSession, duplicate: Complaint) -> Complaint:
    """The earlier complaint `duplicate` repeats, with its thread."""
    earlier = (
        await session.execute(
            select(Complaint)
            .where(Complaint.id == duplicate.duplicate_of_id)
            .options(selectinload(Complaint.events))
        )
    ).scalar_one_or_none()
    if earlier is None:
        raise Conflict(f"the complaint {duplicate.tracking_code} repeats is gone")
    return earlier


def _mediation_leaf(complaint: Complaint, outcome: MediationOutcome) -> PendingLeaf:
    """The transparency-log leaf of a mediator's finding (no contact, no text)."""
    return PendingLeaf(
        EntryType.COMPLAINT_MEDIATED,
        {
            "tracking_code": complaint.tracking_code,
            "outcome": outcome.value,
            "substantiated": complaint.substantiated,
            "category": complaint.category.value,
        },
        vendor_id=complaint.vendor_id,
        vendor_slug=complaint.vendor.slug if complaint.vendor else None,
    )
