"""Certificate, transition, scheme and attestation shapes on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from member_api.errors import PROBLEM_TYPE_BASE
from member_api.schemas import PageOut
from registry.certification.attestation_reads import BatchItem, StoredAttestation
from registry.certification.models import AttestationRecord, CertificationTransition, Scheme
from registry.certification.status import (
    AuditSummary,
    PublicCertification,
    SuspensionCause,
    TransitionView,
    causes_of,
)
from registry.certification.verdict import Verdict


class CauseOut(msgspec.Struct):
    """A cause that holds (or held) a certificate, and who alone may lift it.

    `owner` is `association:<id>` (lifted by that association's reinstatement),
    `listing:<id>` (lifted by that listing's decision) or null (an evidence cause:
    `audit_failed`, `criterion_unmet`, `audit_overdue`, cleared by evidence that cures it).
    """

    kind: str
    owner: str | None
    raised_at: datetime
    raised_by: int | None
    reason: str
    log_index: int | None
    """The transition that raised it."""


class CertificationOut(msgspec.Struct):
    """A vendor's certificate as anyone may see it; `certified` fails closed.

    `certified`, `state` and `level` are the verdict at the moment of the answer, the same
    one the badge and the badge token state: a certificate whose validity has ended reads
    `expired` even before the expiry job has recorded it.
    """

    vendor: str
    name_zh: str
    name_en: str
    certified: bool
    state: str | None
    level: int | None
    valid_until: datetime | None
    scheme: str | None
    log_index: int | None
    changed_at: datetime | None
    causes: list[CauseOut]
    """Every cause in force, oldest first; the certificate is held while any is."""
    audit_due: datetime | None = None
    """When the next third-party audit must be in (L2 and L3 certificates only)."""


class TransitionOut(msgspec.Struct):
    """One logged change of a certificate and its cause."""

    at: datetime
    from_state: str | None
    to_state: str
    level: int | None
    cause: str
    reason: str | None
    log_index: int
    causes_raised: list[CauseOut]
    causes_cleared: list[CauseOut]


class AuditSummaryOut(msgspec.Struct):
    """An accepted audit: who, which period, the verdict and the report's digest."""

    auditor: str
    period_start: datetime
    period_end: datetime
    result: str
    report_sha256: str
    next_audit_due: datetime | None
    gap_before: bool
    received_at: datetime
    log_index: int


class ReasonIn(msgspec.Struct, forbid_unknown_fields=True):
    """Why an admin decides as it does; logged with the decision."""

    reason: str
    reason_lang: Literal["zh", "en"] | None = None
    """The language the reason is written in; told from its script when left out."""


class SchemeOut(msgspec.Struct):
    """One published scheme version with its full document."""

    scheme: str
    slug: str
    version: int
    title_zh: str
    title_en: str
    published_at: datetime
    log_index: int | None
    document: dict[str, Any]


class SchemeIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new version of a scheme: criteria, metric thresholds, validity and deadlines."""

    slug: str
    title_zh: str
    title_en: str
    document: dict[str, Any]


class AttestationOut(msgspec.Struct):
    """An accepted attestation."""

    id: int
    scheme: str
    key_id: str
    period_start: datetime
    period_end: datetime
    issued_at: datetime
    all_met: bool
    metrics: dict[str, Any]
    received_at: datetime
    log_index: int
    envelope_digest: str


class AttestationPage(msgspec.Struct):
    """A page of attestations."""

    items: list[AttestationOut]
    page: PageOut


class BatchIn(msgspec.Struct, forbid_unknown_fields=True):
    """Up to 500 DSSE envelopes (as JSON objects); each is accepted or rejected on its own."""

    envelopes: list[dict[str, Any]]


class BatchItemOut(msgspec.Struct, omit_defaults=True):
    """The outcome of one envelope: `accepted`, `duplicate` or `rejected` with a problem."""

    index: int
    status: str
    attestation: AttestationOut | None = None
    problem: dict[str, Any] | None = None


class BatchOut(msgspec.Struct):
    """Every envelope's outcome, in the order sent, and the counts."""

    accepted: int
    duplicates: int
    rejected: int
    items: list[BatchItemOut]


def certification_out(status: PublicCertification, decided: Verdict) -> CertificationOut:
    """Shape the public view as of `decided`, the verdict on it now."""
    return CertificationOut(
        vendor=status.vendor_slug,
        name_zh=status.name_zh,
        name_en=status.name_en,
        certified=decided.certified,
        state=decided.state.value if decided.state else None,
        level=decided.level,
        valid_until=status.valid_until,
        scheme=status.scheme,
        log_index=status.log_index,
        changed_at=status.changed_at,
        causes=[cause_out(c) for c in status.causes],
        audit_due=status.audit_due if decided.certified else None,
    )


def cause_out(cause: SuspensionCause) -> CauseOut:
    """Shape a cause."""
    return CauseOut(
        kind=cause.kind.value,
        owner=cause.owner,
        raised_at=cause.raised_at,
        raised_by=cause.raised_by,
        reason=cause.reason,
        log_index=cause.log_index,
    )


def transition_out(view: TransitionView | CertificationTransition) -> TransitionOut:
    """Shape a transition (a public view or a fresh row)."""
    if isinstance(view, TransitionView):
        cause, raised, cleared = view.cause, view.causes_raised, view.causes_cleared
    else:
        cause = view.cause.value
        raised, cleared = causes_of(view.causes_raised), causes_of(view.causes_cleared)
    return TransitionOut(
        at=view.at,
        from_state=view.from_state,
        to_state=view.to_state,
        level=view.level,
        cause=cause,
        reason=view.reason,
        log_index=view.log_index,
        causes_raised=[cause_out(c) for c in raised],
        causes_cleared=[cause_out(c) for c in cleared],
    )


def audit_summary_out(view: AuditSummary) -> AuditSummaryOut:
    """Shape an audit summary."""
    return AuditSummaryOut(**{f: getattr(view, f) for f in AuditSummaryOut.__struct_fields__})


def scheme_out(scheme: Scheme) -> SchemeOut:
    """Shape a scheme version."""
    return SchemeOut(
        scheme=scheme.label,
        slug=scheme.slug,
        version=scheme.version,
        title_zh=scheme.title_zh,
        title_en=scheme.title_en,
        published_at=scheme.published_at,
        log_index=scheme.log_index,
        document=scheme.document,
    )


def attestation_out(
    record: AttestationRecord | StoredAttestation, scheme_label: str
) -> AttestationOut:
    """Shape an attestation."""
    return AttestationOut(
        id=record.id,
        scheme=scheme_label,
        key_id=record.key_id,
        period_start=record.period_start,
        period_end=record.period_end,
        issued_at=record.issued_at,
        all_met=record.all_met,
        metrics=record.metrics,
        received_at=record.received_at,
        log_index=record.log_index,
        envelope_digest=record.envelope_digest,
    )


def batch_out(items: list[BatchItem]) -> BatchOut:
    """Shape a batch result; rejected items carry an RFC 9457 problem object."""
    shaped: list[BatchItemOut] = []
    for item in items:
        if item.error is not None:
            error = item.error
            problem: dict[str, Any] = {
                "type": PROBLEM_TYPE_BASE + error.code,
                "title": error.title,
                "detail": error.detail,
            }
            if error.fields:
                problem["errors"] = error.fields
            shaped.append(BatchItemOut(index=item.index, status="rejected", problem=problem))
            continue
        assert item.record is not None  # noqa: S101 - no error means a record
        assert item.scheme is not None  # noqa: S101 - every record names its scheme
        shaped.append(
            BatchItemOut(
                index=item.index,
                status="accepted" if item.created else "duplicate",
                attestation=attestation_out(item.record, item.scheme),
            )
        )
    return BatchOut(
        accepted=sum(i.status == "accepted" for i in shaped),
        duplicates=sum(i.status == "duplicate" for i in shaped),
        rejected=sum(i.status == "rejected" for i in shaped),
        items=shaped,
    )
