"""The certificate state machine: levels, transitions and invariants, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.certification.machine import (
    ALLOWED,
    EVIDENCE,
    SCHEDULER,
    Actor,
    ActorKind,
    AttestationFact,
    AuditFact,
    Certificate,
    Facts,
    RefusedTransition,
    Trigger,
    association_admin,
    blacklist_listing,
    decide,
    level_for,
    owns,
)
from registry.certification.schemes import DEFAULT_SCHEME_DOCUMENT, parse_rules
from registry.certification.signing import GOOD_METRICS
from registry.certification.status import CauseKind
from registry.certification.status import CertificationState as S

RULES = parse_rules(DEFAULT_SCHEME_DOCUMENT)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
BAD_METRICS = {**GOOD_METRICS, "satisfaction_rate": 0.5}
ADMIN = association_admin(1, 10, "confirmed personal-data leak")
OTHER_ADMIN = association_admin(2, 20, "not ours to lift")
LISTING = blacklist_listing(7, 30, "listed: 一般")
OTHER_LISTING = blacklist_listing(8, 30, "another listing")


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


def _kinds(certificate: Certificate) -> set[CauseKind]:
    return {c.kind for c in certificate.causes}


def test_fresh_evidence_never_lifts_an_admin_suspension() -> None:
    """The attack: suspended for a data leak, the vendor attests again at once."""
    facts = Facts([attestation(-30), attestation(0)], [audit(0)])
    l3 = decide(None, Trigger.EVIDENCE, RULES, facts, T0)
    assert l3 is not None
    assert l3.certificate.level == 3
    held = decide(l3.certificate, Trigger.SUSPEND, RULES, facts, T0, by=ADMIN)
    assert held is not None
    assert _kinds(held.certificate) == {CauseKind.ADMIN}
    (cause,) = held.certificate.causes
    assert (cause.owner, cause.raised_by, cause.reason) == ("association:1", 10, ADMIN.reason)
    fresher = Facts([*facts.attestations, attestation(30)], facts.audits)
    assert decide(held.certificate, Trigger.EVIDENCE, RULES, fresher, T0 + DAY) is None
    # Another association's admin does not own the cause either.
    with pytest.raises(RefusedTransition):
        decide(held.certificate, Trigger.REINSTATE, RULES, fresher, T0 + DAY, by=OTHER_ADMIN)
    back = decide(held.certificate, Trigger.REINSTATE, RULES, fresher, T0 + DAY, by=ADMIN)
    assert back is not None
    assert back.certificate.state is S.ACTIVE
    assert back.certificate.level == 3
    assert back.certificate.causes == frozenset()


def test_curing_the_evidence_leaves_an_admin_cause_in_force() -> None:
    current = Certificate(S.ACTIVE, 2, T0, T0 + RULES.validity, T0 + RULES.audit_cadence)
    failed_facts = Facts([attestation(0)], [audit(10, passed=False)])
    failed = decide(current, Trigger.EVIDENCE, RULES, failed_facts, T0 + 11 * DAY)
    assert failed is not None
    both = decide(failed.certificate, Trigger.SUSPEND, RULES, failed_facts, T0 + 12 * DAY, by=ADMIN)
    assert both is not None
    assert _kinds(both.certificate) == {CauseKind.AUDIT_FAILED, CauseKind.ADMIN}
    cured_facts = Facts([attestation(0)], [audit(40)])
    cured = decide(both.certificate, Trigger.EVIDENCE, RULES, cured_facts, T0 + 41 * DAY)
    assert cured is not None
    assert cured.certificate.state is S.SUSPENDED
    assert _kinds(cured.certificate) == {CauseKind.ADMIN}
    back = decide(cured.certificate, Trigger.REINSTATE, RULES, cured_facts, T0 + 42 * DAY, by=ADMIN)
    assert back is not None
    assert (back.certificate.state, back.certificate.level) == (S.ACTIVE, 2)


def test_reinstating_with_a_failed_audit_still_in_force_keeps_it_suspended() -> None:
    current = Certificate(S.ACTIVE, 2, T0, T0 + RULES.validity, T0 + RULES.audit_cadence)
    facts = Facts([attestation(0)], [audit(0)])
    held = decide(current, Trigger.SUSPEND, RULES, facts, T0, by=ADMIN)
    assert held is not None
    failed_facts = Facts([attestation(0)], [audit(10, passed=False)])
    failed = decide(held.certificate, Trigger.EVIDENCE, RULES, failed_facts, T0 + 11 * DAY)
    assert failed is not None
    assert (failed.certificate.state, _kinds(failed.certificate)) == (
        S.SUSPENDED,
        {CauseKind.ADMIN, CauseKind.AUDIT_FAILED},
    )
    lifted = decide(
        failed.certificate, Trigger.REINSTATE, RULES, failed_facts, T0 + 12 * DAY, by=ADMIN
    )
    assert lifted is not None
    assert (lifted.certificate.state, _kinds(lifted.certificate)) == (
        S.SUSPENDED,
        {CauseKind.AUDIT_FAILED},
    )


def test_an_overdue_audit_is_cleared_by_a_new_audit() -> None:
    l2 = Certificate(S.ACTIVE, 2, T0, T0 + RULES.validity, T0 + RULES.audit_cadence)
    facts = Facts([attestation(0)], [audit(0)])
    late = T0 + RULES.audit_cadence + RULES.audit_grace
    missed = decide(l2, Trigger.DEADLINE, RULES, facts, late)
    assert missed is not None
    assert _kinds(missed.certificate) == {CauseKind.AUDIT_OVERDUE}
    end = (late - T0).days
    audited = Facts([attestation(end)], [audit(end)])
    back = decide(missed.certificate, Trigger.EVIDENCE, RULES, audited, late + DAY)
    assert back is not None
    assert (back.certificate.state, back.certificate.level) == (S.ACTIVE, 2)
    assert back.certificate.causes == frozenset()


def test_a_listing_is_lifted_only_by_its_own_decision() -> None:
    active = Certificate(S.ACTIVE, 1, T0, T0 + RULES.validity, None)
    facts = Facts([attestation(0)])
    listed = decide(active, Trigger.SUSPEND, RULES, facts, T0, by=LISTING)
    assert listed is not None
    assert listed.certificate.state is S.SUSPENDED
    (cause,) = listed.certificate.causes
    assert (cause.kind, cause.owner) == (CauseKind.BLACKLIST, "listing:7")
    for stranger in (ADMIN, OTHER_LISTING):
        with pytest.raises(RefusedTransition):
            decide(listed.certificate, Trigger.REINSTATE, RULES, facts, T0, by=stranger)
    assert decide(listed.certificate, Trigger.EVIDENCE, RULES, facts, T0 + DAY) is None
    delisted = decide(listed.certificate, Trigger.REINSTATE, RULES, facts, T0 + DAY, by=LISTING)
    assert delisted is not None
    assert delisted.certificate.state is S.ACTIVE
    revoked = decide(delisted.certificate, Trigger.REVOKE, RULES, facts, T0 + DAY, by=LISTING)
    assert revoked is not None
    assert revoked.certificate.state is S.REVOKED


def test_a_hold_outlives_expiry_and_blocks_a_fresh_grant() -> None:
    """Waiting for the certificate to lapse and applying afresh does not escape a hold."""
    active = Certificate(S.ACTIVE, 1, T0, T0 + RULES.validity, None)
    held = decide(active, Trigger.SUSPEND, RULES, Facts([attestation(0)]), T0, by=ADMIN)
    assert held is not None
    expired = decide(held.certificate, Trigger.DEADLINE, RULES, Facts(), T0 + RULES.validity)
    assert expired is not None
    assert expired.certificate.state is S.EXPIRED
    assert _kinds(expired.certificate) == {CauseKind.ADMIN}
    later = T0 + RULES.validity + 10 * DAY
    fresh = Facts([attestation(370)])
    assert decide(expired.certificate, Trigger.EVIDENCE, RULES, fresh, later) is None
    lifted = decide(expired.certificate, Trigger.REINSTATE, RULES, fresh, later, by=ADMIN)
    assert lifted is not None
    assert lifted.certificate.state is S.EXPIRED
    granted = decide(lifted.certificate, Trigger.EVIDENCE, RULES, fresh, later + DAY)
    assert granted is not None
    assert granted.certificate.state is S.ACTIVE


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


actors = st.sampled_from(
    [
        EVIDENCE,
        SCHEDULER,
        ADMIN,
        OTHER_ADMIN,
        LISTING,
        OTHER_LISTING,
        Actor(ActorKind.ASSOCIATION_ADMIN),  # an admin acting for no association
    ]
)
starts = st.sampled_from(
    [
        None,
        Certificate(S.ACTIVE, 1, T0, T0 + RULES.validity, None),
        Certificate(S.ACTIVE, 2, T0, T0 + RULES.validity, T0 + RULES.audit_cadence),
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    start=starts,
    steps=st.lists(
        st.tuples(triggers, actors, facts_strategy, st.integers(0, 90)), min_size=1, max_size=16
    ),
)
def test_no_transition_removes_a_cause_its_actor_does_not_own(
    start: Certificate | None, steps: list[tuple[Trigger, Actor, Facts, int]]
) -> None:
    """Over random actions by random actors: a cause leaves only by its owner's hand, and
    a granted certificate is suspended exactly while a cause is in force."""
    current = start
    now = T0
    for trigger, actor, facts, advance in steps:
        now += advance * DAY
        try:
            decision = decide(current, trigger, RULES, facts, now, by=actor)
        except RefusedTransition:
            continue
        if decision is None:
            continue
        new = decision.certificate
        assert (current.state if current else None, new.state) in ALLOWED
        before = current.causes if current else frozenset()
        for removed in before - new.causes:
            assert owns(actor, removed), f"{actor} removed {removed}"
        for raised in new.causes - before:
            assert raised.raised_at == now
            if not raised.kind.evidence:
                assert trigger is Trigger.SUSPEND
                assert owns(actor, raised)
        if new.state in {S.ACTIVE, S.RENEWAL_DUE, S.SUSPENDED}:
            assert (new.state is S.SUSPENDED) == bool(new.causes)
        if new.state is S.APPLIED:
            # Only a hold can stand before a first grant; it blocks the grant.
            assert all(not c.kind.evidence for c in new.causes)
        current = new
