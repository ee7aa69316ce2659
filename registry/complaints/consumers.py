"""The consumer's side of a complaint: filing it, then following, answering and rating it.

Consumers have no account: a complaint's tracking code plus the secret shown once at
filing authenticate them (only the secret's SHA-256 is stored, like API tokens). The
contact is sealed at filing (see `pii`); rate limits and duplicate links use keyed
fingerprints of the contact and the address, never the values themselves.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.complaints.access import (
    FINISHED,
    consumer_complaint,
    open_states,
    require_state,
)
from registry.complaints.actor_service import ComplaintActorService
from registry.complaints.events import (
    ComplaintEscalated,
    ComplaintFiled,
    ComplaintRated,
    ComplaintResolved,
    ComplaintSubstantiated,
    SubstantiationBasis,
    publish_complaint_fact,
)
from registry.complaints.filing import CleanFiling, ComplaintSubmission, clean_submission
from registry.complaints.forwarding import (
    forward,
    notify_mediators,
    notify_vendor,
    record_event,
    transition,
)
from registry.complaints.messages import (
    ALREADY_RATED,
    BAD_SCORE,
    RATE_LIMITED,
    UNKNOWN_VENDOR,
    ComplaintInvalid,
    ComplaintRateLimited,
    ComplaintStateConflict,
    field_problem,
)
from registry.complaints.models import (
    ActorKind,
    Complaint,
    ComplaintSlaPolicy,
    ComplaintStatus,
    EventKind,
    SubjectKind,
)
from registry.kernel.ids import hash_token
from registry.kernel.members import member_condition
from registry.membership.models import Vendor

# Unambiguous upper-case alphabet (no 0/O, 1/I/L): tracking codes are read aloud on phones.
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TRACKING_GROUPS = 3
TRACKING_GROUP_LENGTH = 4
SECRET_BYTES = 18
RATING_RANGE = range(1, 6)


@dataclass(frozen=True)
class FiledComplaint:
    """The answer to a filing: the secret is shown once and never retrievable again."""

    tracking_code: str
    secret: str
    status: ComplaintStatus
    first_response_due_at: datetime | None


def _new_tracking_code() -> str:
    groups = (
        "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_GROUP_LENGTH))
        for _ in range(TRACKING_GROUPS)
    )
    return "-".join(groups)


class ConsumerComplaintService(ComplaintActorService):
    """What a consumer does: file, then view, message, accept, reject, rate and erase."""

    # --- filing ----------------------------------------------------------------------------

    async def file(self, submission: ComplaintSubmission, *, client_ip: str) -> FiledComplaint:
        """File a complaint: check it, apply rate limits, link a recent duplicate, forward it.

        A member vendor's complaint is forwarded at once (webhook + inbox) and its clocks
        start; an unregistered subject's complaint stays `submitted` in every association's
        mediation queue for triage until it is attached to a vendor (see
        `MediationService.link_vendor`).

        A repeat of an open complaint (same contact, subject and category within the
        duplicate window) is filed exactly like a fresh one: its own tracking code, secret,
        thread and clocks, and it counts against the rate limits. Anyone who knows a
        consumer's phone number could otherwise learn, and write into, that consumer's
        complaint. The link to the earlier complaint is kept for mediators only, who may
        join the two (`MediationService.join_duplicate`).
        """
        now = self.ctx.clock.now()
        filing = clean_submission(submission, self.ctx.settings, now.date())
        contact_fp = self.vault.fingerprint("contact", filing.contact.normalised())
        ip_fp = self.vault.fingerprint("ip", client_ip)
        async with self.ctx.db.transaction() as session:
            vendor, policy = await self._subject_vendor(session, filing)
            await self._enforce_rate_limits(session, contact_fp, ip_fp, now)
            duplicate_of = await self._recent_duplicate(session, filing, contact_fp, now)
            secret = secrets.token_urlsafe(SECRET_BYTES)
            complaint = self._new_complaint(filing, vendor, secret, now)
            complaint.contact_fingerprint = contact_fp
            complaint.ip_fingerprint = ip_fp
            complaint.duplicate_of_id = duplicate_of
            session.add(complaint)
            record_event(
                session,
                complaint,
                now,
                EventKind.TRANSITION,
                ActorKind.CONSUMER,
                principal_id=None,
                to_status=ComplaintStatus.SUBMITTED,
            )
            await session.flush()  # the id the events name
            publish_complaint_fact(
                session,
                ComplaintFiled,
                complaint,
                now,
                category=complaint.category.value,
                subject_kind=complaint.subject_kind.value,
            )
            await self._send_on(session, complaint, vendor is not None, policy, now)
            return FiledComplaint(
                complaint.tracking_code,
                secret,
                complaint.status,
                first_response_due_at=complaint.first_response_due_at,
            )

    def _new_complaint(
        self, filing: CleanFiling, vendor: Vendor | None, secret: str, now: datetime
    ) -> Complaint:
        """The complaint as filed: `submitted`, the contact sealed, only the secret's hash."""
        return Complaint(
            created_at=now,
            tracking_code=_new_tracking_code(),
            secret_hash=hash_token(secret),
            association_id=vendor.association_id if vendor else None,
            vendor_id=vendor.id if vendor else None,
            subject_kind=filing.subject_kind,
            subject_value=filing.subject_value,
            product=filing.product,
            category=filing.category,
            description=filing.description,
            desired_remedy=filing.desired_remedy,
            region=filing.region,
            occurred_on=filing.occurred_on,
            language=filing.language,
            status=ComplaintStatus.SUBMITTED,
            contact_sealed=self.vault.seal(filing.contact),
            consent_to_share=filing.consent_to_share,
            vendor_conceded=False,
            substantiated=False,
            duplicates_merged=0,
        )

    async def _send_on(
        self,
        session: AsyncSession,
        complaint: Complaint,
        about_member: bool,
        policy: ComplaintSlaPolicy | None,
        now: datetime,
    ) -> None:
        """Forward a member vendor's complaint (its clocks start); put any other in every
        association's triage queue."""
        if about_member:
            await forward(session, self.ctx.settings, complaint, now, policy)
            return
        await notify_mediators(
            session,
            association_id=None,
            tracking_code=complaint.tracking_code,
            event="complaint.awaiting_triage",
            reason=complaint.subject_kind.value,
            now=now,
        )

    async def _subject_vendor(
        self, session: AsyncSession, filing: CleanFiling
    ) -> tuple[Vendor | None, ComplaintSlaPolicy | None]:
        """The member vendor complained about, with its association's clocks (one query)."""
        if filing.subject_kind is not SubjectKind.VENDOR:
            return None, None
        row = (
            await session.execute(
                select(Vendor, ComplaintSlaPolicy)
                .outerjoin(
                    ComplaintSlaPolicy, ComplaintSlaPolicy.association_id == Vendor.association_id
                )
                .where(Vendor.slug == filing.subject_value, member_condition(Vendor.status))
            )
        ).one_or_none()
        if row is None:
            raise ComplaintInvalid({"vendor": field_problem(UNKNOWN_VENDOR, "vendor")})
        return row[0], row[1]

    async def _recent_duplicate(
        self,
        session: AsyncSession,
        filing: CleanFiling,
        contact_fp: str,
        now: datetime,
    ) -> int | None:
        """The id of the first open complaint with the same contact, subject and category
        within the duplicate window (a closed one is history: filing again starts anew)."""
        since = now - self.ctx.settings.complaint_duplicate_window
        return (
            await session.execute(
                select(Complaint.id)
                .where(
                    Complaint.contact_fingerprint == contact_fp,
                    Complaint.created_at >= since,
                    Complaint.subject_kind == filing.subject_kind,
                    Complaint.subject_value == filing.subject_value,
                    Complaint.category == filing.category,
                    Complaint.closed_at.is_(None),
                    Complaint.duplicate_of_id.is_(None),
                )
                .order_by(Complaint.id)
                .limit(1)
            )
        ).scalar_one_or_none()

    async def _enforce_rate_limits(
        self, session: AsyncSession, contact_fp: str, ip_fp: str, now: datetime
    ) -> None:
        settings = self.ctx.settings
        checks = (
            (
                Complaint.ip_fingerprint,
                ip_fp,
                settings.complaint_ip_window,
                settings.complaint_ip_limit,
            ),
            (
                Complaint.contact_fingerprint,
                contact_fp,
                settings.complaint_contact_window,
                settings.complaint_contact_limit,
            ),
        )
        # One statement, and each count stops at its limit: the check costs the same
        # however busy an address is.
        counts = [
            select(func.count())
            .select_from(
                select(Complaint.id)
                .where(column == value, Complaint.created_at >= now - window)
                .limit(limit)
                .subquery()
            )
            .scalar_subquery()
            for column, value, window, limit in checks
        ]
        seen = (await session.execute(select(*counts))).one()
        if any(count >= check[3] for count, check in zip(seen, checks, strict=True)):
            raise ComplaintRateLimited(RATE_LIMITED)

    # --- following the complaint (tracking code + secret) ----------------------------------

    async def view(self, tracking_code: str, secret: str) -> Complaint:
        """The complaint and its thread, for the consumer who holds the secret."""
        async with self.ctx.db.read() as session:
            return await consumer_complaint(session, tracking_code, secret)

    async def message(self, tracking_code: str, secret: str, body: str) -> Complaint:
        """Add the consumer's message to the thread; the vendor is told by webhook."""
        text = self.message_text(body)
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await consumer_complaint(session, tracking_code, secret)
            require_state(complaint, open_states(complaint))
            record_event(
                session,
                complaint,
                now,
                EventKind.MESSAGE,
                ActorKind.CONSUMER,
                principal_id=None,
                body=text,
            )
            if complaint.vendor_id is not None:
                await notify_vendor(session, complaint, "complaint.message", now)
            return complaint

    async def accept(self, tracking_code: str, secret: str) -> Complaint:
        """The consumer accepts the vendor's proposal: resolved, and closed for the survey."""
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await consumer_complaint(session, tracking_code, secret)
            require_state(complaint, {ComplaintStatus.RESOLUTION_PROPOSED})
            complaint.resolved_at = now
            complaint.closed_at = now
            complaint.substantiated = complaint.vendor_conceded
            transition(
                session,
                complaint,
                ComplaintStatus.RESOLVED,
                now,
                ActorKind.CONSUMER,
                principal_id=None,
            )
            publish_complaint_fact(
                session,
                ComplaintResolved,
                complaint,
                now,
                vendor_conceded=complaint.vendor_conceded,
            )
            if complaint.substantiated:
                publish_complaint_fact(
                    session,
                    ComplaintSubstantiated,
                    complaint,
                    now,
                    basis=SubstantiationBasis.VENDOR_CONCEDED,
                )
            await notify_vendor(session, complaint, "complaint.resolved", now)
            return complaint

    async def reject(self, tracking_code: str, secret: str, reason: str) -> Complaint:
        """The consumer turns the proposal down: the complaint goes to the mediators."""
        text = self.message_text(reason, field="reason")
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await consumer_complaint(session, tracking_code, secret)
            require_state(complaint, {ComplaintStatus.RESOLUTION_PROPOSED})
            complaint.escalated_at = now
            transition(
                session,
                complaint,
                ComplaintStatus.ESCALATED,
                now,
                ActorKind.CONSUMER,
                principal_id=None,
                body=text,
            )
            publish_complaint_fact(
                session,
                ComplaintEscalated,
                complaint,
                now,
                reason="consumer_rejected_proposal",
            )
            await notify_vendor(session, complaint, "complaint.escalated", now)
            await notify_mediators(
                session,
                association_id=complaint.association_id,
                tracking_code=complaint.tracking_code,
                event="complaint.escalated",
                reason="consumer_rejected_proposal",
                now=now,
            )
            return complaint

    async def rate(self, tracking_code: str, secret: str, score: int, comment: str) -> Complaint:
        """The satisfaction survey: once, after closure, 1 to 5 with an optional comment."""
        if score not in RATING_RANGE:
            raise ComplaintInvalid({"score": field_problem(BAD_SCORE, "score")})
        remark = self.message_text(comment, field="comment", required=False)
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await consumer_complaint(session, tracking_code, secret)
            if complaint.closed_at is None:
                require_state(complaint, FINISHED)
            if complaint.rating is not None:
                raise ComplaintStateConflict(ALREADY_RATED)
            complaint.rating = score
            complaint.rating_comment = remark or None
            complaint.rated_at = now
            publish_complaint_fact(session, ComplaintRated, complaint, now, score=score)
            return complaint

    async def erase_contact(self, tracking_code: str, secret: str) -> Complaint:
        """After closure the consumer may have the contact destroyed; the complaint stays.

        The sealed contact and its fingerprint are overwritten with NULL; on SQLite the
        freed bytes are zeroed and the WAL truncated (`Database.scrub`)."""
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await consumer_complaint(session, tracking_code, secret)
            if complaint.closed_at is None:
                require_state(complaint, FINISHED)
            if complaint.contact_erased_at is None:
                complaint.contact_sealed = None
                complaint.contact_fingerprint = None
                complaint.contact_erased_at = now
                record_event(
                    session,
                    complaint,
                    now,
                    EventKind.CONTACT_ERASED,
                    ActorKind.CONSUMER,
                    principal_id=None,
                )
        # Erased means unrecoverable: no earlier copy in the WAL or free pages either.
        await self.ctx.db.scrub()
        return complaint
