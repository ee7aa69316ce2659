"""The vendor's side of a complaint: its inbox, answers, proposals and the consumer's
contact (only after consent). A vendor sees only its own complaints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from registry.complaints.access import open_states, require_state, vendor_complaint
from registry.complaints.actor_service import ComplaintActorService
from registry.complaints.events import ComplaintFirstResponded, publish_complaint_fact
from registry.complaints.forwarding import record_event, transition
from registry.complaints.models import (
    ActorKind,
    Complaint,
    ComplaintStatus,
    EventKind,
    SlaClock,
)
from registry.complaints.pii import Contact
from registry.errors import PermissionDenied
from registry.kernel.caller import Caller
from registry.pagination import Page


class VendorComplaintService(ComplaintActorService):
    """What the vendor concerned does: read its inbox, acknowledge, message, propose."""

    async def inbox(
        self, caller: Caller, status: ComplaintStatus | None, offset: int, limit: int
    ) -> Page[Complaint]:
        """The caller's vendor's complaints, newest first."""
        if caller.vendor_id is None:
            raise PermissionDenied("only a vendor's admin has a complaint inbox")
        conditions: list[Any] = [Complaint.vendor_id == caller.vendor_id]
        if status is not None:
            conditions.append(Complaint.status == status)
        return await self.page(conditions, offset, limit)

    async def view(self, caller: Caller, tracking_code: str) -> Complaint:
        """One of the caller's vendor's complaints with its thread."""
        async with self.ctx.db.read() as session:
            return await vendor_complaint(session, caller, tracking_code)

    async def acknowledge(self, caller: Caller, tracking_code: str, body: str) -> Complaint:
        """The vendor's first response: stops the first-response clock, starts resolution."""
        text = self.message_text(body, required=False)
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await vendor_complaint(session, caller, tracking_code)
            require_state(complaint, {ComplaintStatus.FORWARDED})
            self._first_response(session, complaint, caller, now, text)
            return complaint

    async def message(self, caller: Caller, tracking_code: str, body: str) -> Complaint:
        """A vendor message; the first one also counts as the first response."""
        text = self.message_text(body)
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await vendor_complaint(session, caller, tracking_code)
            require_state(complaint, open_states(complaint))
            if complaint.status is ComplaintStatus.FORWARDED:
                self._first_response(session, complaint, caller, now, None)
            record_event(
                session,
                complaint,
                now,
                EventKind.MESSAGE,
                ActorKind.VENDOR,
                principal_id=caller.principal_id,
                body=text,
            )
            return complaint

    async def propose_resolution(
        self, caller: Caller, tracking_code: str, proposal: str, *, concede: bool
    ) -> Complaint:
        """The vendor proposes a remedy; conceding makes the complaint count as substantiated
        once the consumer accepts."""
        text = self.message_text(proposal, field="proposal")
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await vendor_complaint(session, caller, tracking_code)
            require_state(complaint, {ComplaintStatus.FORWARDED, ComplaintStatus.ACKNOWLEDGED})
            if complaint.first_response_at is None:
                _record_first_response(session, complaint, now)
            complaint.proposal = text
            complaint.vendor_conceded = concede
            # The consumer's turn: no vendor clock runs while the proposal waits.
            complaint.sla_due_at = None
            complaint.sla_clock = None
            transition(
                session,
                complaint,
                ComplaintStatus.RESOLUTION_PROPOSED,
                now,
                ActorKind.VENDOR,
                principal_id=caller.principal_id,
                body=text,
            )
            return complaint

    async def reveal_contact(self, caller: Caller, tracking_code: str) -> Contact:
        """Open the sealed contact for the vendor, only if the consumer consented; recorded."""
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await vendor_complaint(session, caller, tracking_code)
            if not complaint.consent_to_share:
                raise PermissionDenied(
                    "the consumer did not consent to share their contact with the vendor"
                )
            return self.disclose_contact(session, complaint, caller, ActorKind.VENDOR, now)

    def _first_response(
        self,
        session: AsyncSession,
        complaint: Complaint,
        caller: Caller,
        now: datetime,
        body: str | None,
    ) -> None:
        """Acknowledged: the first-response clock stops and the resolution clock runs."""
        _record_first_response(session, complaint, now)
        complaint.sla_due_at = complaint.resolution_due_at
        complaint.sla_clock = SlaClock.RESOLUTION
        transition(
            session,
            complaint,
            ComplaintStatus.ACKNOWLEDGED,
            now,
            ActorKind.VENDOR,
            principal_id=caller.principal_id,
            body=body,
        )


def _record_first_response(session: AsyncSession, complaint: Complaint, now: datetime) -> None:
    """The vendor's first response, whatever form it took, is dated and published once."""
    complaint.first_response_at = now
    publish_complaint_fact(
        session, ComplaintFirstResponded, complaint, now, due_at=complaint.first_response_due_at
    )
