"""Consumer complaints: filing, forwarding, the thread, SLA clocks, mediation and figures.

Consumers have no account: a complaint's tracking code plus the secret shown once at
filing authenticate them (only the secret's SHA-256 is stored, like API tokens).
Vendors see only their own complaints, mediators only their association's escalations,
everyone else only the aggregate figures. The contact is sealed (see `pii`) and opened
only for the vendor concerned after consent and for mediators, each opening recorded on
the thread. Webhooks carry the tracking code and the event, never contact data.
"""

from __future__ import annotations

import hmac
import secrets
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from registry.complaints.events import (
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintFiled,
    ComplaintFirstResponded,
    ComplaintRated,
    ComplaintResolved,
    ComplaintSlaBreached,
    ComplaintSubstantiated,
    SubstantiationBasis,
    publish_complaint_fact,
)
from registry.complaints.filing import (
    CleanFiling,
    ComplaintSubmission,
    checked_text,
    clean_submission,
)
from registry.complaints.forwarding import (
    attach,
    awaiting_triage,
    forward,
    notify_mediators,
    notify_vendor,
    policy_row,
    record_event,
    transition,
)
from registry.complaints.messages import (
    ALREADY_RATED,
    BAD_SCORE,
    FORM_EXPIRED,
    HONEYPOT,
    NOT_FOUND,
    RATE_LIMITED,
    STATUS_NAMES,
    UNKNOWN_VENDOR,
    WRONG_STATE,
    ComplaintInvalid,
    ComplaintNotFound,
    ComplaintRateLimited,
    ComplaintRefused,
    ComplaintStateConflict,
    Text,
    field_problem,
)
from registry.complaints.models import (
    ActorKind,
    Complaint,
    ComplaintEvent,
    ComplaintSlaPolicy,
    ComplaintStatus,
    EventKind,
    MediationOutcome,
    SlaClock,
    SubjectKind,
)
from registry.complaints.pii import Contact, PiiVault, load_or_create_pii_key
from registry.context import RegistryContext
from registry.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from registry.events import publish
from registry.federation.models import Association
from registry.kernel.caller import Caller, Role
from registry.kernel.clock import isoformat
from registry.kernel.ids import hash_token
from registry.kernel.members import VendorStatus, member_condition
from registry.membership.models import Vendor
from registry.notifications.services import enqueue_event
from registry.pagination import Page
from registry.transparency.entries import EntryType
from registry.transparency.services import LogAppender, PendingLeaf

# Unambiguous upper-case alphabet (no 0/O, 1/I/L): tracking codes are read aloud on phones.
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TRACKING_GROUPS = 3
TRACKING_GROUP_LENGTH = 4
SECRET_BYTES = 18
RATING_RANGE = range(1, 6)
SATISFIED_FROM = 4
"""Ratings of 4 or 5 count as satisfied (the programme's "satisfaction ≥ 80%" KPI)."""

FINISHED = frozenset({ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED})
VENDOR_OPEN = frozenset(
    {
        ComplaintStatus.FORWARDED,
        ComplaintStatus.ACKNOWLEDGED,
        ComplaintStatus.RESOLUTION_PROPOSED,
        ComplaintStatus.ESCALATED,
        ComplaintStatus.MEDIATED,
    }
)
MEDIATION_STATES = frozenset(
    {ComplaintStatus.ESCALATED, ComplaintStatus.MEDIATED, ComplaintStatus.CLOSED}
)


@dataclass(frozen=True)
class FiledComplaint:
    """The answer to a filing: the secret is shown once and never retrievable again."""

    tracking_code: str
    secret: str
    status: ComplaintStatus
    first_response_due_at: datetime | None


@dataclass(frozen=True)
class MediatorComplaint:
    """A complaint as a mediator sees it: with its duplicate links, which nobody else sees."""

    complaint: Complaint
    duplicate_of: str | None
    """The tracking code of the earlier complaint this one repeats, until joined."""
    duplicates: list[str]
    """Tracking codes of later filings that repeat this one and are not joined yet."""


