"""Imports every model module so the metadata is complete (Alembic, `db check`)."""

from registry.accounts.models import ApiToken, LoginChallenge, Principal
from registry.federation.models import Association, FederationKeyRecord
from registry.keys.models import SigningKeyRecord
from registry.membership.models import Vendor, VendorApplication, VendorDomain
from registry.transparency.models import LogCheckpoint, LogEntry, LogHead, LogNode

__all__ = [
    "ApiToken",
    "Association",
    "FederationKeyRecord",
    "LogCheckpoint",
    "LogEntry",
    "LogHead",
    "LogNode",
    "LoginChallenge",
    "Principal",
    "SigningKeyRecord",
    "Vendor",
    "VendorApplication",
    "VendorDomain",
]
