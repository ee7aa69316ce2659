"""The composition root: one way to get a service, and the reactions between aggregates.

Requests, jobs and CLI commands all build `Services`. It is also the only place where
one aggregate's facts reach another: each reaction is a subscriber to a domain event
(`registry.events`), registered here on the database's event bus and run in the
publisher's transaction before it commits (docs/architecture.md, "Events").
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from attestations.keys import SigningKey
from registry.accounts.services import AccountService, revoke_tokens_obtained_with
from registry.accounts.sessions import BrowserSessions
from registry.blacklist.check import BlacklistCheckService
from registry.blacklist.committee import BlacklistCommitteeService
from registry.blacklist.events import (
    CASE_EVENTS,
    LISTING_EVENTS,
    BlacklistChanged,
    HoldAction,
    ListingEvent,
)
from registry.blacklist.identifiers import index_proven_domain
from registry.blacklist.notice import BlacklistNoticeService
from registry.blacklist.public_reads import BlacklistPublicReads
from registry.blacklist.recount import BlacklistRecountService
from registry.blacklist.remedies import BlacklistRemedyService
from registry.blacklist.services import (
    BlacklistRuleService,
    evaluate_member,
    evaluate_nonmember,
)
from registry.blacklist.snapshots import BlacklistSnapshotService, SnapshotTrigger, make_snapshot
from registry.certification.attestations import AttestationService
from registry.certification.audits import AuditService, auditor_principal_for_key
from registry.certification.catalogue import SchemeService
from registry.certification.compromise import KeyCompromiseService
from registry.certification.events import (
    CERTIFICATION_CHANGED_EVENT,
    RENEWAL_REMINDER_EVENT,
    AuditRecorded,
    CertificateTransitioned,
    RenewalReminderDue,
)
from registry.certification.listing_cascade import follow_listing
from registry.certification.machine import Trigger
from registry.certification.services import CertificationService
from registry.complaints.events import (
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintFiled,
    ComplaintFirstResponded,
    ComplaintForwarded,
    ComplaintMediated,
    ComplaintRated,
    ComplaintResolved,
    ComplaintSlaBreached,
    ComplaintSubstantiated,
)
from registry.complaints.forwarding import attach_domain_complaints, attach_waiting_complaints
from registry.complaints.services import ComplaintServices
from registry.context import RegistryContext
from registry.events import EventBus
from registry.federation.services import FederationService
from registry.kernel.clock import isoformat
from registry.keys.events import KeyRevoked
from registry.keys.services import KeyService
from registry.membership.domains import DomainProofService
from registry.membership.events import VendorAdmitted, VendorDomainVerified
from registry.membership.models import Vendor
from registry.membership.services import MembershipService
from registry.notifications.services import NotificationService, enqueue_event
from registry.public_cache import LogWatchedCache
from registry.reports import rollups
from registry.reports.services import ReportService
from registry.reports.snapshots import SnapshotService
from registry.settings import Settings
from registry.transparency.services import TransparencyLogService

MemberFact = ComplaintSubstantiated | AuditRecorded


class Services:
    """Every domain service, sharing one context (settings, database, clock, federation key)."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx
        subscribe_reactions(ctx.db.events, ctx.settings, ctx.federation_key)
        self.accounts = AccountService(ctx, auditor_principal=auditor_principal_for_key)
        self.sessions = BrowserSessions(ctx, self.accounts)
        self.federation = FederationService(ctx)
        self.membership = MembershipService(ctx)
        self.domains = DomainProofService(ctx)
        self.keys = KeyService(ctx)
        self.key_compromise = KeyCompromiseService(ctx)
        self.log = TransparencyLogService(ctx)
        self.complaints = ComplaintServices(ctx)
        self.certification = CertificationService(ctx)
        self.schemes = SchemeService(ctx)
        self.attestations = AttestationService(ctx)
        self.audits = AuditService(ctx)
        self.notifications = NotificationService(ctx)
        self.blacklist_rules = BlacklistRuleService(ctx)
        self.blacklist_notice = BlacklistNoticeService(ctx)
        self.blacklist_committee = BlacklistCommitteeService(ctx)
        self.blacklist_remedies = BlacklistRemedyService(ctx)
        self.blacklist_recount = BlacklistRecountService(ctx)
        self.blacklist_check = BlacklistCheckService(ctx)
        self.blacklist_snapshots = BlacklistSnapshotService(ctx)
        self.blacklist_public = BlacklistPublicReads(ctx)
        self.reports = ReportService(ctx)
        self.report_snapshots = SnapshotService(ctx, self.reports)
        self.public_cache: LogWatchedCache[object] = LogWatchedCache(
            max_entries=ctx.settings.public_cache_max_entries,
            max_age_seconds=ctx.settings.public_cache_max_age.total_seconds(),
        )
        """Public answers memoised per worker until the log moves (badges, pages, the
        blacklist snapshots); the public site's plugin runs the task that empties it."""