@dataclass(frozen=True)
class FormToken:
    """A CSRF token for the public form: the same value goes in a cookie and a hidden field."""

    value: str
    max_age_seconds: int
    secure: bool
    """Whether the cookie is `Secure` (the registry is served over https)."""


@dataclass(frozen=True)
class SlaPolicy:
    """An association's complaint clocks."""

    association: str
    first_response: timedelta
    resolution: timedelta
    custom: bool


@dataclass(frozen=True)
class ComplaintFigures:
    """A vendor's public complaint figures over the window; None means "fewer than k".

    Only complaints whose clocks have run their course count: a complaint enters the
    figures once the vendor answered it or its first-response deadline passed (and the
    resolved share once it was resolved, escalated, closed or its resolution deadline
    passed). So a burst of fresh filings, which anyone can make anonymously, moves no
    public figure before the vendor had its chance to answer.
    """

    vendor_slug: str
    window_days: int
    min_count: int
    received: int | None
    """Complaints counted: filed in the window and past their first-response clock."""
    answered_on_time_share: float | None
    """Share of counted complaints answered within the first-response clock (24 h default)."""
    median_first_response: timedelta | None
    resolved_share: float | None
    """Share of complaints past their resolution clock that the consumer accepted as resolved."""
    substantiated: int | None
    """Counted complaints upheld in mediation or conceded by the vendor."""
    satisfaction_rate: float | None
    ratings: int | None


@dataclass(frozen=True)
class SlaScanResult:
    """What one SLA scan escalated."""

    escalated: int
    first_response_breaches: int
    resolution_breaches: int


def _first_clock_over(row: Any, now: datetime) -> bool:
    """The vendor answered, or its first-response deadline passed (breached or closed)."""
    return (
        row.first_response_at is not None
        or row.breached_at is not None
        or row.closed_at is not None
        or (row.first_response_due_at is not None and row.first_response_due_at <= now)
    )


def _resolution_clock_over(row: Any, now: datetime) -> bool:
    """Resolved, escalated, closed, or past the resolution deadline."""
    return (
        row.resolved_at is not None
        or row.escalated_at is not None
        or row.closed_at is not None
        or (row.resolution_due_at is not None and row.resolution_due_at <= now)
    )


def _new_tracking_code() -> str:
    groups = (
        "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_GROUP_LENGTH))
        for _ in range(TRACKING_GROUPS)
    )
    return "-".join(groups)


def normalise_tracking_code(raw: str) -> str:
    """Upper-case, trimmed; what consumers type back in."""
    return raw.strip().upper()


