"""One way to get a service: requests, jobs and CLI commands all build this container."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from registry.accounts.services import AccountService
from registry.audits.services import AuditService
from registry.blacklist.committee import BlacklistCommitteeService
from registry.blacklist.events import LISTING_EVENTS
from registry.blacklist.notice import BlacklistNoticeService
from registry.blacklist.recount import BlacklistRecountService
from registry.blacklist.remedies import BlacklistRemedyService
from registry.blacklist.services import BlacklistRuleService
from registry.certification.attestations import AttestationService
from registry.certification.catalogue import SchemeService
from registry.certification.events import AuditRecorded
from registry.certification.listing_cascade import follow_listing
from registry.certification.services import CertificationService
from registry.complaints.events import ComplaintSubstantiated
from registry.complaints.services import ComplaintServices
from registry.context import RegistryContext
from registry.federation.services import FederationService
from registry.keys.compromise import KeyCompromiseService
from registry.keys.services import KeyService
from registry.membership.domains import DomainProofService
from registry.membership.services import MembershipService
from registry.notifications.services import NotificationService
from registry.transparency.services import TransparencyLogService

MemberFact = ComplaintSubstantiated | AuditRecorded


class Services:
    """Every domain service, sharing one context (settings, database, clock, federation key)."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx
        self.accounts = AccountService(ctx)
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
        _subscribe(ctx)
        self._subscribe_blacklist_rules()

    def _subscribe_blacklist_rules(self) -> None:
        """A new fact about a member (a complaint substantiated, an audit recorded)
        re-evaluates its blacklist rules at the fact's time, in the same transaction: a
        case may open at once, never a listing. The hourly job catches the rest (SLA
        breaches, which the scan dates at the missed deadline, and rules taking effect)."""
        bus = self.ctx.db.events

        async def evaluate(session: AsyncSession, event: MemberFact) -> None:
            if event.vendor_id is not None:
                await self.blacklist_rules.evaluate_member_in(session, event.vendor_id, event.at)

        bus.subscribe(ComplaintSubstantiated, evaluate, name="blacklist.rules.complaint")
        bus.subscribe(AuditRecorded, evaluate, name="blacklist.rules.audit")


def _subscribe(ctx: RegistryContext) -> None:
    """Wire the reactions between aggregates (`registry.events`) on this database's bus."""
    for event_type in LISTING_EVENTS:
        # A listing decided, final or ended moves its vendor's certificate (blacklist cause).
        ctx.db.events.subscribe(event_type, follow_listing, name="certification.follow_listing")
