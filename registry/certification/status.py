"""What the outside world may know about a vendor's certificate.

These frozen views are the contract the public site (badges, vendor pages) and the API
read; they carry no ORM objects, so callers cannot lazy-load or mutate anything. A badge
must fail closed: only `CertificationState.certifies` states read as certified.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class CertificationState(enum.StrEnum):
    """applied → active → renewal_due → expired; active → suspended → active | revoked."""

    APPLIED = "applied"
    ACTIVE = "active"
    RENEWAL_DUE = "renewal_due"
    EXPIRED = "expired"
    SUSPENDED = "suspended"
    REVOKED = "revoked"

    @property
    def certifies(self) -> bool:
        """True only for the states in which the vendor may show itself as certified."""
        return self in {CertificationState.ACTIVE, CertificationState.RENEWAL_DUE}


@dataclass(frozen=True)
class PublicCertification:
    """A member vendor's certificate as anyone may see it."""

    vendor_slug: str
    name_zh: str
    name_en: str
    state: CertificationState | None
    """None: the vendor has no certificate at all."""
    level: int | None
    """1, 2 or 3 while certified."""
    valid_until: datetime | None
    scheme: str | None
    """Scheme and version the certificate was granted under, e.g. `consumer-protection@1`."""
    log_index: int | None
    """Transparency-log index of the latest transition."""
    changed_at: datetime | None

    @property
    def certified(self) -> bool:
        """Fail closed: anything but an active or renewal-due certificate is not certified."""
        return self.state is not None and self.state.certifies


@dataclass(frozen=True)
class TransitionView:
    """One logged change of a certificate's state or level."""

    at: datetime
    from_state: str | None
    to_state: str
    level: int | None
    cause: str
    reason: str | None
    log_index: int


@dataclass(frozen=True)
class AuditSummary:
    """An accepted audit as the public may see it (no report, only its digest)."""

    auditor: str
    period_start: datetime
    period_end: datetime
    result: str
    report_sha256: str
    next_audit_due: datetime | None
    gap_before: bool
    """The audited period does not follow on from the previous audit's period."""
    received_at: datetime
    log_index: int
