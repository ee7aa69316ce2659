"""The blacklist's pure parts: rule verdicts, the evidence bundle and its digest, the case
state machine, and answer windows on China's working days."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attestations.canonical import canonicalize
from registry.blacklist.calendar import CHINA_STANDARD_TIME, is_working_day, last_day, window_end
from registry.blacklist.rulebooks import DEFAULT_RULES, check_rule
from registry.blacklist.rules import (
    AttestationFact,
    AuditFact,
    ComplaintFact,
    RuleSpec,
    Subject,
    SubjectFacts,
    evaluate,
    evidence_bundle,
    evidence_digest,
    parse_parameters,
)
from registry.blacklist.states import (
    CASE_TRANSITIONS,
    OPEN_CASE_STATES,
    CaseState,
    DayCounting,
    RuleKind,
    StepKind,
    SubjectKind,
    Tier,
    may_move,
)
from registry.blacklist.timeline import STEP_ENTRY_TYPES
from registry.errors import InvalidInput

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
VENDOR = Subject(SubjectKind.VENDOR, "acme")


def complaint(
    code: str,
    contact: str | None,
    *,
    days_ago: float = 1,
    category: str = "billing_refund",
    upheld: bool = False,
    due_days_ago: float | None = None,
    answered_late: bool | None = None,
) -> ComplaintFact:
    """A complaint fact substantiated `days_ago` days before AT."""
    when = AT - timedelta(days=days_ago)
    due = AT - timedelta(days=due_days_ago) if due_days_ago is not None else None
    answered = None
    if due is not None and answered_late is not None:
        answered = due + timedelta(hours=1 if answered_late else -1)
    return ComplaintFact(
        tracking_code=code,
        category=category,
        filed_at=when - timedelta(days=2),
        substantiated_at=when,
        upheld_at=when if upheld else None,
        complainant=contact,
        first_response_due_at=due,
        first_response_at=answered,
        mediation_log_index=100 + int(code[1:]) if upheld else None,
        breach_log_index=200 + int(code[1:]) if answered_late is not False else None,
    )


def spec(kind: RuleKind, **parameters: object) -> RuleSpec:
    """A rule of `kind` with the default rulebook's parameters, overridden."""
    default = next(rule for rule in DEFAULT_RULES if rule.kind is kind)
    return RuleSpec(default.rule_id, 1, kind, {**default.parameters, **parameters}, Tier.GENERAL)


def test_default_rulebook_has_one_valid_rule_of_each_kind() -> None:
    assert sorted(rule.kind for rule in DEFAULT_RULES) == sorted(RuleKind)
    for rule in DEFAULT_RULES:
        check_rule(rule)


def test_substantiated_complaints_need_distinct_complainants() -> None:
    rule = spec(RuleKind.SUBSTANTIATED_COMPLAINTS)
    same_person = [complaint(f"C{i}", "fp-a") for i in range(6)]
    verdict = evaluate(rule, SubjectFacts(VENDOR, same_person), AT)
    assert not verdict.holds
    assert verdict.counts == {"substantiated": 6, "distinct_complainants": 1}
    three = [complaint(f"C{i}", f"fp-{i % 3}") for i in range(5)]
    verdict = evaluate(rule, SubjectFacts(VENDOR, three), AT)
    assert verdict.holds
    assert [item["complainant"] for item in verdict.items] == ["c1", "c2", "c3", "c1", "c2"]


def test_window_category_and_erased_contacts() -> None:
    rule = spec(RuleKind.SUBSTANTIATED_COMPLAINTS, category="billing_refund")
    facts = [complaint(f"C{i}", f"fp-{i}") for i in range(4)]
    facts.append(complaint("C7", "fp-7", days_ago=91))  # outside the 90-day window
    facts.append(complaint("C8", "fp-8", category="other"))  # another category
    facts.append(complaint("C9", None))  # contact erased: counts, adds no complainant
    verdict = evaluate(rule, SubjectFacts(VENDOR, facts), AT)
    assert verdict.counts == {"substantiated": 5, "distinct_complainants": 4}
    assert verdict.holds
    assert {item["ref"] for item in verdict.items} == {"C0", "C1", "C2", "C3", "C9"}


def test_sla_breach_ratio() -> None:
    rule = spec(RuleKind.SLA_BREACH_RATIO)
    facts = [complaint(f"C{i}", "x", due_days_ago=5, answered_late=i < 5) for i in range(10)]
    verdict = evaluate(rule, SubjectFacts(VENDOR, facts), AT)
    assert verdict.holds
    assert verdict.counts == {"complaints": 10, "breached": 5, "ratio": 0.5}
    assert sum(item["log_index"] is not None for item in verdict.items) == 5
    fewer = evaluate(rule, SubjectFacts(VENDOR, facts[:9]), AT)
    assert not fewer.holds  # 9 complaints is under the minimum of 10


def test_personal_information_leak_from_complaint_or_audit() -> None:
    rule = spec(RuleKind.PERSONAL_INFORMATION_LEAK)
    conceded = complaint("C1", "x", category="personal_information_leak")
    assert not evaluate(rule, SubjectFacts(VENDOR, [conceded]), AT).holds
    upheld = complaint("C2", "x", category="personal_information_leak", upheld=True)
    assert evaluate(rule, SubjectFacts(VENDOR, [upheld]), AT).holds
    audit = AuditFact(
        7,
        AT - timedelta(days=200),
        AT - timedelta(days=20),
        AT - timedelta(days=10),
        {"information-security": "major_nonconformity", "legal-training": "conformity"},
        42,
    )
    verdict = evaluate(rule, SubjectFacts(VENDOR, audits=[audit]), AT)
    assert verdict.holds
    assert verdict.items == [
        {
            "type": "audit",
            "ref": "audit:7",
            "criterion": "information-security",
            "outcome": "major_nonconformity",
            "log_index": 42,
        }
    ]


