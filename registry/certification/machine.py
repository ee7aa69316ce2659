"""The certificate state machine as pure functions: facts and a time in, a decision out.

applied → active → renewal_due → expired; active | renewal_due → suspended → active |
revoked. Level: L1 = the latest attestation claims every criterion met; L2 = L1 and a
passing audit that is not overdue; L3 = L2 and the last `l3_periods` attestations, for
consecutive periods, all meeting every criterion with figures within the scheme's
thresholds. Nothing here reads a database or a clock, so every rule is unit- and
property-tested directly.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import pairwise

from registry.certification.schemes import SchemeRules
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
        (S.SUSPENDED, S.EXPIRED),
        (S.EXPIRED, S.ACTIVE),  # a fresh grant from now, never back-dated
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
    REINSTATE = "reinstate"
    REVOKE = "revoke"


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


@dataclass(frozen=True)
class Decision:
    """The certificate after the decision, and which evidence or deadline caused it."""

    certificate: Certificate
    reason: str


class RefusedTransition(Exception):
    """An admin action that the current state does not allow (e.g. reinstating an expired one)."""


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
) -> Decision | None:
    """The certificate after `trigger` at `now`, or None when nothing changes."""
    if current is not None and current.state is S.REVOKED:
        if trigger in {Trigger.SUSPEND, Trigger.REINSTATE, Trigger.REVOKE}:
            raise RefusedTransition("the certificate is revoked; that is final")
        return None
    if trigger is Trigger.DEADLINE:
        return _deadline(current, rules, facts, now)
    if trigger is Trigger.EVIDENCE:
        return _evidence(current, rules, facts, now)
    return _admin(current, trigger, rules, facts, now)


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


def _evidence(
    current: Certificate | None, rules: SchemeRules, facts: Facts, now: datetime
) -> Decision | None:
    level = level_for(rules, facts, now)
    if current is None or current.state in {S.APPLIED, S.EXPIRED}:
        return _evidence_ungranted(current, rules, facts, level, now)
    audit = latest_audit(facts)
    failed_audit = audit is not None and not audit.passed
    if current.state is S.SUSPENDED:
        return _evidence_suspended(current, rules, facts, level, failed_audit=failed_audit, now=now)
    if level is None or failed_audit:
        why = "the latest audit failed" if failed_audit else "a criterion is no longer met"
        return Decision(replace(current, state=S.SUSPENDED, level=level), why)
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
    """No grant in force: grant from now (never back-dated) or stay applied."""
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
    *,
    failed_audit: bool,
    now: datetime,
) -> Decision | None:
    """Fresh evidence that clears the cause reinstates while the grant is still valid."""
    if level is None or failed_audit:
        return None
    assert current.valid_until is not None  # noqa: S101 - suspended implies a grant
    if current.valid_until <= now:
        return Decision(replace(current, state=S.EXPIRED), "validity ended")
    reinstated = replace(
        current, state=S.ACTIVE, level=level, audit_due=_audit_due_for(rules, facts, level)
    )
    return Decision(reinstated, f"reinstated at level {level} on new evidence")


def _deadline(
    current: Certificate | None, rules: SchemeRules, facts: Facts, now: datetime
) -> Decision | None:
    if current is None or current.state in {S.APPLIED, S.EXPIRED}:
        return None
    assert current.valid_until is not None  # noqa: S101 - granted states carry validity
    if current.valid_until <= now:
        return Decision(replace(current, state=S.EXPIRED), "validity ended without renewal")
    if current.state is S.SUSPENDED:
        return None
    if (current.level or 0) >= 2 and audit_overdue(rules, current.audit_due, now):
        return Decision(
            replace(current, state=S.SUSPENDED, level=level_for(rules, facts, now)),
            "the periodic audit is overdue beyond the grace period",
        )
    if current.state is S.ACTIVE and current.valid_until - rules.renewal_window <= now:
        return Decision(replace(current, state=S.RENEWAL_DUE), "renewal window opened")
    return None


def _admin(
    current: Certificate | None, trigger: Trigger, rules: SchemeRules, facts: Facts, now: datetime
) -> Decision:
    if current is None:
        raise RefusedTransition("the vendor has no certificate")
    if trigger is Trigger.REVOKE:
        return Decision(replace(current, state=S.REVOKED), "revoked")
    if trigger is Trigger.SUSPEND:
        if current.state not in {S.ACTIVE, S.RENEWAL_DUE}:
            raise RefusedTransition(
                f"only a certified vendor can be suspended, not {current.state}"
            )
        return Decision(replace(current, state=S.SUSPENDED), "suspended")
    if current.state is not S.SUSPENDED:
        raise RefusedTransition(
            f"only a suspended certificate can be reinstated, not {current.state}"
        )
    assert current.valid_until is not None  # noqa: S101 - suspended implies a grant
    if current.valid_until <= now:
        raise RefusedTransition("the certificate's validity has ended; it cannot be reinstated")
    level = level_for(rules, facts, now)
    if level is None:
        raise RefusedTransition("the latest attestation does not meet every criterion")
    reinstated = replace(
        current, state=S.ACTIVE, level=level, audit_due=_audit_due_for(rules, facts, level)
    )
    return Decision(reinstated, "reinstated")
