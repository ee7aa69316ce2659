"""What a vendor or an auditor signs: attestation and audit-result envelopes.

The CLI (`registry attest`, `registry audit submit`), the demo loader, the bench and the
tests all build envelopes here, so the documented statements are the tested ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from attestations.envelope import Envelope, sign_envelope
from attestations.keys import SigningKey
from attestations.statement import Subject, make_statement
from registry.certification.schemes import DEFAULT_SCHEME_DOCUMENT, DEFAULT_SCHEME_SLUG
from registry.kernel.clock import isoformat
from registry.kernel.predicates import ATTESTATION_PREDICATE, AUDIT_PREDICATE

DEFAULT_SCHEME_LABEL = f"{DEFAULT_SCHEME_SLUG}@1"
DEFAULT_CRITERIA: tuple[str, ...] = tuple(c["id"] for c in DEFAULT_SCHEME_DOCUMENT["criteria"])
GOOD_METRICS: Mapping[str, float] = {
    "median_first_response_hours": 6.0,
    "answered_within_24h_share": 0.97,
    "satisfaction_rate": 0.91,
    "security_incidents": 0,
    "training_completion": 0.98,
}
"""Figures within every threshold of the default scheme (what an L3 vendor reports)."""


def _subject(kind: str, name: str) -> Subject:
    return Subject(
        name=f"{kind}:{name}", digest={"sha256": hashlib.sha256(name.encode()).hexdigest()}
    )


def attestation_envelope(
    key: SigningKey,
    *,
    vendor: str,
    period: tuple[datetime, datetime],
    issued_at: datetime,
    scheme: str = DEFAULT_SCHEME_LABEL,
    unmet: tuple[str, ...] = (),
    metrics: Mapping[str, float] | None = None,
    criteria: tuple[str, ...] = DEFAULT_CRITERIA,
    evidence_base_url: str = "https://evidence.example",
) -> Envelope:
    """A signed self-regulation attestation: every criterion met except `unmet`."""
    predicate: dict[str, Any] = {
        "vendor": vendor,
        "scheme": scheme,
        "period_start": isoformat(period[0]),
        "period_end": isoformat(period[1]),
        "issued_at": isoformat(issued_at),
        "criteria": {
            cid: {"met": cid not in unmet, "evidence_url": f"{evidence_base_url}/{vendor}/{cid}"}
            for cid in criteria
        },
        "metrics": dict(GOOD_METRICS if metrics is None else metrics),
    }
    statement = make_statement([_subject("vendor", vendor)], ATTESTATION_PREDICATE, predicate)
    return sign_envelope(statement.to_bytes(), [key])


def audit_envelope(
    key: SigningKey,
    *,
    auditor: str,
    vendor: str,
    period: tuple[datetime, datetime],
    issued_at: datetime,
    report: bytes,
    passed: bool = True,
    next_audit_due: datetime | None = None,
    scheme: str = DEFAULT_SCHEME_LABEL,
    outcomes: Mapping[str, str] | None = None,
    metrics: Mapping[str, float] | None = None,
) -> Envelope:
    """A signed audit result; the full report stays with the auditor, only its SHA-256 goes."""
    if outcomes is None:
        verdict = "conformity" if passed else "major_nonconformity"
        outcomes = dict.fromkeys(DEFAULT_CRITERIA, "conformity") | {DEFAULT_CRITERIA[0]: verdict}
    predicate: dict[str, Any] = {
        "auditor": auditor,
        "vendor": vendor,
        "scheme": scheme,
        "period_start": isoformat(period[0]),
        "period_end": isoformat(period[1]),
        "issued_at": isoformat(issued_at),
        "outcomes": dict(outcomes),
        "result": "pass" if passed else "fail",
        "report_sha256": hashlib.sha256(report).hexdigest(),
        "metrics": dict(GOOD_METRICS if metrics is None else metrics),
    }
    if next_audit_due is not None:
        predicate["next_audit_due"] = isoformat(next_audit_due)
    statement = make_statement([_subject("vendor", vendor)], AUDIT_PREDICATE, predicate)
    return sign_envelope(statement.to_bytes(), [key])
