"""Imports every model module so the metadata is complete (Alembic, `db check`)."""

from registry.accounts.models import ApiToken, LoginChallenge, Principal
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
from registry.scheduling_lease import SchedulerLease
from registry.transparency.models import LogCheckpoint, LogEntry, LogHead, LogNode

__all__ = [
    "ApiToken",
    "Association",
    "AttestationRecord",
    "AuditRecord",
    "Auditor",
    "Certification",
    "CertificationTransition",
    "ClientAction",
    "Complaint",
    "ComplaintEvent",
    "ComplaintSlaPolicy",
    "FederationKeyRecord",
    "LogCheckpoint",
    "LogEntry",
    "LogHead",
    "LogNode",
    "LoginChallenge",
    "OutboxMessage",
    "Principal",
    "SchedulerLease",
    "Scheme",
    "SigningKeyRecord",
    "Vendor",
    "VendorApplication",
    "VendorDomain",
    "WebhookDelivery",
    "WebhookEndpoint",
]
