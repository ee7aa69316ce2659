"""The kinds of log entry and the exact leaf bytes each one is hashed from."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from attestations.canonical import canonicalize
from registry.kernel.clock import isoformat

LEAF_FORMAT_VERSION = 1


class EntryType(enum.StrEnum):
    """Every record and decision that enters the log."""

    APPLICATION = "vendor.application"
    APPLICATION_APPROVED = "vendor.application.approved"
    APPLICATION_REJECTED = "vendor.application.rejected"
    KEY_ROTATED = "key.rotated"
    KEY_REVOKED = "key.revoked"
    ATTESTATION = "certification.attestation"
    AUDIT = "certification.audit"
    AUDITOR_ACCREDITED = "auditor.accredited"
    SCHEME_PUBLISHED = "scheme.published"
    CERTIFICATION_TRANSITION = "certification.transition"
    BLACKLIST_DECISION = "blacklist.decision"
    BLACKLIST_RULEBOOK_PUBLISHED = "blacklist.rulebook.published"
    BLACKLIST_TERMS_CHANGED = "blacklist.terms.changed"
    BLACKLIST_COMMITTEE_CHANGED = "blacklist.committee.changed"
    BLACKLIST_CASE_OPENED = "blacklist.case.opened"
    BLACKLIST_CASE_NOTIFIED = "blacklist.case.notified"
    BLACKLIST_CASE_ANSWERED = "blacklist.case.answered"
    BLACKLIST_ANSWER_WINDOW_CLOSED = "blacklist.case.answer_window_closed"
    BLACKLIST_VOTE = "blacklist.case.vote"
    BLACKLIST_RECUSAL = "blacklist.case.recusal"
    BLACKLIST_DEADLINE_EXTENDED = "blacklist.case.deadline_extended"
    BLACKLIST_CASE_LAPSED = "blacklist.case.lapsed"
    BLACKLIST_LISTED = "blacklist.case.listed"
    BLACKLIST_APPEALED = "blacklist.case.appealed"
    BLACKLIST_PANEL_DRAWN = "blacklist.case.panel_drawn"
    BLACKLIST_APPEAL_DECIDED = "blacklist.case.appeal_decided"
    BLACKLIST_REPAIR_APPLIED = "blacklist.case.repair_applied"
    BLACKLIST_REPAIR_DECIDED = "blacklist.case.repair_decided"
    BLACKLIST_LISTING_EXPIRED = "blacklist.case.expired"
    BLACKLIST_LISTING_RETRACTED = "blacklist.case.retracted"
    COMPLAINT_MEDIATED = "complaint.mediated"
    COMPLAINT_SLA_BREACH = "complaint.sla_breach"
    COMPLAINT_ATTACHED = "complaint.attached"
    DOMAIN_VERIFIED = "vendor.domain.verified"
    REPORT_SNAPSHOT = "report.snapshot"
    BLACKLIST_SNAPSHOT = "blacklist.snapshot"


def leaf_bytes(
    entry_type: EntryType,
    body: dict[str, Any],
    *,
    recorded_at: datetime,
    vendor_slug: str | None,
) -> bytes:
    """RFC 8785 JSON of the entry: signed envelopes go in whole, so the signed bytes survive."""
    document: dict[str, Any] = {
        "v": LEAF_FORMAT_VERSION,
        "type": entry_type.value,
        "recorded_at": isoformat(recorded_at),
        "body": body,
    }
    if vendor_slug is not None:
        document["vendor"] = vendor_slug
    return canonicalize(document)
