"""Applying the state machine to the database: one decision, one row, one log leaf.

Every caller (attestation and audit submission, deadline jobs, admin actions) goes
through `reevaluate` inside its own transaction, so the evidence, the certificate
change, its transparency-log leaf and the vendor's outbox event commit together.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.audits.models import AuditRecord, AuditResult
from registry.certification.machine import (
    AttestationFact,
    AuditFact,
    Certificate,
    Decision,
    Facts,
    Trigger,
    decide,
)
from registry.certification.models import (
    AttestationRecord,
    Certification,
    CertificationTransition,
    Scheme,
    TransitionCause,
)
from registry.certification.schemes import SchemeRules, parse_rules
from registry.certification.status import CertificationState
from registry.clock import isoformat
from registry.notifications.services import enqueue_event
from registry.transparency.entries import EntryType
from registry.transparency.services import LogAppender, PendingLeaf

CERTIFICATION_CHANGED_EVENT = "certification.changed"
_OPEN_TO_NEW_VERSION = frozenset(
    {CertificationState.APPLIED, CertificationState.EXPIRED, CertificationState.RENEWAL_DUE}
)

# Keyed by the loaded row, not its id: one process may serve several databases (the
# tests do), where the same id names different schemes. Rows kept by a service's scheme
# cache keep their rules; others are forgotten with the row.
_rules_cache: weakref.WeakKeyDictionary[Scheme, SchemeRules] = weakref.WeakKeyDictionary()


def rules_of(scheme: Scheme) -> SchemeRules:
    """The decoded rules of a scheme version (immutable, so cached with its row)."""
    rules = _rules_cache.get(scheme)
    if rules is None:
        rules = _rules_cache[scheme] = parse_rules(scheme.document)
    return rules


class VendorRef(Protocol):
    """What a decision needs of the vendor: a `Vendor` row or a lighter stand-in."""

    @property
    def id(self) -> int:
        """The vendor's primary key."""

    @property
    def slug(self) -> str:
        """The vendor's slug, named in log leaves."""


@dataclass(frozen=True)
class Cause:
    """What moved the certificate, for the transition row and the log leaf."""

    kind: TransitionCause
    ref: str | None = None
    reason: str | None = None
    decided_by: int | None = None


# Built once: every submission and deadline decision runs these (statement construction
# costs more than SQLite's answer).
_CERTIFICATE_OF = select(Certification).where(Certification.vendor_id == bindparam("vendor_id"))
_CERTIFICATE_COLUMNS = select(
    Certification.scheme_id,
    Certification.state,
    Certification.level,
    Certification.certified_since,
    Certification.valid_until,
    Certification.audit_due,
).where(Certification.vendor_id == bindparam("vendor_id"))
_LAST_ATTESTATIONS = (
    select(
        AttestationRecord.period_start,
        AttestationRecord.period_end,
        AttestationRecord.all_met,
        AttestationRecord.metrics,
    )
    .where(AttestationRecord.vendor_id == bindparam("vendor_id"))
    .order_by(AttestationRecord.period_end.desc())
    .limit(bindparam("periods"))
)
_LATEST_AUDIT = (
    select(AuditRecord.period_end, AuditRecord.result, AuditRecord.next_audit_due)
    .where(AuditRecord.vendor_id == bindparam("vendor_id"))
    .order_by(AuditRecord.period_end.desc(), AuditRecord.id.desc())
    .limit(1)
)


async def load_facts(session: AsyncSession, vendor_id: int, rules: SchemeRules) -> Facts:
    """The evidence the level depends on: the last attestations and the latest audit."""
    connection = await session.connection()
    attestations = (
        await connection.execute(
            _LAST_ATTESTATIONS, {"vendor_id": vendor_id, "periods": rules.l3_periods}
        )
    ).all()
    audit = (await connection.execute(_LATEST_AUDIT, {"vendor_id": vendor_id})).one_or_none()
    return Facts(
        attestations=[AttestationFact(s, e, met, dict(m)) for s, e, met, m in attestations],
        audits=[]
        if audit is None
        else [AuditFact(audit[0], audit[1] is AuditResult.PASS, audit[2])],
    )


class _CertificateView(Protocol):
    """The columns a decision reads: a `Certification` row or a Core row of them."""

    @property
    def scheme_id(self) -> int: ...
    @property
    def state(self) -> CertificationState: ...
    @property
    def level(self) -> int | None: ...
    @property
    def certified_since(self) -> datetime | None: ...
    @property
    def valid_until(self) -> datetime | None: ...
    @property
    def audit_due(self) -> datetime | None: ...


