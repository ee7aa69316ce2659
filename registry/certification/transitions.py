"""Applying the state machine to the database: one decision, one row, one log leaf.

Every caller (attestation and audit submission, deadline jobs, admin actions) goes
through `reevaluate` inside its own transaction, so the evidence, the certificate
change, its transparency-log leaf and the vendor's outbox event commit together.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Row, bindparam, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from registry.certification.audit_models import AuditRecord, AuditResult
from registry.certification.events import CertificateTransitioned
from registry.certification.machine import (
    Actor,
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
from registry.certification.schemes import (
    DEFAULT_L3_PERIODS,
    SchemeRules,
    SchemeVersion,
    parse_rules,
)
from registry.certification.status import (
    CertificationState,
    causes_of,
    ordered_causes,
)
from registry.db.base import tagged_row
from registry.events import publish
from registry.kernel.clock import isoformat
from registry.transparency.entries import EntryType
from registry.transparency.services import LogAppender, PendingLeaf

_OPEN_TO_NEW_VERSION = frozenset(
    {CertificationState.APPLIED, CertificationState.EXPIRED, CertificationState.RENEWAL_DUE}
)

# Keyed by the loaded row, not its id: one process may serve several databases (the
# tests do), where the same id names different schemes. The rules are forgotten with the
# row, that is with its session; what outlives a request is a `SchemeVersion`.
_rules_cache: weakref.WeakKeyDictionary[Scheme, SchemeRules] = weakref.WeakKeyDictionary()

AnyScheme = Scheme | SchemeVersion
"""A scheme version as a row of this session or as plain values kept across requests."""


def rules_of(scheme: AnyScheme) -> SchemeRules:
    """The decoded rules of a scheme version (immutable, so cached with its row)."""
    if isinstance(scheme, SchemeVersion):
        return scheme.rules
    rules = _rules_cache.get(scheme)
    if rules is None:
        rules = _rules_cache[scheme] = parse_rules(scheme.document)
    return rules


def frozen_version(scheme: AnyScheme) -> SchemeVersion:
    """The plain values of a loaded scheme row, to keep once its session has ended."""
    if isinstance(scheme, SchemeVersion):
        return scheme
    return SchemeVersion(
        id=scheme.id,
        association_id=scheme.association_id,
        slug=scheme.slug,
        version=scheme.version,
        rules=rules_of(scheme),
    )


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
    reason_lang: str | None = None
    """The language `reason` is written in (an admin's text); None with no reason."""
    decided_by: int | None = None


# Built once: every submission and deadline decision runs these (statement construction
# costs more than SQLite's answer).
_CERTIFICATE_OF = select(Certification).where(Certification.vendor_id == bindparam("vendor_id"))
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
    .subquery()
)
_LATEST_AUDIT = (
    select(AuditRecord.period_end, AuditRecord.result, AuditRecord.next_audit_due)
    .where(AuditRecord.vendor_id == bindparam("vendor_id"))
    .order_by(AuditRecord.period_end.desc(), AuditRecord.id.desc())
    .limit(1)
    .subquery()
)