class ComplaintService:
    """Every complaint rule; the public form, the API and the scheduler all come here."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    @cached_property
    def vault(self) -> PiiVault:
        """The PII vault; the key is loaded (or created, 0600) on first use."""
        return PiiVault(load_or_create_pii_key(self.ctx.settings))

    # --- the public form's CSRF token (double-submit, HMAC-signed, time-limited) ---------

    def issue_form_token(self) -> FormToken:
        """A fresh token for the form page."""
        issued = str(int(self.ctx.clock.now().timestamp()))
        body = f"{issued}.{secrets.token_urlsafe(16)}"
        ttl = int(self.ctx.settings.complaint_form_token_ttl.total_seconds())
        return FormToken(
            f"{body}.{self.vault.form_mac(body)}", ttl, secure=self.ctx.settings.serves_https
        )

    def check_form_token(self, cookie: str | None, field: str | None) -> None:
        """Refuse the post unless cookie and field carry the same fresh token we signed."""
        if not cookie or not field or not hmac.compare_digest(cookie.encode(), field.encode()):
            raise ComplaintRefused(FORM_EXPIRED, {"csrf_token": FORM_EXPIRED})
        body, _, mac = field.rpartition(".")
        issued, _, _nonce = body.partition(".")
        if not issued.isdigit() or not hmac.compare_digest(
            mac.encode(), self.vault.form_mac(body).encode()
        ):
            raise ComplaintRefused(FORM_EXPIRED, {"csrf_token": FORM_EXPIRED})
        age = self.ctx.clock.now().timestamp() - int(issued)
        if not 0 <= age <= self.ctx.settings.complaint_form_token_ttl.total_seconds():
            raise ComplaintRefused(FORM_EXPIRED, {"csrf_token": FORM_EXPIRED})

    @staticmethod
    def check_honeypot(value: str | None) -> None:
        """People never see the honeypot field; anything in it was typed by a bot."""
        if value:
            raise ComplaintRefused(HONEYPOT)

    # --- filing ----------------------------------------------------------------------------

    async def file(self, submission: ComplaintSubmission, *, client_ip: str) -> FiledComplaint:
        """File a complaint: check it, apply rate limits, link a recent duplicate, forward it.

        A member vendor's complaint is forwarded at once (webhook + inbox) and its clocks
        start; an unregistered subject's complaint stays `submitted` in every association's
        mediation queue for triage until it is attached to a vendor (see `link_vendor`).

        A repeat of an open complaint (same contact, subject and category within the
        duplicate window) is filed exactly like a fresh one: its own tracking code, secret,
        thread and clocks, and it counts against the rate limits. Anyone who knows a
        consumer's phone number could otherwise learn, and write into, that consumer's
        complaint. The link to the earlier complaint is kept for mediators only, who may
        join the two (`join_duplicate`).
        """
        now = self.ctx.clock.now()
        settings = self.ctx.settings
        filing = clean_submission(submission, settings, now.date())
        contact_fp = self.vault.fingerprint("contact", filing.contact.normalised())
        ip_fp = self.vault.fingerprint("ip", client_ip)
        async with self.ctx.db.transaction() as session:
            vendor, policy = await self._subject_vendor(session, filing)
            await self._enforce_rate_limits(session, contact_fp, ip_fp, now)
            duplicate_of = await self._recent_duplicate(session, filing, contact_fp, now)
            secret = secrets.token_urlsafe(SECRET_BYTES)
            complaint = Complaint(
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
                contact_fingerprint=contact_fp,
                ip_fingerprint=ip_fp,
                consent_to_share=filing.consent_to_share,
                vendor_conceded=False,
                substantiated=False,
                duplicates_merged=0,
                duplicate_of_id=duplicate_of,
            )
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
            if vendor is not None:
                await forward(session, self.ctx.settings, complaint, now, policy)
            else:
                await notify_mediators(
                    session,
                    association_id=None,
                    tracking_code=complaint.tracking_code,
                    event="complaint.awaiting_triage",
                    reason=complaint.subject_kind.value,
                    now=now,
                )
            return FiledComplaint(
                complaint.tracking_code,
                secret,
                complaint.status,
                first_response_due_at=complaint.first_response_due_at,
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

    # --- the consumer (tracking code + secret) ---------------------------------------------

    async def consumer_view(self, tracking_code: str, secret: str) -> Complaint:
        """The complaint and its thread, for the consumer who holds the secret."""
        async with self.ctx.db.read() as session:
            return await _consumer_complaint(session, tracking_code, secret)

    async def consumer_message(self, tracking_code: str, secret: str, body: str) -> Complaint:
        """Add the consumer's message to the thread; the vendor is told by webhook."""
        text = self._message_text(body)
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await _consumer_complaint(session, tracking_code, secret)
            _require_state(complaint, _open_states(complaint))
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
            complaint = await _consumer_complaint(session, tracking_code, secret)
            _require_state(complaint, {ComplaintStatus.RESOLUTION_PROPOSED})
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
        text = self._message_text(reason, field="reason")
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await _consumer_complaint(session, tracking_code, secret)
            _require_state(complaint, {ComplaintStatus.RESOLUTION_PROPOSED})
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
        remark = self._message_text(comment, field="comment", required=False)
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await _consumer_complaint(session, tracking_code, secret)
            if complaint.closed_at is None:
                _require_state(complaint, FINISHED)
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
            complaint = await _consumer_complaint(session, tracking_code, secret)
            if complaint.closed_at is None:
                _require_state(complaint, FINISHED)
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

    # --- the vendor concerned ---------------------------------------------------------------

    async def inbox(
        self, caller: Caller, status: ComplaintStatus | None, offset: int, limit: int
    ) -> Page[Complaint]:
        """The caller's vendor's complaints, newest first."""
        if caller.vendor_id is None:
            raise PermissionDenied("only a vendor's admin has a complaint inbox")
        conditions: list[Any] = [Complaint.vendor_id == caller.vendor_id]
        if status is not None:
            conditions.append(Complaint.status == status)
        return await self._page(conditions, offset, limit)

    async def vendor_view(self, caller: Caller, tracking_code: str) -> Complaint:
        """One of the caller's vendor's complaints with its thread."""
        async with self.ctx.db.read() as session:
            return await _vendor_complaint(session, caller, tracking_code)

    async def acknowledge(self, caller: Caller, tracking_code: str, body: str) -> Complaint:
        """The vendor's first response: stops the first-response clock, starts resolution."""
        text = self._message_text(body, required=False)
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await _vendor_complaint(session, caller, tracking_code)
            _require_state(complaint, {ComplaintStatus.FORWARDED})
            self._first_response(session, complaint, caller, now, text)
            return complaint

    async def vendor_message(self, caller: Caller, tracking_code: str, body: str) -> Complaint:
        """A vendor message; the first one also counts as the first response."""
        text = self._message_text(body)
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await _vendor_complaint(session, caller, tracking_code)
            _require_state(complaint, _open_states(complaint))
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
        text = self._message_text(proposal, field="proposal")
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await _vendor_complaint(session, caller, tracking_code)
            _require_state(complaint, {ComplaintStatus.FORWARDED, ComplaintStatus.ACKNOWLEDGED})
            if complaint.first_response_at is None:
                complaint.first_response_at = now
                publish_complaint_fact(
                    session,
                    ComplaintFirstResponded,
                    complaint,
                    now,
                    due_at=complaint.first_response_due_at,
                )
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

    def _first_response(
        self,
        session: AsyncSession,
        complaint: Complaint,
        caller: Caller,
        now: datetime,
        body: str | None,
    ) -> None:
        complaint.first_response_at = now
        publish_complaint_fact(
            session,
            ComplaintFirstResponded,
            complaint,
            now,
            due_at=complaint.first_response_due_at,
        )
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

    # --- contact disclosure -----------------------------------------------------------------

    async def reveal_contact(self, caller: Caller, tracking_code: str) -> Contact:
        """Open the sealed contact for the vendor (after consent) or a mediator; recorded."""
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            if caller.role is Role.MEDIATOR:
                complaint = await _mediator_complaint(session, caller, tracking_code)
                actor = ActorKind.MEDIATOR
            else:
                complaint = await _vendor_complaint(session, caller, tracking_code)
                actor = ActorKind.VENDOR
                if not complaint.consent_to_share:
                    raise PermissionDenied(
                        "the consumer did not consent to share their contact with the vendor"
                    )
            if complaint.contact_sealed is None:
                raise NotFound("the consumer's contact was erased after closure")
            contact = self.vault.open(complaint.contact_sealed)
            record_event(
                session,
                complaint,
                now,
                EventKind.CONTACT_REVEALED,
                actor,
                principal_id=caller.principal_id,
            )
            return contact

    # --- mediators --------------------------------------------------------------------------

    async def mediation_queue(
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
            conditions = [or_(escalated, awaiting_triage(), _awaiting_join(caller))]
        return await self._page(conditions, offset, limit)

    async def link_vendor(self, caller: Caller, tracking_code: str, vendor_slug: str) -> Complaint:
        """Attach an unregistered subject's complaint to the member vendor it is about and
        forward it; its clocks start now. Mediators and association admins link to vendors
        of their own association, the federation admin to any."""
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = (
                await session.execute(_complaint_query(tracking_code))
            ).scalar_one_or_none()
            # A complaint already about a vendor is the business of that vendor's association:
            # to anyone else it does not exist, so tracking codes cannot be probed here.
            outside = (
                complaint is not None
                and complaint.vendor_id is not None
                and caller.role is not Role.FEDERATION_ADMIN
                and complaint.association_id != caller.association_id
            )
            if complaint is None or outside:
                raise NotFound(f"no complaint {normalise_tracking_code(tracking_code)}")
            if complaint.vendor_id is not None:
                raise Conflict(
                    f"complaint {complaint.tracking_code} is already about a member vendor"
                )
            _require_state(complaint, {ComplaintStatus.SUBMITTED})
            vendor = (
                await session.execute(
                    select(Vendor).where(
                        Vendor.slug == vendor_slug.strip(), Vendor.status == VendorStatus.ACTIVE
                    )
                )
            ).scalar_one_or_none()
            if vendor is None:
                raise InvalidInput(
                    f"no active member vendor {vendor_slug!r}", fields={"vendor": "unknown"}
                )
            if caller.role is not Role.FEDERATION_ADMIN and (
                caller.association_id != vendor.association_id
            ):
                raise PermissionDenied(
                    f"vendor {vendor.slug} belongs to another association; "
                    "ask that association or the federation admin to link it"
                )
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

    async def mediator_view(self, caller: Caller, tracking_code: str) -> MediatorComplaint:
        """One escalated complaint of the mediator's association (or one awaiting triage, or
        a duplicate awaiting a join), with its duplicate links."""
        async with self.ctx.db.read() as session:
            complaint = await _mediator_complaint(session, caller, tracking_code)
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
        text = self._message_text(note, field="note", required=False)
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            duplicate = await _mediator_complaint(session, caller, tracking_code)
            if duplicate.duplicate_of_id is None or duplicate.duplicate_joined_at is not None:
                raise Conflict(f"complaint {duplicate.tracking_code} is no duplicate to join")
            _require_state(duplicate, _open_states(duplicate))
            earlier = (
                await session.execute(
                    select(Complaint)
                    .where(Complaint.id == duplicate.duplicate_of_id)
                    .options(selectinload(Complaint.events))
                )
            ).scalar_one_or_none()
            if earlier is None:
                raise Conflict(f"the complaint {duplicate.tracking_code} repeats is gone")
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

    async def mediator_message(self, caller: Caller, tracking_code: str, body: str) -> Complaint:
        """A mediator's message on the thread."""
        text = self._message_text(body)
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await _mediator_complaint(session, caller, tracking_code)
            _require_state(complaint, {ComplaintStatus.ESCALATED, ComplaintStatus.MEDIATED})
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
        """The mediator's finding, logged: upheld complaints count against the vendor."""
        text = self._message_text(note, field="note")
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await _mediator_complaint(session, caller, tracking_code)
            _require_state(complaint, {ComplaintStatus.ESCALATED})
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
            await LogAppender(session, now).append(
                PendingLeaf(
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
            )
            await notify_vendor(session, complaint, "complaint.mediated", now)
            return complaint

    async def close(self, caller: Caller, tracking_code: str, note: str) -> Complaint:
        """Close a mediated complaint; the consumer may then rate it and erase the contact."""
        text = self._message_text(note, field="note", required=False)
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            complaint = await _mediator_complaint(session, caller, tracking_code)
            _require_state(complaint, {ComplaintStatus.MEDIATED})
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

    # --- association SLA policy -------------------------------------------------------------

    async def sla_policy(self, association_slug: str) -> SlaPolicy:
        """The association's clocks (the settings' defaults when it set none)."""
        async with self.ctx.db.read() as session:
            association = await _association(session, association_slug)
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

    async def set_sla_policy(
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
            association = await _association(session, association_slug)
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
        updates: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        leaves: list[PendingLeaf] = []
        for row in due:
            clock = row.sla_clock or SlaClock.FIRST_RESPONSE
            counts[clock] += 1
            updates.append(
                {
                    "id": row.id,
                    "status": ComplaintStatus.ESCALATED,
                    "escalated_at": now,
                    "breached_clock": clock,
                    "breached_at": row.sla_due_at,
                    "sla_due_at": None,
                    "sla_clock": None,
                }
            )
            events.append(
                {
                    "complaint_id": row.id,
                    "created_at": now,
                    "kind": EventKind.TRANSITION,
                    "actor": ActorKind.SYSTEM,
                    "from_status": row.status,
                    "to_status": ComplaintStatus.ESCALATED,
                    "body": f"{clock.value} due {isoformat(row.sla_due_at)} was missed",
                }
            )
            leaves.append(
                PendingLeaf(
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
            )
        # ORM bulk UPDATE by primary key: one executemany for the whole batch.
        await session.execute(update(Complaint), updates)
        await session.execute(insert(ComplaintEvent), events)
        await LogAppender(session, now).append_many(leaves)
        for row in due:
            facts = {
                "complaint_id": row.id,
                "tracking_code": row.tracking_code,
                "vendor_id": row.vendor_id,
                "association_id": row.association_id,
            }
            clock = row.sla_clock or SlaClock.FIRST_RESPONSE
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

    # --- public figures ---------------------------------------------------------------------

    async def public_figures(self, slug: str) -> ComplaintFigures:
        """A member vendor's aggregate figures over the window; small counts suppressed."""
        settings = self.ctx.settings
        now = self.ctx.clock.now()
        k = settings.complaint_figures_min_count
        async with self.ctx.db.read() as session:
            vendor_id = await session.scalar(
                select(Vendor.id).where(Vendor.slug == slug, member_condition(Vendor.status))
            )
            if vendor_id is None:
                raise NotFound(f"no member vendor with slug {slug!r}")
            rows = (
                await session.execute(
                    select(
                        Complaint.forwarded_at,
                        Complaint.first_response_at,
                        Complaint.first_response_due_at,
                        Complaint.resolution_due_at,
                        Complaint.resolved_at,
                        Complaint.escalated_at,
                        Complaint.breached_at,
                        Complaint.closed_at,
                        Complaint.substantiated,
                        Complaint.rating,
                    ).where(
                        Complaint.vendor_id == vendor_id,
                        Complaint.created_at >= now - settings.complaint_figures_window,
                    )
                )
            ).all()
        counted = [r for r in rows if _first_clock_over(r, now)]
        answered = [r for r in counted if r.first_response_at is not None and r.forwarded_at]
        on_time = [
            r
            for r in answered
            if r.first_response_due_at is None or r.first_response_at <= r.first_response_due_at
        ]
        settled = [r for r in counted if _resolution_clock_over(r, now)]
        ratings = [r.rating for r in counted if r.rating is not None]
        substantiated = sum(1 for r in counted if r.substantiated)

        def share(part: int, whole: int) -> float | None:
            return part / whole if whole >= k else None

        def count(value: int) -> int | None:
            return value if value >= k else None

        median = (
            timedelta(
                seconds=statistics.median(
                    (r.first_response_at - r.forwarded_at).total_seconds() for r in answered
                )
            )
            if len(answered) >= k
            else None
        )
        return ComplaintFigures(
            vendor_slug=slug,
            window_days=settings.complaint_figures_window.days,
            min_count=k,
            received=count(len(counted)),
            answered_on_time_share=share(len(on_time), len(counted)),
            median_first_response=median,
            resolved_share=share(sum(1 for r in settled if r.resolved_at), len(settled)),
            substantiated=count(substantiated),
            satisfaction_rate=share(sum(1 for r in ratings if r >= SATISFIED_FROM), len(ratings)),
            ratings=count(len(ratings)),
        )

    # --- shared -----------------------------------------------------------------------------

    def _message_text(self, body: str, *, field: str = "body", required: bool = True) -> str:
        limit = self.ctx.settings.complaint_text_max_chars
        text, problem = checked_text(field, body, limit, required=required)
        if problem is not None:
            raise ComplaintInvalid({field: problem})
        return text

    async def _page(self, conditions: list[Any], offset: int, limit: int) -> Page[Complaint]:
        async with self.ctx.db.read() as session:
            total = await session.scalar(
                select(func.count()).select_from(Complaint).where(*conditions)
            )
            items = (
                await session.execute(
                    select(Complaint)
                    .where(*conditions)
                    .options(selectinload(Complaint.vendor))
                    .order_by(Complaint.created_at.desc(), Complaint.id.desc())
                    .offset(offset)
                    .limit(limit)
                )
            ).scalars()
            return Page(list(items), total or 0, offset, limit)


# --- module-level helpers shared by the service methods ------------------------------------


def _complaint_query(tracking_code: str) -> Select[Complaint]:
    return (
        select(Complaint)
        .where(Complaint.tracking_code == normalise_tracking_code(tracking_code))
        .options(selectinload(Complaint.events), selectinload(Complaint.vendor))
    )


async def _consumer_complaint(session: AsyncSession, tracking_code: str, secret: str) -> Complaint:
    """The complaint if the secret matches; a wrong code and a wrong secret look the same."""
    complaint = (await session.execute(_complaint_query(tracking_code))).scalar_one_or_none()
    presented = hash_token(secret.strip())
    if complaint is None or not hmac.compare_digest(presented, complaint.secret_hash):
        raise ComplaintNotFound(NOT_FOUND, {"secret": NOT_FOUND})
    return complaint


async def _vendor_complaint(session: AsyncSession, caller: Caller, tracking_code: str) -> Complaint:
    """Only the vendor concerned sees it; to anyone else it does not exist."""
    complaint = (await session.execute(_complaint_query(tracking_code))).scalar_one_or_none()
    if complaint is None or caller.vendor_id is None or complaint.vendor_id != caller.vendor_id:
        raise NotFound(f"your vendor has no complaint {normalise_tracking_code(tracking_code)}")
    return complaint


async def _mediator_complaint(
    session: AsyncSession, caller: Caller, tracking_code: str
) -> Complaint:
    """Escalated complaints of the mediator's own association, and complaints awaiting
    triage (an unregistered subject, no vendor yet), which every association's mediators see."""
    complaint = (await session.execute(_complaint_query(tracking_code))).scalar_one_or_none()
    triage = (
        complaint is not None
        and complaint.vendor_id is None
        and complaint.status is ComplaintStatus.SUBMITTED
    )
    if complaint is None or caller.association_id is None:
        raise NotFound(
            f"your association has no escalated complaint {normalise_tracking_code(tracking_code)}"
        )
    own = complaint.association_id == caller.association_id
    linked = (
        complaint.duplicate_of_id is not None
        and complaint.duplicate_joined_at is None
        and complaint.status is not ComplaintStatus.CLOSED
    )
    if not triage and not (own and (complaint.escalated_at is not None or linked)):
        raise NotFound(
            f"your association has no escalated complaint {normalise_tracking_code(tracking_code)}"
        )
    return complaint


def _awaiting_join(caller: Caller) -> ColumnElement[bool]:
    """A duplicate filing against the caller's association that no mediator joined yet."""
    return and_(
        Complaint.association_id == caller.association_id,
        Complaint.duplicate_of_id.is_not(None),
        Complaint.duplicate_joined_at.is_(None),
        Complaint.status != ComplaintStatus.CLOSED,
    )


def _open_states(complaint: Complaint) -> set[ComplaintStatus]:
    return set(VENDOR_OPEN if complaint.vendor_id is not None else {ComplaintStatus.SUBMITTED})


def _require_state(
    complaint: Complaint, allowed: set[ComplaintStatus] | frozenset[ComplaintStatus]
) -> None:
    if complaint.status not in allowed:
        name = STATUS_NAMES[complaint.status.value]
        raise ComplaintStateConflict(
            Text(WRONG_STATE.zh.format(status=name.zh), WRONG_STATE.en.format(status=name.en))
        )


async def _association(session: AsyncSession, slug: str) -> Association:
    association = (
        await session.execute(select(Association).where(Association.slug == slug))
    ).scalar_one_or_none()
    if association is None:
        raise NotFound(f"no association with slug {slug!r}")
    return association
