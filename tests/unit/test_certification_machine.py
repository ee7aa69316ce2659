"""The certificate state machine: levels, transitions and invariants, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.certification.machine import (
    ALLOWED,
    AttestationFact,
    AuditFact,
    Certificate,
    Facts,
    RefusedTransition,
    Trigger,
    association_admin,
    decide,
    level_for,
)
from registry.certification.schemes import DEFAULT_SCHEME_DOCUMENT, parse_rules
from registry.certification.signing import GOOD_METRICS
from registry.certification.status import CertificationState as S

RULES = parse_rules(DEFAULT_SCHEME_DOCUMENT)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
BAD_METRICS = {**GOOD_METRICS, "satisfaction_rate": 0.5}
ADMIN = association_admin(1, 10, "confirmed personal-data leak")


def attestation(end_day: int, *, met: bool = True, good: bool = True) -> AttestationFact:
    return AttestationFact(
        T0 + (end_day - 30) * DAY,
        T0 + end_day * DAY,
        met,
        dict(GOOD_METRICS if good else BAD_METRICS),
    )


def audit(end_day: int, *, passed: bool = True) -> AuditFact:
    return AuditFact(T0 + end_day * DAY, passed, None)


def test_levels_follow_the_evidence() -> None:
    now = T0 + DAY
    assert level_for(RULES, Facts(), now) is None
    assert level_for(RULES, Facts([attestation(0, met=False)]), now) is None
    assert level_for(RULES, Facts([attestation(0)]), now) == 1
    assert level_for(RULES, Facts([attestation(0)], [audit(0)]), now) == 2
    assert level_for(RULES, Facts([attestation(-30), attestation(0)], [audit(0)]), now) == 3
    bad = Facts([attestation(-30, good=False), attestation(0)], [audit(0)])
    assert level_for(RULES, bad, now) == 2
    # Two good periods with an unreported month between them are not "the last two".
    gap = Facts([attestation(-60), attestation(0)], [audit(0)])
    assert level_for(RULES, gap, now) == 2
    assert level_for(RULES, Facts([attestation(0)], [audit(0, passed=False)]), now) == 1


def test_an_overdue_audit_no_longer_counts() -> None:
    facts = Facts([attestation(0)], [audit(0)])
    due = T0 + RULES.audit_cadence
    assert level_for(RULES, facts, due + RULES.audit_grace - DAY) == 2
    assert level_for(RULES, facts, due + RULES.audit_grace) == 1


def test_applied_then_granted_from_now_for_the_scheme_validity() -> None:
    pending = decide(None, Trigger.EVIDENCE, RULES, Facts([attestation(0, met=False)]), T0)
    assert pending is not None
    assert pending.certificate.state is S.APPLIED
    granted = decide(
        pending.certificate, Trigger.EVIDENCE, RULES, Facts([attestation(0)]), T0 + DAY
    )
    assert granted is not None
    assert granted.certificate == Certificate(
        S.ACTIVE, 1, T0 + DAY, T0 + DAY + RULES.validity, None
    )


def test_audit_lifts_to_l2_and_a_missed_audit_suspends() -> None:
    l1 = Certificate(S.ACTIVE, 1, T0, T0 + RULES.validity, None)
    facts = Facts([attestation(0)], [audit(0)])
    l2 = decide(l1, Trigger.EVIDENCE, RULES, facts, T0 + DAY)
    assert l2 is not None
    assert l2.certificate.level == 2
    assert l2.certificate.audit_due == T0 + RULES.audit_cadence
    within_grace = T0 + RULES.audit_cadence + RULES.audit_grace - DAY
    assert decide(l2.certificate, Trigger.DEADLINE, RULES, facts, within_grace) is None
    missed = decide(l2.certificate, Trigger.DEADLINE, RULES, facts, within_grace + DAY)
    assert missed is not None
    assert missed.certificate.state is S.SUSPENDED
    assert "audit" in missed.reason


def test_renewal_before_expiry_keeps_continuity() -> None:
    since = T0
    current = Certificate(S.ACTIVE, 1, since, T0 + RULES.validity, None)
    window = T0 + RULES.validity - RULES.renewal_window
    due = decide(current, Trigger.DEADLINE, RULES, Facts([attestation(0)]), window)
    assert due is not None
    assert due.certificate.state is S.RENEWAL_DUE
    renewed = decide(
        due.certificate, Trigger.EVIDENCE, RULES, Facts([attestation(330)]), window + DAY
    )
    assert renewed is not None
    assert renewed.certificate.state is S.ACTIVE
    assert renewed.certificate.certified_since == since
    assert renewed.certificate.valid_until == T0 + 2 * RULES.validity


def test_a_lapsed_certificate_is_granted_again_from_now_not_back_dated() -> None:
    current = Certificate(S.RENEWAL_DUE, 1, T0, T0 + RULES.validity, None)
    expired = decide(current, Trigger.DEADLINE, RULES, Facts(), T0 + RULES.validity)
    assert expired is not None
    assert expired.certificate.state is S.EXPIRED
    later = T0 + RULES.validity + 10 * DAY
    again = decide(expired.certificate, Trigger.EVIDENCE, RULES, Facts([attestation(370)]), later)
    assert again is not None
    assert again.certificate.certified_since == later
    assert again.certificate.valid_until == later + RULES.validity


def test_failed_audit_or_unmet_criterion_suspends_and_new_evidence_reinstates() -> None:
    current = Certificate(S.ACTIVE, 2, T0, T0 + RULES.validity, T0 + RULES.audit_cadence)
    failed = decide(
        current, Trigger.EVIDENCE, RULES, Facts([attestation(0)], [audit(10, passed=False)]), T0
    )
    assert failed is not None
    assert failed.certificate.state is S.SUSPENDED
    fixed = decide(
        failed.certificate,
        Trigger.EVIDENCE,
        RULES,
        Facts([attestation(0)], [audit(40)]),
        T0 + 41 * DAY,
    )
    assert fixed is not None
    assert fixed.certificate.state is S.ACTIVE
    assert fixed.certificate.level == 2


def test_admin_actions_and_their_refusals() -> None:
    active = Certificate(S.ACTIVE, 1, T0, T0 + RULES.validity, None)
    facts = Facts([attestation(0)])
    suspended = decide(active, Trigger.SUSPEND, RULES, facts, T0, by=ADMIN)
    assert suspended is not None
    assert suspended.certificate.state is S.SUSPENDED
    with pytest.raises(RefusedTransition):
        decide(suspended.certificate, Trigger.SUSPEND, RULES, facts, T0, by=ADMIN)
    back = decide(suspended.certificate, Trigger.REINSTATE, RULES, facts, T0 + DAY, by=ADMIN)
    assert back is not None
    assert back.certificate.state is S.ACTIVE
    revoked = decide(back.certificate, Trigger.REVOKE, RULES, facts, T0 + DAY, by=ADMIN)
    assert revoked is not None
    assert revoked.certificate.state is S.REVOKED
    with pytest.raises(RefusedTransition):
        decide(revoked.certificate, Trigger.REINSTATE, RULES, facts, T0 + DAY, by=ADMIN)
    assert decide(revoked.certificate, Trigger.EVIDENCE, RULES, facts, T0 + DAY) is None
    with pytest.raises(RefusedTransition):
        decide(None, Trigger.SUSPEND, RULES, facts, T0, by=ADMIN)
    expired_window = Certificate(S.SUSPENDED, 1, T0, T0 + DAY, None)
    with pytest.raises(RefusedTransition):
        decide(expired_window, Trigger.REINSTATE, RULES, facts, T0 + 2 * DAY, by=ADMIN)
    # Owners' triggers need an owner: nobody suspends anonymously.
    with pytest.raises(RefusedTransition):
        decide(active, Trigger.SUSPEND, RULES, facts, T0)


# -- properties ------------------------------------------------------------------------

days = st.integers(min_value=-400, max_value=800)
attestations = st.builds(
    lambda end, met, good: attestation(end, met=met, good=good), days, st.booleans(), st.booleans()
)
audits = st.builds(lambda end, passed: audit(end, passed=passed), days, st.booleans())
facts_strategy = st.builds(Facts, st.lists(attestations, max_size=4), st.lists(audits, max_size=3))
triggers = st.sampled_from(list(Trigger))


@settings(max_examples=120, deadline=None)
@given(
    steps=st.lists(st.tuples(triggers, facts_strategy, st.integers(0, 60)), max_size=12),
)
def test_any_sequence_of_events_keeps_the_invariants(
    steps: list[tuple[Trigger, Facts, int]],
) -> None:
    """Whatever happens, only allowed moves are made and a certified state is coherent."""
    current: Certificate | None = None
    now = T0
    for trigger, facts, advance in steps:
        now += advance * DAY
        try:
            decision = decide(current, trigger, RULES, facts, now)
        except RefusedTransition:
            continue
        if decision is None:
            continue
        new = decision.certificate
        assert (current.state if current else None, new.state) in ALLOWED
        if new.state.certifies:
            # A certified state always has a level, a start and an end after the start.
            assert new.level in {1, 2, 3}
            assert new.certified_since is not None
            assert new.valid_until is not None
            assert new.valid_until > new.certified_since
            # Granting or renewing never reaches back before now.
            if current is None or not current.state.certifies:
                assert new.valid_until > now
        if current is not None and current.state is S.REVOKED:
            pytest.fail("a revoked certificate must never change")
        if new.state is S.ACTIVE and current is not None and current.state is S.EXPIRED:
            assert new.certified_since == now
        current = new


@settings(max_examples=120, deadline=None)
@given(facts=facts_strategy, offset=st.integers(0, 400))
def test_level_is_monotone_in_evidence_quality(facts: Facts, offset: int) -> None:
    """L3 implies the L2 conditions, and L2 implies L1's: levels are nested."""
    now = T0 + offset * DAY
    level = level_for(RULES, facts, now)
    if level is not None and level >= 2:
        without_audits = Facts(facts.attestations, [])
        assert level_for(RULES, without_audits, now) == 1
    if level == 3:
        assert all(a.all_met for a in sorted(facts.attestations, key=lambda a: a.period_end)[-1:])


@settings(max_examples=120, deadline=None)
@given(facts=facts_strategy, offset=st.integers(0, 800))
def test_deadline_scans_are_idempotent(facts: Facts, offset: int) -> None:
    """Running the deadline rules twice at the same instant changes nothing the second time."""
    now = T0 + offset * DAY
    start = Certificate(S.ACTIVE, 2, T0, T0 + RULES.validity, T0 + RULES.audit_cadence)
    first = decide(start, Trigger.DEADLINE, RULES, facts, now)
    after = first.certificate if first else start
    second = decide(after, Trigger.DEADLINE, RULES, facts, now)
    if second is not None:
        # Only one more step may follow (e.g. suspended, then expired), never a loop.
        third = decide(second.certificate, Trigger.DEADLINE, RULES, facts, now)
        assert third is None