# What a decision reads, in one statement instead of three: the certificate's columns,
# the last attestations and the latest audit, one row each, told apart by `kind`
# (evidence is decided under the write lock). t1, t2 and t3 are times.
DECISION_LAYOUT = {
    "t1": Certification.certified_since,
    "t2": Certification.valid_until,
    "t3": Certification.audit_due,
    "scheme_id": Certification.scheme_id,
    "state": Certification.state,
    "level": Certification.level,
    "all_met": AttestationRecord.all_met,
    "metrics": AttestationRecord.metrics,
    "result": AuditRecord.result,
    "name": AttestationRecord.envelope_digest,
    "causes": Certification.causes,
}
"""The columns of the decision read after `kind`: callers that read more in the same
statement add branches of their own kind with `tagged_row(DECISION_LAYOUT, …)`."""
DECISION_BRANCHES = (
    tagged_row(
        DECISION_LAYOUT,
        "certificate",
        {
            name: column
            for name, column in DECISION_LAYOUT.items()
            if column.class_ is Certification
        },
    ).where(Certification.vendor_id == bindparam("vendor_id")),
    tagged_row(
        DECISION_LAYOUT,
        "attestation",
        {
            "t1": _LAST_ATTESTATIONS.c.period_start,
            "t2": _LAST_ATTESTATIONS.c.period_end,
            "all_met": _LAST_ATTESTATIONS.c.all_met,
            "metrics": _LAST_ATTESTATIONS.c.metrics,
        },
    ),
    tagged_row(
        DECISION_LAYOUT,
        "audit",
        {
            "t1": _LATEST_AUDIT.c.period_end,
            "t2": _LATEST_AUDIT.c.next_audit_due,
            "result": _LATEST_AUDIT.c.result,
        },
    ),
)
_DECISION_INPUTS = union_all(*DECISION_BRANCHES)


@dataclass(frozen=True, slots=True)
class _CertificateColumns:
    """The columns of a certificate a decision reads."""

    scheme_id: int
    state: CertificationState
    level: int | None
    certified_since: datetime | None
    valid_until: datetime | None
    audit_due: datetime | None
    causes: list[dict[str, Any]] | None


@dataclass(frozen=True)
class DecisionInputs:
    """A certificate (None before the first decision) and the evidence its level depends
    on: the latest audit and at least the last `periods` attestations, or all of them."""

    certificate: _CertificateColumns | None
    facts: Facts
    periods: int

    def with_attestations(self, added: Sequence[AttestationFact]) -> DecisionInputs:
        """The same, after `added` were stored in this transaction."""
        facts = Facts([*self.facts.attestations, *added], self.facts.audits)
        return DecisionInputs(self.certificate, facts, self.periods)


def decision_inputs_of(rows: Iterable[Row[Any]], periods: int) -> DecisionInputs:
    """The inputs in rows of `DECISION_BRANCHES`, read with `periods` attestations; rows
    of the caller's own kinds are skipped."""
    certificate = None
    attestations: list[AttestationFact] = []
    audits: list[AuditFact] = []
    for row in rows:
        if row.kind == "certificate":
            certificate = _CertificateColumns(
                scheme_id=row.scheme_id,
                state=row.state,
                level=row.level,
                certified_since=row.t1,
                valid_until=row.t2,
                audit_due=row.t3,
                causes=row.causes,
            )
        elif row.kind == "attestation":
            attestations.append(AttestationFact(row.t1, row.t2, row.all_met, dict(row.metrics)))
        elif row.kind == "audit":
            audits.append(AuditFact(row.t1, row.result is AuditResult.PASS, row.t2))
    return DecisionInputs(certificate, Facts(attestations=attestations, audits=audits), periods)


async def load_decision_inputs(
    session: AsyncSession, vendor_id: int, periods: int
) -> DecisionInputs:
    """The vendor's certificate and the evidence of its level, with the last `periods`
    attestations, in one statement."""
    rows = (
        await (await session.connection()).execute(
            _DECISION_INPUTS, {"vendor_id": vendor_id, "periods": periods}
        )
    ).all()
    return decision_inputs_of(rows, periods)


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
    @property
    def causes(self) -> list[dict[str, Any]] | None: ...


def _snapshot(row: _CertificateView | None) -> Certificate | None:
    if row is None:
        return None
    return Certificate(
        state=row.state,
        level=row.level,
        certified_since=row.certified_since,
        valid_until=row.valid_until,
        audit_due=row.audit_due,
        causes=frozenset(causes_of(row.causes)),
    )