def _snapshot(row: _CertificateView | None) -> Certificate | None:
    if row is None:
        return None
    return Certificate(
        state=row.state,
        level=row.level,
        certified_since=row.certified_since,
        valid_until=row.valid_until,
        audit_due=row.audit_due,
    )


async def reevaluate(
    session: AsyncSession,
    vendor: VendorRef,
    trigger: Trigger,
    cause: Cause,
    now: datetime,
    *,
    evidence_scheme: Scheme | None = None,
    row: Certification | None = None,
    appender: LogAppender | None = None,
) -> CertificationTransition | None:
    """Run the machine for `vendor` and record the transition it decides, if any.

    Without `row`, the certificate is read as plain columns and loaded as an ORM object
    only when there is a transition to write: most evidence changes nothing, and the
    ORM load costs more than the rest of the decision.
    """
    current: _CertificateView | None = row
    if row is None:
        current = (
            await (await session.connection()).execute(
                _CERTIFICATE_COLUMNS, {"vendor_id": vendor.id}
            )
        ).one_or_none()
    scheme = await _governing_scheme(session, current, evidence_scheme)
    if scheme is None:
        return None
    rules = rules_of(scheme)
    facts = await load_facts(session, vendor.id, rules)
    decision = decide(_snapshot(current), trigger, rules, facts, now)
    if decision is None:
        return None
    if row is None and current is not None:
        row = (await session.execute(_CERTIFICATE_OF, {"vendor_id": vendor.id})).scalar_one()
    return await record_decision(
        session,
        vendor,
        row,
        scheme=scheme,
        decision=decision,
        cause=cause,
        now=now,
        appender=appender,
    )


async def _governing_scheme(
    session: AsyncSession, row: _CertificateView | None, evidence_scheme: Scheme | None
) -> Scheme | None:
    """The scheme version the decision is made under.

    A certificate stays under the version it was granted under; evidence under a newer
    version only takes over where a new grant or a renewal starts (applied, expired,
    renewal_due), so publishing a version never changes an existing grant.
    """
    if row is None:
        return evidence_scheme
    if evidence_scheme is not None and evidence_scheme.id == row.scheme_id:
        return evidence_scheme
    granted = await session.get(Scheme, row.scheme_id)
    assert granted is not None  # noqa: S101 - foreign key
    if (
        evidence_scheme is not None
        and evidence_scheme.slug == granted.slug
        and evidence_scheme.version > granted.version
        and row.state in _OPEN_TO_NEW_VERSION
    ):
        return evidence_scheme
    return granted


async def record_decision(
    session: AsyncSession,
    vendor: VendorRef,
    row: Certification | None,
    *,
    scheme: Scheme,
    decision: Decision,
    cause: Cause,
    now: datetime,
    appender: LogAppender | None = None,
) -> CertificationTransition:
    """Write the certificate, its transition row, the log leaf and the outbox event."""
    new = decision.certificate
    from_state = None if row is None else row.state.value
    if row is None:
        row = Certification(
            vendor_id=vendor.id,
            created_at=now,
            changed_at=now,
            scheme_id=scheme.id,
            state=new.state,
        )
        session.add(row)
    if new.valid_until != row.valid_until:
        row.reminded_days = None
    row.scheme_id = scheme.id
    row.state = new.state
    row.level = new.level
    row.certified_since = new.certified_since
    row.valid_until = new.valid_until
    row.audit_due = new.audit_due
    row.changed_at = now
    await session.flush()
    reason = cause.reason or decision.reason
    body: dict[str, Any] = {
        "vendor": vendor.slug,
        "scheme": scheme.label,
        "from": from_state,
        "to": new.state.value,
        "level": new.level,
        "valid_until": isoformat(new.valid_until) if new.valid_until else None,
        "cause": cause.kind.value,
        "cause_ref": cause.ref,
        "reason": reason,
    }
    if cause.decided_by is not None:
        body["decided_by"] = cause.decided_by
    index = await (appender or LogAppender(session, now)).append(
        PendingLeaf(
            EntryType.CERTIFICATION_TRANSITION, body, vendor_id=vendor.id, vendor_slug=vendor.slug
        )
    )
    row.log_index = index
    transition = CertificationTransition(
        certification_id=row.id,
        vendor_id=vendor.id,
        at=now,
        from_state=from_state,
        to_state=new.state.value,
        level=new.level,
        valid_until=new.valid_until,
        cause=cause.kind,
        cause_ref=cause.ref,
        reason=reason,
        decided_by=cause.decided_by,
        log_index=index,
    )
    session.add(transition)
    await enqueue_event(
        session,
        vendor_id=vendor.id,
        event=CERTIFICATION_CHANGED_EVENT,
        data={**body, "log_index": index},
        now=now,
    )
    return transition