def test_attestation_contradicted_by_an_audit_of_an_overlapping_period() -> None:
    rule = spec(RuleKind.ATTESTATION_CONTRADICTED)
    audit = AuditFact(
        3,
        AT - timedelta(days=180),
        AT - timedelta(days=30),
        AT - timedelta(days=5),
        {"legal-training": "major_nonconformity", "information-security": "conformity"},
        50,
    )
    claimed = AttestationFact(
        9,
        AT - timedelta(days=120),
        AT - timedelta(days=60),
        AT - timedelta(days=59),
        frozenset({"legal-training", "information-security"}),
        40,
    )
    honest = AttestationFact(
        10,
        AT - timedelta(days=120),
        AT - timedelta(days=60),
        AT - timedelta(days=59),
        frozenset({"information-security"}),
        41,
    )
    before = AttestationFact(
        11,
        AT - timedelta(days=400),
        AT - timedelta(days=300),
        AT - timedelta(days=299),
        frozenset({"legal-training"}),
        30,
    )
    verdict = evaluate(rule, SubjectFacts(VENDOR, audits=[audit], attestations=[claimed]), AT)
    assert verdict.holds
    assert verdict.items[0]["criteria"] == ["legal-training"]
    assert verdict.items[0]["contradicted_by"] == "audit:3"
    quiet = SubjectFacts(VENDOR, audits=[audit], attestations=[honest, before])
    assert not evaluate(rule, quiet, AT).holds


def test_bundle_digest_is_sha256_of_rfc8785_and_carries_no_contact() -> None:
    rule = spec(RuleKind.SUBSTANTIATED_COMPLAINTS)
    facts = SubjectFacts(VENDOR, [complaint(f"C{i}", f"secret-fp-{i}") for i in range(5)])
    verdict = evaluate(rule, facts, AT)
    bundle = evidence_bundle(rule, VENDOR, "csia", verdict, AT)
    assert evidence_digest(bundle) == hashlib.sha256(canonicalize(bundle)).hexdigest()
    assert b"secret-fp" not in canonicalize(bundle)
    again = evidence_bundle(rule, VENDOR, "csia", evaluate(rule, facts, AT), AT)
    assert evidence_digest(again) == evidence_digest(bundle)


def test_parameters_are_checked_per_kind() -> None:
    with pytest.raises(InvalidInput):
        parse_parameters(
            RuleKind.SLA_BREACH_RATIO, {"min_ratio": 2, "min_complaints": 1, "window_days": 9}
        )
    with pytest.raises(InvalidInput):
        parse_parameters(RuleKind.SUBSTANTIATED_COMPLAINTS, {"min_complaints": 2, "window_days": 9})
    with pytest.raises(InvalidInput):
        parse_parameters(
            RuleKind.SUBSTANTIATED_COMPLAINTS,
            {"min_complaints": 2, "min_distinct_complainants": 3, "window_days": 9},
        )


@given(st.sampled_from(list(CaseState)), st.sampled_from(list(CaseState)))
def test_case_state_machine_never_lists_from_an_unanswered_case(
    current: CaseState, target: CaseState
) -> None:
    """Only voting leads to a listing, and a closed case never moves again."""
    if may_move(current, target):
        assert current in OPEN_CASE_STATES
        if target is CaseState.LISTED:
            assert current is CaseState.VOTING
    assert set(CASE_TRANSITIONS) == set(CaseState)


def test_every_step_has_a_log_entry_type() -> None:
    assert set(STEP_ENTRY_TYPES) == set(StepKind)


# --- working days -----------------------------------------------------------------------


def test_national_day_2026_is_not_counted_and_the_makeup_saturday_is() -> None:
    assert not is_working_day(date(2026, 10, 1))
    assert not is_working_day(date(2026, 10, 7))
    assert is_working_day(date(2026, 10, 10))  # Saturday worked in lieu (调休)
    opened = datetime(2026, 9, 30, 10, 0, tzinfo=CHINA_STANDARD_TIME)
    assert last_day(date(2026, 9, 30), 10, DayCounting.WORKING) == date(2026, 10, 20)
    assert window_end(opened, 10, DayCounting.WORKING) == datetime(2026, 10, 20, 16, 0, tzinfo=UTC)
    assert window_end(opened, 10, DayCounting.CALENDAR) == datetime(2026, 10, 10, 16, 0, tzinfo=UTC)


def test_late_evening_utc_is_already_the_next_day_in_china() -> None:
    opened = datetime(2026, 9, 29, 17, 0, tzinfo=UTC)  # 30 Sep 01:00 in Beijing
    assert window_end(opened, 1, DayCounting.WORKING) == datetime(2026, 10, 8, 16, 0, tzinfo=UTC)


def test_beyond_the_calendar_data_monday_to_friday_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="registry.blacklist")
    assert last_day(date(2031, 1, 3), 1, DayCounting.WORKING) == date(2031, 1, 6)  # Fri → Mon
    assert any("no data for 2031" in record.getMessage() for record in caplog.records)