async def reevaluate(
    session: AsyncSession,
    vendor: VendorRef,
    trigger: Trigger,
    cause: Cause,
    now: datetime,
    *,
    evidence_scheme: AnyScheme | None = None,
    row: Certification | None = None,
    appender: LogAppender | None = None,
    inputs: DecisionInputs | None = None,
    by: Actor | None = None,
) -> CertificationTransition | None:
    """Run the machine for `vendor` and record the transition it decides, if any.

    `by` is who acts (see `machine.decide`): an owner for SUSPEND, REINSTATE and REVOKE;
    by default the evidence or the scheduler. `inputs` are what the caller read in this
    transaction (`DECISION_BRANCHES`), or None to read them here.

    Without `row`, the certificate is read as plain columns and loaded as an ORM object
    only when there is a transition to write: most evidence changes nothing, and the
    ORM load costs more than the rest of the decision.
    """
    if inputs is None:
        # The evidence's scheme usually governs; its number of L3 periods is a guess that
        # is read again in the rare case the governing scheme needs more.
        periods = rules_of(evidence_scheme).l3_periods if evidence_scheme else DEFAULT_L3_PERIODS
        inputs = await load_decision_inputs(session, vendor.id, periods)
    current: _CertificateView | None = inputs.certificate if row is None else row
    scheme = await _governing_scheme(session, current, evidence_scheme)
    if scheme is None:
        return None
    rules = rules_of(scheme)
    facts = inputs.facts
    if rules.l3_periods > inputs.periods and len(facts.attestations) >= inputs.periods:
        facts = (await load_decision_inputs(session, vendor.id, rules.l3_periods)).facts
    decision = decide(_snapshot(current), trigger, rules, facts, now, by=by)
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
    session: AsyncSession, row: _CertificateView | None, evidence_scheme: AnyScheme | None
) -> AnyScheme | None:
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
    scheme: AnyScheme,
    decision: Decision,
    cause: Cause,
    now: datetime,
    appender: LogAppender | None = None,
) -> CertificationTransition:
    """Write the certificate, its transition row and the log leaf, and publish the
    transition (the vendor's webhook is queued by its subscriber).

    The causes raised and cleared (against those in force on `row`) are part of the
    signed leaf; each raised cause is stamped with the leaf's index, which is what a
    cleared cause names later.
    """
    new = decision.certificate
    previous = frozenset(causes_of(row.causes)) if row is not None else frozenset()
    raised = ordered_causes(new.causes - previous)
    cleared = ordered_causes(previous - new.causes)
    from_state = None if row is None else row.state.value
    previous_valid_until = None if row is None else row.valid_until
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
    # Only when some cause moved, so a leaf that moves none reads as it always has.
    if raised:
        body["causes_raised"] = [
            {"kind": c.kind.value, "owner": c.owner, "reason": c.reason, "raised_by": c.raised_by}
            for c in raised
        ]
    if cleared:
        body["causes_cleared"] = [
            {"kind": c.kind.value, "owner": c.owner, "log_index": c.log_index} for c in cleared
        ]
    index = await (appender or LogAppender(session, now)).append(
        PendingLeaf(
            EntryType.CERTIFICATION_TRANSITION, body, vendor_id=vendor.id, vendor_slug=vendor.slug
        )
    )
    row.log_index = index
    stamped = [replace(c, log_index=index) for c in raised]
    if raised or cleared:
        row.causes = [c.to_json() for c in ordered_causes([*(new.causes - set(raised)), *stamped])]
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
        reason_lang=cause.reason_lang if cause.reason else None,
        decided_by=cause.decided_by,
        log_index=index,
        causes_raised=[c.to_json() for c in stamped],
        causes_cleared=[c.to_json() for c in cleared],
    )
    session.add(transition)
    publish(
        session,
        CertificateTransitioned(
            certification_id=row.id,
            vendor_id=vendor.id,
            association_id=scheme.association_id,
            scheme_id=scheme.id,
            from_state=None if from_state is None else CertificationState(from_state),
            to_state=new.state,
            level=new.level,
            previous_valid_until=previous_valid_until,
            valid_until=new.valid_until,
            cause=cause.kind,
            cause_ref=cause.ref,
            log_index=index,
            at=now,
            record=body,
        ),
    )
    return transition
