"""What happens to certificates and their evidence, published for other aggregates.

Published by `registry.certification` (the state machine's decisions, accepted
attestations and audits); subscribers are wired in `registry.services` only. Each event
carries ids and the few values a subscriber needs without reading the rows again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from registry.certification.models import TransitionCause
from registry.certification.status import CertificationState
from registry.events import DomainEvent

__all__ = [
    "CERTIFICATION_CHANGED_EVENT",
    "RENEWAL_REMINDER_EVENT",
    "AttestationAccepted",
    "AuditRecorded",
    "CertificateTransitioned",
    "RenewalReminderDue",
]

CERTIFICATION_CHANGED_EVENT = "certification.changed"
"""The webhook a vendor receives for each `CertificateTransitioned`."""
RENEWAL_REMINDER_EVENT = "certification.renewal_reminder"
"""The webhook a vendor receives for each `RenewalReminderDue`."""

_GRANTABLE_FROM = frozenset({None, CertificationState.APPLIED, CertificationState.EXPIRED})
_CERTIFIED = frozenset({CertificationState.ACTIVE, CertificationState.RENEWAL_DUE})


@dataclass(frozen=True, slots=True)
class CertificateTransitioned(DomainEvent):
    """The state machine moved a vendor's certificate (one logged transition)."""

    certification_id: int
    vendor_id: int
    association_id: int
    """The association whose scheme the certificate is held under."""
    scheme_id: int
    from_state: CertificationState | None
    """None for a vendor's first certificate."""
    to_state: CertificationState
    level: int | None
    previous_valid_until: datetime | None
    valid_until: datetime | None
    cause: TransitionCause
    """What moved it: attestation, audit, deadline, admin or blacklist."""
    cause_ref: str | None
    log_index: int
    at: datetime
    record: dict[str, Any]
    """The decision as its log leaf states it (what the vendor's webhook carries)."""

    @property
    def granted(self) -> bool:
        """A fresh grant: active from no certificate, an application or an expired one."""
        return self.to_state is CertificationState.ACTIVE and self.from_state in _GRANTABLE_FROM

    @property
    def renewed(self) -> bool:
        """A certified certificate stays certified with a later end of validity."""
        return (
            self.to_state is CertificationState.ACTIVE
            and self.from_state in _CERTIFIED
            and self.valid_until is not None
            and self.previous_valid_until is not None
            and self.valid_until > self.previous_valid_until
        )

    @property
    def expired(self) -> bool:
        """Validity ended without renewal."""
        return self.to_state is CertificationState.EXPIRED


@dataclass(frozen=True, slots=True)
class AttestationAccepted(DomainEvent):
    """A vendor's signed self-attestation was stored (one event per accepted envelope,
    also in a batch; a repeat of a stored envelope publishes nothing)."""

    attestation_id: int
    vendor_id: int
    scheme_id: int
    period_start: datetime
    period_end: datetime
    all_met: bool
    log_index: int
    at: datetime


@dataclass(frozen=True, slots=True)
class AuditRecorded(DomainEvent):
    """An accredited auditor's signed result was stored."""

    audit_id: int
    vendor_id: int
    association_id: int
    scheme_id: int
    auditor_id: int
    passed: bool
    major_nonconformities: tuple[str, ...]
    """The criteria the auditor found a major nonconformity in, sorted."""
    period_end: datetime
    log_index: int
    at: datetime


@dataclass(frozen=True, slots=True)
class RenewalReminderDue(DomainEvent):
    """A certified vendor's validity ends within one of its scheme's reminder windows
    (once per window)."""

    certification_id: int
    vendor_id: int
    scheme_label: str
    valid_until: datetime
    days_left: int
    at: datetime
