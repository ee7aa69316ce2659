"""What the outside world may know about a vendor's certificate.

These frozen views are the contract the public site (badges, vendor pages) and the API
read; they carry no ORM objects, so callers cannot lazy-load or mutate anything. A badge
must fail closed: only `CertificationState.certifies` states read as certified.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Final

WRITTEN_LANGUAGES: Final = ("zh", "en")
"""The languages a person may write a reason in: the two the public site speaks."""


def written_language(text: str) -> str:
    """`zh` when `text` holds any CJK ideograph, else `en`: the script decides, as an admin
    writing Chinese always uses ideographs and English never does."""
    for char in text:
        if unicodedata.east_asian_width(char) == "W" and unicodedata.category(char) == "Lo":
            return "zh"
    return "en"


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
    scheme_title_zh: str | None = None
    scheme_title_en: str | None = None
    audit_due: datetime | None = None
    """When the next third-party audit must be in (L2 and L3 certificates only)."""

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
    reason_lang: str | None = None
    """The language an admin wrote `reason` in; None: the registry's own wording."""


@dataclass(frozen=True)
class AuditSummary:
    """An accepted audit as the public may see it (no report, only its digest)."""

    auditor: str
    """The auditor's slug (the API's identifier); the names below are for people."""
    period_start: datetime
    period_end: datetime
    result: str
    report_sha256: str
    next_audit_due: datetime | None
    gap_before: bool
    """The audited period does not follow on from the previous audit's period."""
    received_at: datetime
    log_index: int
    auditor_name_zh: str = ""
    auditor_name_en: str = ""
