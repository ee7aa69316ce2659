"""Imports every model module so the metadata is complete (Alembic, `db check`)."""

from registry.accounts.models import ApiToken, LoginChallenge, Principal
from registry.blacklist.models import (
    Appeal,
    BlacklistCase,
    BlacklistChange,
    BlacklistIdentifier,
    BlacklistIdentifierHead,
    BlacklistRule,
    BlacklistSnapshot,
    BlacklistTerms,
    CaseAnswer,
    CaseStep,
    CommitteeMember,
    Listing,
    Recusal,
    Repair,
    Rulebook,
    Vote,
)
from registry.certification.audit_models import Auditor, AuditRecord
from registry.certification.models import (
    AttestationRecord,
    Certification,
    CertificationTransition,
    Scheme,
)
from registry.complaints.models import Complaint, ComplaintEvent, ComplaintSlaPolicy
from registry.federation.models import Association, FederationKeyRecord
from registry.keys.models import SigningKeyRecord
from registry.membership.models import Vendor, VendorApplication, VendorDomain
from registry.notifications.models import OutboxMessage, WebhookDelivery, WebhookEndpoint
from registry.rate_limits import ClientAction
from registry.reports.models import (
    ComplaintFact,
    ComplaintRollup,
    PartnerScope,
    ReportAccess,
    ReportSnapshot,
    VendorRollup,
)
from registry.scheduling_lease import SchedulerLease
from registry.transparency.models import LogCheckpoint, LogEntry, LogHead, LogNode

__all__ = [
    "ApiToken",
    "Appeal",
    "Association",
    "AttestationRecord",
    "AuditRecord",
    "Auditor",
    "BlacklistCase",
    "BlacklistChange",
    "BlacklistIdentifier",
    "BlacklistIdentifierHead",
    "BlacklistRule",
    "BlacklistSnapshot",
    "BlacklistTerms",
    "CaseAnswer",
    "CaseStep",
    "Certification",
    "CertificationTransition",
    "ClientAction",
    "CommitteeMember",
    "Complaint",
    "ComplaintEvent",
    "ComplaintFact",
    "ComplaintRollup",
    "ComplaintSlaPolicy",
    "FederationKeyRecord",
    "Listing",
    "LogCheckpoint",
    "LogEntry",
    "LogHead",
    "LogNode",
    "LoginChallenge",
    "OutboxMessage",
    "PartnerScope",
    "Principal",
    "Recusal",
    "Repair",
    "ReportAccess",
    "ReportSnapshot",
    "Rulebook",
    "SchedulerLease",
    "Scheme",
    "SigningKeyRecord",
    "Vendor",
    "VendorApplication",
    "VendorDomain",
    "VendorRollup",
    "Vote",
    "WebhookDelivery",
    "WebhookEndpoint",
]
