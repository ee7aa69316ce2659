"""The certificate state machine as pure functions: facts and a time in, a decision out.

applied → active → renewal_due → expired; active | renewal_due → suspended → active |
revoked. Level: L1 = the latest attestation claims every criterion met; L2 = L1 and a
passing audit that is not overdue; L3 = L2 and the last `l3_periods` attestations, for
consecutive periods, all meeting every criterion with figures within the scheme's
thresholds. Nothing here reads a database or a clock, so every rule is unit- and
property-tested directly.

A certificate remembers every cause that holds it (`SuspensionCause`), and it is
suspended exactly while one is in force. Each cause has an owner, and no transition
removes a cause its actor does not own: an association's suspension is lifted only by
that association's admins, a blacklist listing only by its own decision, and evidence
causes (a failed audit, an unmet criterion, an overdue audit) only by evidence that
cures them. So a vendor cannot submit its way out of a decision taken about it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import pairwise

from registry.certification.schemes import SchemeRules
from registry.certification.status import CauseKind, SuspensionCause
from registry.certification.status import CertificationState as S

# Every move the machine may make; the property tests check decisions stay inside it.
ALLOWED: frozenset[tuple[S | None, S]] = frozenset(
    {
        (None, S.APPLIED),
        (None, S.ACTIVE),
        (S.APPLIED, S.ACTIVE),
        (S.ACTIVE, S.ACTIVE),  # level change or renewal
        (S.ACTIVE, S.RENEWAL_DUE),
        (S.ACTIVE, S.SUSPENDED),
        (S.ACTIVE, S.EXPIRED),
        (S.RENEWAL_DUE, S.ACTIVE),
        (S.RENEWAL_DUE, S.RENEWAL_DUE),
        (S.RENEWAL_DUE, S.SUSPENDED),
        (S.RENEWAL_DUE, S.EXPIRED),
        (S.SUSPENDED, S.ACTIVE),
        (S.SUSPENDED, S.SUSPENDED),  # a cause raised or lifted while another holds
        (S.SUSPENDED, S.EXPIRED),
        (S.EXPIRED, S.ACTIVE),  # a fresh grant from now, never back-dated
        (S.APPLIED, S.APPLIED),  # a hold that blocks the first grant, or its lifting
        (S.EXPIRED, S.EXPIRED),  # a hold that blocks a fresh grant, or its lifting
        (S.APPLIED, S.REVOKED),
        (S.ACTIVE, S.REVOKED),
        (S.RENEWAL_DUE, S.REVOKED),
        (S.SUSPENDED, S.REVOKED),
        (S.EXPIRED, S.REVOKED),
    }
)


class Trigger(enum.StrEnum):
    """Why the machine is asked to decide."""

    EVIDENCE = "evidence"
    """An attestation or audit was accepted."""
    DEADLINE = "deadline"
    """A scheduled scan at the current time."""
    SUSPEND = "suspend"
    """An owner (an association's admins, a blacklist listing) raises its cause."""
    REINSTATE = "reinstate"
    """An owner lifts its cause; the evidence then decides again."""
    REVOKE = "revoke"


class ActorKind(enum.StrEnum):
    """Who asks the machine to decide; the kind decides which causes it owns."""

    EVIDENCE = "evidence"
    """An accepted attestation or audit: owns the evidence causes, and only those."""
    SCHEDULER = "scheduler"
    """A deadline scan: raises an overdue-audit cause and expires, lifts nothing."""
    ASSOCIATION_ADMIN = "association_admin"
    """An admin of the association named by `Actor.owner`: owns that association's cause."""
    BLACKLIST = "blacklist"
    """The decision on the listing named by `Actor.owner`: owns that listing's cause."""


@dataclass(frozen=True)
class Actor:
    """Who acts, on whose authority (`owner`: `association:<id>`, `listing:<id>`), and why."""

    kind: ActorKind
    owner: str | None = None
    principal_id: int | None = None
    reason: str | None = None


EVIDENCE = Actor(ActorKind.EVIDENCE)
SCHEDULER = Actor(ActorKind.SCHEDULER)
# The cause each kind of owner raises with SUSPEND and lifts with REINSTATE.
_HOLDS: dict[ActorKind, CauseKind] = {
    ActorKind.ASSOCIATION_ADMIN: CauseKind.ADMIN,
    ActorKind.BLACKLIST: CauseKind.BLACKLIST,
}
_ACTORS_OF: dict[Trigger, frozenset[ActorKind]] = {
    Trigger.EVIDENCE: frozenset({ActorKind.EVIDENCE}),
    Trigger.DEADLINE: frozenset({ActorKind.SCHEDULER}),
    Trigger.SUSPEND: frozenset(_HOLDS),
    Trigger.REINSTATE: frozenset(_HOLDS),
    Trigger.REVOKE: frozenset(_HOLDS),
}
_AUTOMATIC = {Trigger.EVIDENCE: EVIDENCE, Trigger.DEADLINE: SCHEDULER}


def association_admin(
    association_id: int, principal_id: int | None, reason: str | None = None
) -> Actor:
    """An admin acting for the association that owns the vendor's certificate."""
    return Actor(ActorKind.ASSOCIATION_ADMIN, f"association:{association_id}", principal_id, reason)


def blacklist_listing(
    listing_id: int, principal_id: int | None, reason: str | None = None
) -> Actor:
    """The decision on one blacklist listing: raises its cause, and alone lifts it."""
    return Actor(ActorKind.BLACKLIST, f"listing:{listing_id}", principal_id, reason)


def owns(actor: Actor, cause: SuspensionCause) -> bool:
    """True when `actor` may remove `cause`: evidence its own kinds, an owner its own hold."""
    if cause.kind.evidence:
        return actor.kind is ActorKind.EVIDENCE
    return _HOLDS.get(actor.kind) is cause.kind and actor.owner == cause.owner


@dataclass(frozen=True)
class AttestationFact:
    """What the machine needs of an accepted attestation."""

    period_start: datetime
    period_end: datetime
    all_met: bool
    metrics: dict[str, float]


@dataclass(frozen=True)
class AuditFact:
    """What the machine needs of an accepted audit."""

    period_end: datetime
    passed: bool
    next_audit_due: datetime | None


@dataclass(frozen=True)
class Facts:
    """A vendor's accepted evidence, in any order."""

    attestations: Sequence[AttestationFact] = ()
    audits: Sequence[AuditFact] = ()


@dataclass(frozen=True)
class Certificate:
    """The certificate's current values (None: the vendor has none yet)."""

    state: S
    level: int | None
    certified_since: datetime | None
    valid_until: datetime | None
    audit_due: datetime | None
    causes: frozenset[SuspensionCause] = frozenset()
    """Every cause in force: a granted certificate is suspended exactly while one is.
    An applied or expired one may carry holds too, which block a (fresh) grant."""


@dataclass(frozen=True)
class Decision:
    """The certificate after the decision, and which evidence or deadline caused it."""

    certificate: Certificate
    reason: str


class RefusedTransition(Exception):
    """An action that the current state or the actor's authority does not allow."""


def latest_audit(facts: Facts) -> AuditFact | None:
    """The audit covering the most recent period."""
    return max(facts.audits, key=lambda a: a.period_end, default=None)


def audit_due(rules: SchemeRules, audit: AuditFact) -> datetime:
    """When the audit after `audit` must be in: the auditor's date, capped by the cadence."""
    by_cadence = audit.period_end + rules.audit_cadence
    if audit.next_audit_due is None:
        return by_cadence
    return min(audit.next_audit_due, by_cadence)


def audit_overdue(rules: SchemeRules, due: datetime | None, now: datetime) -> bool:
    """True once the grace period after the due date has run out."""
    return due is not None and now >= due + rules.audit_grace


def level_for(rules: SchemeRules, facts: Facts, now: datetime) -> int | None:
    """The level the evidence supports at `now` (None: not even L1)."""
    ordered = sorted(facts.attestations, key=lambda a: a.period_end)
    if not ordered or not ordered[-1].all_met:
        return None
    audit = latest_audit(facts)
    if audit is None or not audit.passed or audit_overdue(rules, audit_due(rules, audit), now):
        return 1
    recent = ordered[-rules.l3_periods :]
    if (
        len(recent) == rules.l3_periods
        and _consecutive(recent)
        and all(a.all_met and _within(rules, a.metrics) for a in recent)
    ):
        return 3
    return 2


# Periods count as consecutive when the next one starts within a day of the last one's
# end: vendors report by calendar periods, and a day covers time-zone and cut-off slack.
CONSECUTIVE_SLACK = timedelta(days=1)


def _consecutive(periods: Sequence[AttestationFact]) -> bool:
    """True when each period starts where the one before ended (no unreported gap)."""
    return all(
        later.period_start - earlier.period_end <= CONSECUTIVE_SLACK
        for earlier, later in pairwise(periods)
    )


def _within(rules: SchemeRules, metrics: dict[str, float]) -> bool:
    return all(
        name in metrics and bound.holds(metrics[name]) for name, bound in rules.metrics.items()
    )


def _audit_due_for(rules: SchemeRules, facts: Facts, level: int | None) -> datetime | None:
    audit = latest_audit(facts)
    if level is None or level < 2 or audit is None:
        return None
    return audit_due(rules, audit)


def decide(
    current: Certificate | None,
    trigger: Trigger,
    rules: SchemeRules,
    facts: Facts,
    now: datetime,
    *,
    by: Actor | None = None,
) -> Decision | None:
    """The certificate after `trigger` by `by` at `now`, or None when nothing changes.

    `by` defaults to the evidence for EVIDENCE and to the scheduler for DEADLINE; the
    owner's triggers (SUSPEND, REINSTATE, REVOKE) need an owner.
    """
    actor = by if by is not None else _AUTOMATIC.get(trigger)
    if actor is None:
        raise RefusedTransition(
            f"{trigger.value} is an owner's action: an association or a listing"
        )
    if actor.kind not in _ACTORS_OF[trigger]:
        raise RefusedTransition(f"{trigger.value} is not an action for {actor.kind.value}")
    if actor.kind in _HOLDS and not actor.owner:
        raise RefusedTransition(f"{actor.kind.value} acts only for a named owner")
    if current is not None and current.state is S.REVOKED:
        if trigger in {Trigger.SUSPEND, Trigger.REINSTATE, Trigger.REVOKE}:
            raise RefusedTransition("the certificate is revoked; that is final")
        return None
    if trigger is Trigger.DEADLINE:
        return _deadline(current, rules, facts, now)
    if trigger is Trigger.EVIDENCE:
        return _evidence(current, rules, facts, now)
    return _owner(current, trigger, actor, rules, facts, now=now)


def _changed(current: Certificate | None, new: Certificate, reason: str) -> Decision | None:
    return None if new == current else Decision(new, reason)


def _grant(rules: SchemeRules, facts: Facts, level: int, now: datetime) -> Certificate:
    return Certificate(
        state=S.ACTIVE,
        level=level,
        certified_since=now,
        valid_until=now + rules.validity,
        audit_due=_audit_due_for(rules, facts, level),
    )


_FAULT_REASONS = {
    CauseKind.CRITERION_UNMET: "a criterion is no longer met",
    CauseKind.AUDIT_FAILED: "the latest audit failed",
    CauseKind.AUDIT_OVERDUE: "the periodic audit is overdue beyond the grace period",
}


def _faults(rules: SchemeRules, facts: Facts, now: datetime) -> tuple[int | None, set[CauseKind]]:
    """The level the evidence supports and what in it holds a certificate back."""
    level = level_for(rules, facts, now)
    audit = latest_audit(facts)
    faults = set()
    if level is None:
        faults.add(CauseKind.CRITERION_UNMET)
    if audit is not None and not audit.passed:
        faults.add(CauseKind.AUDIT_FAILED)
    return level, faults


def _evidence_cause(kind: CauseKind, now: datetime) -> SuspensionCause:
    return SuspensionCause(kind, None, now, None, _FAULT_REASONS[kind])


def _after_evidence(
    causes: frozenset[SuspensionCause], faults: set[CauseKind], now: datetime
) -> frozenset[SuspensionCause]:
    """`causes` after evidence with `faults`: the evidence causes it cures are cleared,
    the faults not yet in force are raised, and every other cause stays.

    An overdue audit is cured once the evidence supports a level without any fault (a
    new passing audit restores L2/L3; without one the level no longer relies on it).
    """
    kept = {
        c
        for c in causes
        if not c.kind.evidence or c.kind in faults or (c.kind is CauseKind.AUDIT_OVERDUE and faults)
    }
    present = {c.kind for c in kept}
    return frozenset(kept | {_evidence_cause(k, now) for k in faults - present})


def _evidence(
    current: Certificate | None, rules: SchemeRules, facts: Facts, now: datetime
) -> Decision | None:
    level, faults = _faults(rules, facts, now)
    if current is None or current.state in {S.APPLIED, S.EXPIRED}:
        return _evidence_ungranted(current, rules, facts, level, now)
    if current.state is S.SUSPENDED:
        return _evidence_suspended(current, rules, facts, level, faults, now=now)
    if faults:
        why = _FAULT_REASONS[
            CauseKind.AUDIT_FAILED
            if CauseKind.AUDIT_FAILED in faults
            else CauseKind.CRITERION_UNMET
        ]
        causes = _after_evidence(current.causes, faults, now)
        return Decision(replace(current, state=S.SUSPENDED, level=level, causes=causes), why)
    assert level is not None  # noqa: S101 - no fault means a level
    if current.state is S.RENEWAL_DUE:
        assert current.valid_until is not None  # noqa: S101 - renewal_due implies validity
        renewed = replace(
            current,
            state=S.ACTIVE,
            level=level,
            valid_until=current.valid_until + rules.validity,
            audit_due=_audit_due_for(rules, facts, level),
        )
        return Decision(renewed, f"renewed before expiry at level {level}")
    updated = replace(current, level=level, audit_due=_audit_due_for(rules, facts, level))
    return _changed(current, updated, f"level {level} on new evidence")


def _evidence_ungranted(
    current: Certificate | None,
    rules: SchemeRules,
    facts: Facts,
    level: int | None,
    now: datetime,
) -> Decision | None:
    """No grant in force: grant from now (never back-dated) or stay applied.

    A hold by an owner (an association's decision, a listing) blocks any grant until
    its owner lifts it. Evidence causes left from a lapsed grant do not: a fresh grant
    is judged on the evidence alone, and the evidence owns them.
    """
    if current is not None and any(not c.kind.evidence for c in current.causes):
        return None
    if level is not None:
        return Decision(_grant(rules, facts, level, now), f"granted at level {level}")
    if current is not None and current.state is S.EXPIRED:
        return None
    pending = Certificate(S.APPLIED, None, None, None, None)
    return _changed(current, pending, "evidence does not meet every criterion yet")


def _evidence_suspended(
    current: Certificate,
    rules: SchemeRules,
    facts: Facts,
    level: int | None,
    faults: set[CauseKind],
    *,
    now: datetime,
) -> Decision | None:
    """Evidence clears the evidence causes it cures and raises the faults it shows; the
    certificate is reinstated only when no cause at all is left, and still valid."""
    causes = _after_evidence(current.causes, faults, now)
    if causes:
        return _changed(
            current, replace(current, causes=causes), "the causes holding the certificate changed"
        )
    return _resume(replace(current, causes=causes), rules, facts, level, now, by_owner=False)


def _resume(
    current: Certificate,
    rules: SchemeRules,
    facts: Facts,
    level: int | None,
    now: datetime,
    *,
    by_owner: bool,
) -> Decision:
    """A suspended certificate whose last cause is gone: active again while still valid.

    The reasons are fixed sentences (the public site translates each); which causes were
    lifted is in the transition's `causes_cleared`."""
    assert current.valid_until is not None  # noqa: S101 - suspended implies a grant
    assert level is not None  # noqa: S101 - callers resume only on evidence without faults
    if current.valid_until <= now:
        return Decision(replace(current, state=S.EXPIRED), "validity ended")
    reinstated = replace(
        current, state=S.ACTIVE, level=level, audit_due=_audit_due_for(rules, facts, level)
    )
    if by_owner:
        return Decision(reinstated, f"reinstated at level {level} by the owner of the suspension")
    return Decision(reinstated, f"reinstated at level {level} on new evidence")


def _deadline(
    current: Certificate | None, rules: SchemeRules, facts: Facts, now: datetime
) -> Decision | None:
    """Expiry keeps every cause (they outlive the grant and hold back a fresh one)."""
    if current is None or current.state in {S.APPLIED, S.EXPIRED}:
        return None
    assert current.valid_until is not None  # noqa: S101 - granted states carry validity
    if current.valid_until <= now:
        return Decision(replace(current, state=S.EXPIRED), "validity ended without renewal")
    if current.state is S.SUSPENDED:
        return None
    if (current.level or 0) >= 2 and audit_overdue(rules, current.audit_due, now):
        overdue = _evidence_cause(CauseKind.AUDIT_OVERDUE, now)
        return Decision(
            replace(
                current,
                state=S.SUSPENDED,
                level=level_for(rules, facts, now),
                causes=current.causes | {overdue},
            ),
            overdue.reason,
        )
    if current.state is S.ACTIVE and current.valid_until - rules.renewal_window <= now:
        return Decision(replace(current, state=S.RENEWAL_DUE), "renewal window opened")
    return None


def _owner(
    current: Certificate | None,
    trigger: Trigger,
    actor: Actor,
    rules: SchemeRules,
    facts: Facts,
    *,
    now: datetime,
) -> Decision:
    """An owner's action: revoke, raise its hold, or lift it and let the evidence decide.

    A hold on a certified vendor suspends it; on an applied or expired one it blocks the
    grant; on a suspended one it is one more cause. Lifting removes only the actor's own
    cause, so the certificate stays suspended while any other is in force.
    """
    if current is None:
        raise RefusedTransition("the vendor has no certificate")
    if trigger is Trigger.REVOKE:
        return Decision(replace(current, state=S.REVOKED), "revoked")
    mine = frozenset(c for c in current.causes if owns(actor, c))
    if trigger is Trigger.SUSPEND:
        if mine:
            raise RefusedTransition(f"the certificate is already suspended by {actor.owner}")
        hold = SuspensionCause(
            _HOLDS[actor.kind], actor.owner, now, actor.principal_id, actor.reason or "suspended"
        )
        state = S.SUSPENDED if current.state.certifies else current.state
        return Decision(replace(current, state=state, causes=current.causes | {hold}), "suspended")
    if not mine:
        raise RefusedTransition(
            f"no suspension by {actor.owner} is in force; only its owner lifts a cause"
        )
    rest = current.causes - mine
    lifted = replace(current, causes=rest)
    if current.state is not S.SUSPENDED:
        return Decision(lifted, "hold lifted")
    if rest:
        return Decision(lifted, "the causes holding the certificate changed")
    level, faults = _faults(rules, facts, now)
    if faults:
        causes = _after_evidence(rest, faults, now)
        return Decision(
            replace(lifted, causes=causes), "the causes holding the certificate changed"
        )
    return _resume(lifted, rules, facts, level, now, by_owner=True)
