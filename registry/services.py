"""One way to get a service: requests, jobs and CLI commands all build this container."""

from __future__ import annotations

from registry.accounts.services import AccountService
from registry.audits.services import AuditService
from registry.blacklist.notice import BlacklistNoticeService
from registry.blacklist.services import BlacklistRuleService
from registry.certification.attestations import AttestationService
from registry.certification.catalogue import SchemeService
from registry.certification.services import CertificationService
from registry.complaints.services import ComplaintService
from registry.context import RegistryContext
from registry.federation.services import FederationService
from registry.keys.compromise import KeyCompromiseService
from registry.keys.services import KeyService
from registry.membership.domains import DomainProofService
from registry.membership.services import MembershipService
from registry.notifications.services import NotificationService
from registry.transparency.services import TransparencyLogService


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
        self.complaints = ComplaintService(ctx)
        self.certification = CertificationService(ctx)
        self.schemes = SchemeService(ctx)
        self.attestations = AttestationService(ctx)
        self.audits = AuditService(ctx)
        self.notifications = NotificationService(ctx)
        self.blacklist_rules = BlacklistRuleService(ctx)
        self.blacklist_notice = BlacklistNoticeService(ctx)
