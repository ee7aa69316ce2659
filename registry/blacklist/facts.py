"""Reading the facts rules test: complaints, audits and attestations, as they stood at an
instant. A read of other aggregates' tables, never a write; evaluation and replay share it.

"As they stood at `at`" means: only what was recorded by then counts — a complaint
substantiated, an audit or attestation received, a log leaf written at or before `at`.
Replaying a case at its `evaluated_at` therefore reads the same facts, later changes
notwithstanding (one exception: a consumer who erases the contact after the case opened
makes that complaint's complainant unknown, which `replay` reports).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.accounts.models import Principal
from registry.blacklist.rules import (
    AttestationFact,
    AuditFact,
    ComplaintFact,
    Subject,
    SubjectFacts,
)
from registry.blacklist.states import SubjectKind
from registry.certification.audit_models import AuditRecord
from registry.certification.models import AttestationRecord
from registry.complaints.models import (
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    MediationOutcome,
)
from registry.complaints.models import SubjectKind as ComplaintSubjectKind
from registry.federation.models import Association
from registry.kernel.members import VendorStatus
from registry.membership.models import Vendor
from registry.transparency.entries import EntryType
from registry.transparency.models import LogEntry

_COMPLAINT_LEAVES = (EntryType.COMPLAINT_MEDIATED.value, EntryType.COMPLAINT_SLA_BREACH.value)


@dataclass(frozen=True)
class MemberSubject:
    """A member vendor as a subject: governed by its own association."""

    vendor_id: int
    slug: str
    association_id: int


@dataclass(frozen=True)
class Governance:
    """Which association governs a non-member subject, and why."""

    association_id: int
    basis: str


def _mediated_at() -> Any:
    """When each complaint was mediated (one row per mediated complaint)."""
    return (
        select(
            ComplaintEvent.complaint_id.label("complaint_id"),
            func.min(ComplaintEvent.created_at).label("mediated_at"),
        )
        .where(ComplaintEvent.to_status == ComplaintStatus.MEDIATED)
        .group_by(ComplaintEvent.complaint_id)
        .subquery()
    )


def _subject_condition(subject: Subject, vendor_id: int | None) -> ColumnElement[bool]:
    if vendor_id is not None:
        return Complaint.vendor_id == vendor_id
    return and_(
        Complaint.vendor_id.is_(None),
        Complaint.subject_kind == ComplaintSubjectKind(subject.kind.value),
        Complaint.subject_value == subject.value,
    )


async def member_subjects(session: AsyncSession) -> list[MemberSubject]:
    """Every active member vendor, in id order."""
    rows = await session.execute(
        select(Vendor.id, Vendor.slug, Vendor.association_id)
        .where(Vendor.status == VendorStatus.ACTIVE)
        .order_by(Vendor.id)
    )
    return [MemberSubject(*row) for row in rows]


async def member_subject(session: AsyncSession, vendor_id: int) -> MemberSubject | None:
    """One vendor as a subject, if it is an active member."""
    row = (
        await session.execute(
            select(Vendor.id, Vendor.slug, Vendor.association_id).where(
                Vendor.id == vendor_id, Vendor.status == VendorStatus.ACTIVE
            )
        )
    ).one_or_none()
    return MemberSubject(*row) if row is not None else None


async def nonmember_subjects(session: AsyncSession, since: datetime) -> list[Subject]:
    """Unregistered subjects complaints named that may have facts in the window: any
    complaint without a vendor that was filed, taken up for mediation or settled after
    `since`."""
    rows = await session.execute(
        select(Complaint.subject_kind, Complaint.subject_value)
        .where(
            Complaint.vendor_id.is_(None),
            Complaint.subject_kind != ComplaintSubjectKind.VENDOR,
            or_(
                Complaint.created_at > since,
                Complaint.escalated_at > since,
                Complaint.resolved_at > since,
            ),
        )
        .distinct()
        .order_by(Complaint.subject_kind, Complaint.subject_value)
    )
    return [Subject(SubjectKind(kind.value), value) for kind, value in rows]


async def governing_association(session: AsyncSession, subject: Subject) -> Governance:
    """The association that governs a non-member subject's cases (documented in the
    README, "Blacklist"): the one whose mediators decided most of the subject's
    complaints, the earliest decision breaking a tie; with none, the first association."""
    mediated = await session.execute(
        select(
            Principal.association_id,
            func.count().label("decided"),
            func.min(ComplaintEvent.created_at).label("first"),
        )
        .join(Complaint, Complaint.id == ComplaintEvent.complaint_id)
        .join(Principal, Principal.id == ComplaintEvent.actor_principal_id)
        .where(
            _subject_condition(subject, None),
            ComplaintEvent.to_status == ComplaintStatus.MEDIATED,
            Principal.association_id.is_not(None),
        )
        .group_by(Principal.association_id)
    )
    ranked = sorted(mediated, key=lambda row: (-row.decided, row.first, row.association_id))
    if ranked:
        return Governance(ranked[0].association_id, "mediating_association")
    first = await session.scalar(select(func.min(Association.id)))
    if first is None:
        raise LookupError("no association exists to govern a case")
    return Governance(first, "default_association")


async def load_facts(
    session: AsyncSession,
    subject: Subject,
    vendor_id: int | None,
    *,
    since: datetime,
    at: datetime,
) -> SubjectFacts:
    """The facts about `subject` recorded by `at` that a window starting at `since` may
    count (rules filter precisely; this bounds what is read)."""
    complaints = await _complaints(session, subject, vendor_id, since, at)
    if vendor_id is None:
        return SubjectFacts(subject, complaints)
    audits = await _audits(session, vendor_id, since, at)
    attestations = await _attestations(session, vendor_id, audits, at)
    return SubjectFacts(subject, complaints, audits, attestations)


async def _complaints(
    session: AsyncSession, subject: Subject, vendor_id: int | None, since: datetime, at: datetime
) -> list[ComplaintFact]:
    mediated = _mediated_at()
    rows = (
        await session.execute(
            select(
                Complaint.tracking_code,
                Complaint.category,
                Complaint.created_at,
                Complaint.substantiated,
                Complaint.mediation_outcome,
                Complaint.resolved_at,
                Complaint.contact_fingerprint,
                Complaint.first_response_due_at,
                Complaint.first_response_at,
                mediated.c.mediated_at,
            )
            .outerjoin(mediated, mediated.c.complaint_id == Complaint.id)
            .where(
                _subject_condition(subject, vendor_id),
                Complaint.created_at <= at,
                or_(
                    Complaint.resolved_at > since,
                    mediated.c.mediated_at > since,
                    Complaint.first_response_due_at > since,
                ),
            )
            .order_by(Complaint.id)
        )
    ).all()
    leaves = await _complaint_leaves(session, vendor_id, since, at)
    facts = []
    for row in rows:
        mediated_at = row.mediated_at if row.mediated_at and row.mediated_at <= at else None
        substantiated_at = None
        if row.substantiated:
            substantiated_at = mediated_at if row.mediation_outcome is not None else row.resolved_at
        if substantiated_at is not None and substantiated_at > at:
            substantiated_at = None
        upheld = row.mediation_outcome is MediationOutcome.UPHELD
        facts.append(
            ComplaintFact(
                tracking_code=row.tracking_code,
                category=row.category.value,
                filed_at=row.created_at,
                substantiated_at=substantiated_at,
                upheld_at=mediated_at if upheld else None,
                complainant=row.contact_fingerprint,
                first_response_due_at=row.first_response_due_at,
                first_response_at=row.first_response_at,
                mediation_log_index=leaves.get((EntryType.COMPLAINT_MEDIATED, row.tracking_code)),
                breach_log_index=leaves.get((EntryType.COMPLAINT_SLA_BREACH, row.tracking_code)),
            )
        )
    return facts


async def _complaint_leaves(
    session: AsyncSession, vendor_id: int | None, since: datetime, at: datetime
) -> dict[tuple[EntryType, str], int]:
    """(entry type, tracking code) → index of the mediation and SLA-breach leaves written
    between `since` and `at` about the vendor (or about no vendor)."""
    owner = (
        LogEntry.vendor_id == vendor_id if vendor_id is not None else LogEntry.vendor_id.is_(None)
    )
    rows = await session.execute(
        select(LogEntry.index, LogEntry.entry_type, LogEntry.leaf)
        .where(
            owner,
            LogEntry.entry_type.in_(_COMPLAINT_LEAVES),
            LogEntry.created_at > since,
            LogEntry.created_at <= at,
        )
        .order_by(LogEntry.index)
    )
    found: dict[tuple[EntryType, str], int] = {}
    for index, entry_type, leaf in rows:
        code = json.loads(leaf)["body"].get("tracking_code")
        if isinstance(code, str):
            found.setdefault((EntryType(entry_type), code), index)
    return found


async def _audits(
    session: AsyncSession, vendor_id: int, since: datetime, at: datetime
) -> list[AuditFact]:
    rows = await session.execute(
        select(
            AuditRecord.id,
            AuditRecord.period_start,
            AuditRecord.period_end,
            AuditRecord.received_at,
            AuditRecord.outcomes,
            AuditRecord.log_index,
        )
        .where(
            AuditRecord.vendor_id == vendor_id,
            AuditRecord.received_at > since,
            AuditRecord.received_at <= at,
        )
        .order_by(AuditRecord.id)
    )
    return [
        AuditFact(id_, start, end, received, dict(outcomes), log_index)
        for id_, start, end, received, outcomes, log_index in rows
    ]


async def _attestations(
    session: AsyncSession, vendor_id: int, audits: Sequence[AuditFact], at: datetime
) -> list[AttestationFact]:
    """The attestations whose period overlaps an audit that found a major nonconformity,
    with the criteria each claimed met (read from the envelope in its log leaf)."""
    failing = [a for a in audits if "major_nonconformity" in a.outcomes.values()]
    if not failing:
        return []
    earliest = min(a.period_start for a in failing)
    latest = max(a.period_end for a in failing)
    rows = await session.execute(
        select(
            AttestationRecord.id,
            AttestationRecord.period_start,
            AttestationRecord.period_end,
            AttestationRecord.received_at,
            LogEntry.leaf,
            AttestationRecord.log_index,
        )
        .join(LogEntry, LogEntry.index == AttestationRecord.log_index)
        .where(
            AttestationRecord.vendor_id == vendor_id,
            AttestationRecord.received_at <= at,
            AttestationRecord.period_end > earliest,
            AttestationRecord.period_start < latest,
        )
        .order_by(AttestationRecord.id)
    )
    return [
        AttestationFact(id_, start, end, received, _criteria_met(leaf), log_index)
        for id_, start, end, received, leaf, log_index in rows
    ]


def _criteria_met(leaf: bytes) -> frozenset[str]:
    """The criteria an attestation leaf's signed statement claims met."""
    envelope = json.loads(leaf)["body"]["envelope"]
    statement = json.loads(base64.b64decode(envelope["payload"]))
    criteria: dict[str, Any] = statement.get("predicate", {}).get("criteria", {})
    return frozenset(cid for cid, claim in criteria.items() if claim.get("met") is True)
