"""What the outside world may know about a vendor's certificate.

These frozen views are the contract the public site (badges, vendor pages) and the API
read; they carry no ORM objects, so callers cannot lazy-load or mutate anything. Whether
a certificate may be called certified depends on the moment too, so it is not a property
of these views: every face asks `verdict.verdict(view, now)`.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from registry.kernel.clock import isoformat, parse_iso

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


class CauseKind(enum.StrEnum):
    """Why a certificate is held, and so who alone may lift the hold.

    An association's decision and a blacklist listing are lifted only by their owner
    (that association's admins; the listing's own decision). The evidence kinds are
    cleared only by evidence that cures them: fresh evidence never lifts a decision.
    """

    ADMIN = "admin"
    BLACKLIST = "blacklist"
    AUDIT_FAILED = "audit_failed"
    CRITERION_UNMET = "criterion_unmet"
    AUDIT_OVERDUE = "audit_overdue"

    @property
    def evidence(self) -> bool:
        """True for the kinds that evidence raises and cures."""
        return self not in {CauseKind.ADMIN, CauseKind.BLACKLIST}


@dataclass(frozen=True)
class SuspensionCause:
    """One cause in force on a certificate; it stays until its owner lifts it.

    `owner` names who may lift it: `association:<id>` for an admin decision,
    `listing:<id>` for a blacklist listing, None for evidence causes (only curing
    evidence clears them). `log_index` is the transition that raised it (None until that
    transition is logged).
    """

    kind: CauseKind
    owner: str | None
    raised_at: datetime
    raised_by: int | None
    """The principal who decided it; None for causes raised by evidence or a deadline."""
    reason: str
    log_index: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The cause as stored on the certificate and written into transition records."""
        return {
            "kind": self.kind.value,
            "owner": self.owner,
            "raised_at": isoformat(self.raised_at),
            "raised_by": self.raised_by,
            "reason": self.reason,
            "log_index": self.log_index,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SuspensionCause:
        """The inverse of `to_json`."""
        return cls(
            kind=CauseKind(data["kind"]),
            owner=data["owner"],
            raised_at=parse_iso(data["raised_at"]),
            raised_by=data["raised_by"],
            reason=data["reason"],
            log_index=data["log_index"],
        )


def causes_of(stored: Iterable[dict[str, Any]] | None) -> tuple[SuspensionCause, ...]:
    """Stored causes, oldest first (None: a row written before causes were kept)."""
    return ordered_causes(SuspensionCause.from_json(c) for c in stored or ())


def ordered_causes(causes: Iterable[SuspensionCause]) -> tuple[SuspensionCause, ...]:
    """Causes oldest first (then by kind and owner), the order every view shows."""
    return tuple(sorted(causes, key=lambda c: (c.raised_at, c.kind.value, c.owner or "")))


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
    causes: tuple[SuspensionCause, ...] = ()
    """Every cause in force, oldest first: the certificate is held while any is."""
    scheme_title_zh: str | None = None
    scheme_title_en: str | None = None
    audit_due: datetime | None = None
    """When the next third-party audit must be in (L2 and L3 certificates only)."""


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
    causes_raised: tuple[SuspensionCause, ...] = ()
    causes_cleared: tuple[SuspensionCause, ...] = ()
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