def subscribe_reactions(bus: EventBus, settings: Settings, federation_key: SigningKey) -> None:
    """Register every reaction of one aggregate to another's events, in the order they
    run (the table in docs/architecture.md lists them; a test keeps the two in step).

    Registering again under the same names replaces, so building `Services` twice on
    one database (tests, the CLI) does not run a reaction twice.
    """

    async def attach_complaints_on_admission(session: AsyncSession, event: VendorAdmitted) -> None:
        # Complaints filed before it joined reach it now: by credit code, and by any
        # domain it has proven (a claim still pending attaches nothing).
        vendor = await session.get(Vendor, event.vendor_id)
        assert vendor is not None  # noqa: S101 - the event names a row of this transaction
        await attach_waiting_complaints(session, settings, vendor, event.at)

    async def attach_complaints_on_proof(
        session: AsyncSession, event: VendorDomainVerified
    ) -> None:
        # As at admission: complaints reach only an active member.
        if not event.member:
            return
        vendor = await session.get(Vendor, event.vendor_id)
        assert vendor is not None  # noqa: S101 - the event names a row of this transaction
        await attach_domain_complaints(session, settings, vendor, event.domain, event.at)

    async def notify_certificate_change(
        session: AsyncSession, event: CertificateTransitioned
    ) -> None:
        await enqueue_event(
            session,
            vendor_id=event.vendor_id,
            event=CERTIFICATION_CHANGED_EVENT,
            data={**event.record, "log_index": event.log_index},
            now=event.at,
        )

    async def notify_renewal_reminder(session: AsyncSession, event: RenewalReminderDue) -> None:
        await enqueue_event(
            session,
            vendor_id=event.vendor_id,
            event=RENEWAL_REMINDER_EVENT,
            data={
                "valid_until": isoformat(event.valid_until),
                "days_left": event.days_left,
                "scheme": event.scheme_label,
            },
            now=event.at,
        )

    async def withdraw_tokens_of_revoked_key(session: AsyncSession, event: KeyRevoked) -> None:
        await revoke_tokens_obtained_with(session, event.key_id, event.at)

    bus.subscribe(VendorAdmitted, attach_complaints_on_admission, name="complaints.attach_waiting")
    bus.subscribe(VendorDomainVerified, attach_complaints_on_proof, name="complaints.attach_domain")

    async def index_domain_of_listed_vendor(
        session: AsyncSession, event: VendorDomainVerified
    ) -> None:
        # A listed vendor's new domain is checked as listed from the same commit on.
        await index_proven_domain(session, event.vendor_id, event.domain)

    bus.subscribe(
        VendorDomainVerified, index_domain_of_listed_vendor, name="blacklist.index_domain"
    )
    bus.subscribe(KeyRevoked, withdraw_tokens_of_revoked_key, name="accounts.revoke_tokens")
    bus.subscribe(
        CertificateTransitioned, notify_certificate_change, name="notifications.vendor_webhook"
    )
    bus.subscribe(RenewalReminderDue, notify_renewal_reminder, name="notifications.vendor_webhook")

    async def follow_listing_on_certificate(session: AsyncSession, event: ListingEvent) -> None:
        # The listing's own decision, and nothing else, raises, escalates or lifts its hold.
        await follow_listing(
            session,
            listing_id=event.listing_id,
            vendor_id=event.vendor_id,
            trigger=LISTING_TRIGGERS[event.action],
            reason=event.reason,
            principal_id=event.principal_id,
            at=event.at,
        )

    for listing_event in LISTING_EVENTS:
        bus.subscribe(
            listing_event, follow_listing_on_certificate, name="certification.follow_listing"
        )

    async def evaluate_blacklist_rules(session: AsyncSession, event: MemberFact) -> None:
        # A new fact about a member re-evaluates its rules at the fact's own time: a case
        # may open at once, never a listing. The hourly job catches the rest (SLA breaches,
        # which the scan dates at the missed deadline, and rulebooks taking effect).
        if event.vendor_id is not None:
            await evaluate_member(session, settings, event.vendor_id, event.at)
        elif isinstance(event, ComplaintSubstantiated):
            # Upheld in mediation about a subject that is no member (domain, app id,
            # credit code): its governing association's rules, at once.
            await evaluate_nonmember(session, settings, event.complaint_id, event.at)

    async def snapshot_blacklist(session: AsyncSession, event: BlacklistChanged) -> None:
        # Every change to the listings in force is published as a signed snapshot in the
        # change's own transaction (one per transaction however many listings changed).
        await make_snapshot(session, federation_key, settings, event.at, SnapshotTrigger.CHANGE)

    bus.subscribe(BlacklistChanged, snapshot_blacklist, name="blacklist.snapshot")

    bus.subscribe(ComplaintSubstantiated, evaluate_blacklist_rules, name="blacklist.evaluate_rules")
    bus.subscribe(AuditRecorded, evaluate_blacklist_rules, name="blacklist.evaluate_rules")

    for complaint_event in (
        ComplaintFiled,
        ComplaintForwarded,
        ComplaintFirstResponded,
        ComplaintResolved,
        ComplaintRated,
        ComplaintEscalated,
        ComplaintSlaBreached,
        ComplaintMediated,
        ComplaintSubstantiated,
        ComplaintClosed,
    ):
        # Every complaint event: the report rollups follow the complaint (same transaction).
        bus.subscribe(complaint_event, rollups.on_complaint_event, name="reports.complaint_rollup")
    bus.subscribe(
        CertificateTransitioned, rollups.on_certificate_transitioned, name="reports.vendor_rollup"
    )
    bus.subscribe(AuditRecorded, rollups.on_audit_recorded, name="reports.vendor_rollup")
    for case_event in CASE_EVENTS:
        # Every counted case step: the blacklist's own figures follow (same transaction).
        bus.subscribe(case_event, rollups.on_case_event, name="reports.blacklist_rollup")


LISTING_TRIGGERS = {
    HoldAction.SUSPEND: Trigger.SUSPEND,
    HoldAction.REVOKE: Trigger.REVOKE,
    HoldAction.REINSTATE: Trigger.REINSTATE,
}
"""What each listing action is in the certificate's state machine."""
