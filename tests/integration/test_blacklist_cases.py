"""The blacklist's rule side on both databases: rulebooks with a notice period, evaluation
that opens cases and never lists, replay, notice and the signed answer."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from attestations.canonical import canonicalize
from attestations.envelope import Envelope
from attestations.keys import SigningKey
from registry.blacklist.models import (
    BlacklistCase,
    BlacklistRule,
    CaseAnswer,
    CaseStep,
    Listing,
)
from registry.blacklist.rulebooks import DEFAULT_RULES
from registry.blacklist.signing import answer_envelope
from registry.blacklist.states import CaseState, StepKind
from registry.certification.signing import DEFAULT_CRITERIA, attestation_envelope, audit_envelope
from registry.complaints.filing import ComplaintSubmission
from registry.db.base import Base
from registry.errors import Conflict, InvalidInput, InvalidSignature, NotFound
from registry.kernel.caller import Caller, Role
from registry.kernel.clock import ManualClock
from registry.notifications.models import OutboxMessage
from registry.scheduling import JOBS, run_jobs_once
from registry.services import Services
from registry.transparency.models import LogEntry
from tests.factories import AUDITED_VENDOR_AGE, MemberVendor, accredited_auditor, member_vendor

RULE = "complaints-substantiated"


async def _count(services: Services, model: type[Base]) -> int:
    async with services.ctx.db.read() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def _adopt_default_rules(services: Services) -> None:
    """Publish the default rulebook; it takes effect after the 30-day notice period."""
    assert await services.blacklist_rules.publish_default_rulebooks() == ["csia@1"]


async def _evaluated_after_notice(services: Services, clock: ManualClock) -> str:
    """Wait out the notice period; the scheduled evaluation opens one case (the facts came
    before the rules took effect, so no reaction to them could)."""
    clock.advance(timedelta(days=31))
    opened = (await services.blacklist_rules.evaluate()).opened
    assert len(opened) == 1
    return opened[0]


async def conceded_complaints(
    services: Services, vendor: MemberVendor, count: int, contacts: int, *, start: int = 0
) -> list[str]:
    """`count` complaints from `contacts` different phones, each conceded by the vendor and
    accepted by its consumer: substantiated through the real complaint process."""
    caller = await services.accounts.authenticate(vendor.token)
    codes = []
    for i in range(start, start + count):
        filed = await services.complaints.consumers.file(
            ComplaintSubmission(
                vendor=vendor.slug,
                product="云存储会员",
                category="billing_refund",
                description="取消订阅后仍被连续扣费，客服不予退款。",
                desired_remedy="退还多扣的费用",
                region="110000",
                occurred_on=(services.ctx.clock.now() - timedelta(days=3)).date().isoformat(),
                contact_name="测试用户",
                contact_phone=f"1380013{i % contacts:04d}",
                consent_to_share=True,
            ),
            client_ip=f"203.0.113.{i + 1}",
        )
        await services.complaints.vendors.propose_resolution(
            caller, filed.tracking_code, "全额退款", concede=True
        )
        await services.complaints.consumers.accept(filed.tracking_code, filed.secret)
        codes.append(filed.tracking_code)
    return codes


async def _case(services: Services, reference: str) -> BlacklistCase:
    async with services.ctx.db.read() as session:
        return (
            await session.execute(select(BlacklistCase).where(BlacklistCase.reference == reference))
        ).scalar_one()


async def test_evaluation_opens_a_case_logs_its_evidence_and_never_lists(
    services: Services, association: str, clock: ManualClock
) -> None:
    """Five conceded complaints from three consumers open one case (the fifth
    substantiation's reaction) citing the rule version and a logged evidence digest; the
    vendor is notified; nothing is listed, and the scheduled evaluation, then or after
    the answer window, opens nothing more."""
    vendor = await member_vendor(services, association, "overcharger")
    await _adopt_default_rules(services)
    codes = await conceded_complaints(services, vendor, 4, 3)
    clock.advance(timedelta(days=31))
    assert (await services.blacklist_rules.evaluate()).opened == []  # 4 < 5

    # The fifth substantiation re-evaluates the vendor's rules in its own transaction.
    codes += await conceded_complaints(services, vendor, 1, 3, start=4)
    async with services.ctx.db.read() as session:
        references = list((await session.execute(select(BlacklistCase.reference))).scalars())
    assert len(references) == 1
    case = await _case(services, references[0])
    assert (case.state, case.rule_id, case.rule_version) == (CaseState.AWAITING_ANSWER, RULE, 1)
    assert case.vendor_id is not None
    assert case.governance == "member"
    assert sorted(item["ref"] for item in case.evidence["items"]) == sorted(codes)
    assert case.evidence_digest == hashlib.sha256(canonicalize(case.evidence)).hexdigest()

    async with services.ctx.db.read() as session:
        leaf = await session.get(LogEntry, case.log_index)
        steps = list(
            (await session.execute(select(CaseStep).where(CaseStep.case_id == case.id))).scalars()
        )
        events = list(
            (
                await session.execute(
                    select(OutboxMessage.event).where(OutboxMessage.vendor_id == case.vendor_id)
                )
            ).scalars()
        )
    assert leaf is not None
    assert leaf.entry_type == "blacklist.case.opened"
    logged = json.loads(leaf.leaf)["body"]
    assert logged["evidence"] == case.evidence
    assert logged["evidence_digest"] == case.evidence_digest
    assert b"13800" not in leaf.leaf  # no phone number, not even a fingerprint
    assert [step.kind for step in steps] == [StepKind.OPENED, StepKind.NOTIFIED]
    assert {"blacklist.opened", "blacklist.notified"} <= set(events)

    assert (await services.blacklist_rules.evaluate()).opened == []
    assert (await services.blacklist_rules.replay(case.reference)).reproduced
    blacklist_jobs = [job for job in JOBS if job.id.startswith("blacklist-")]
    clock.set(case.answer_due_at - timedelta(seconds=1))
    await run_jobs_once(services, blacklist_jobs)
    assert (await _case(services, case.reference)).state is CaseState.AWAITING_ANSWER
    clock.set(case.answer_due_at)
    await run_jobs_once(services, blacklist_jobs)
    await run_jobs_once(services, blacklist_jobs)  # idempotent: nothing more happens
    assert (await _case(services, case.reference)).state is CaseState.VOTING
    assert await _count(services, BlacklistCase) == 1
    assert await _count(services, Listing) == 0
    async with services.ctx.db.read() as session:
        kinds = (
            await session.execute(
                select(CaseStep.kind).where(CaseStep.case_id == case.id).order_by(CaseStep.id)
            )
        ).scalars()
        assert list(kinds) == [
            StepKind.OPENED,
            StepKind.NOTIFIED,
            StepKind.ANSWER_WINDOW_CLOSED,
        ]


async def test_replay_reproduces_the_bundle_and_digest_after_the_facts_moved_on(
    services: Services, association: str, clock: ManualClock
) -> None:
    """Later complaints and a later rulebook do not change what replay recomputes."""
    vendor = await member_vendor(services, association, "replayed")
    await _adopt_default_rules(services)
    await conceded_complaints(services, vendor, 5, 5)
    reference = await _evaluated_after_notice(services, clock)
    clock.advance(timedelta(days=2))
    await conceded_complaints(services, vendor, 3, 3, start=5)
    replay = await services.blacklist_rules.replay(reference)
    assert replay.reproduced, replay
    assert replay.recomputed_digest == (await _case(services, reference)).evidence_digest
    assert all(r.reproduced for r in await services.blacklist_rules.replay_all())


async def test_a_new_rulebook_waits_for_its_notice_and_leaves_open_cases_alone(
    services: Services, association: str, clock: ManualClock, role_tokens: dict[Role, str]
) -> None:
    """Version 2 must take effect 30 days or more after publication; only the changed rule
    gets a new version; a case opened under version 1 still cites version 1."""
    vendor = await member_vendor(services, association, "versioned")
    await _adopt_default_rules(services)
    await conceded_complaints(services, vendor, 5, 3)
    reference = await _evaluated_after_notice(services, clock)
    admin = await services.accounts.authenticate(role_tokens[Role.ASSOCIATION_ADMIN])
    rules: list[dict[str, Any]] = [
        {
            "rule_id": rule.rule_id,
            "kind": rule.kind.value,
            "title_zh": rule.title_zh,
            "title_en": rule.title_en,
            "text_zh": rule.text_zh,
            "text_en": rule.text_en,
            "parameters": rule.parameters,
            "tier_proposed": rule.tier_proposed.value,
        }
        for rule in DEFAULT_RULES
    ]
    rules[0]["parameters"] = {**rules[0]["parameters"], "min_complaints": 3}
    now = clock.now()
    with pytest.raises(InvalidInput, match="notice period"):
        await services.blacklist_rules.publish(admin, association, rules, now + timedelta(days=29))
    view = await services.blacklist_rules.publish(
        admin, association, rules, now + timedelta(days=30)
    )
    assert view.book.version == 2
    assert {r.rule_id: r.version for r in view.rules} == {
        RULE: 2,
        "first-response-sla": 1,
        "personal-information-leak": 1,
        "attestation-contradicted": 1,
    }
    clock.advance(timedelta(days=31))
    case = await _case(services, reference)
    assert (case.rule_version, case.state) == (1, CaseState.AWAITING_ANSWER)
    async with services.ctx.db.read() as session:
        cited = await session.get(BlacklistRule, case.rule_row_id)
    assert cited is not None
    assert cited.parameters["min_complaints"] == 5


async def test_the_vendor_answers_with_its_own_signed_envelope_only(
    services: Services, association: str, clock: ManualClock
) -> None:
    """Another vendor's token or key is refused and writes nothing; the vendor's own signed
    answer moves the case to voting with a decision deadline; a second answer conflicts;
    after the window nothing is accepted."""
    vendor = await member_vendor(services, association, "answering")
    other = await member_vendor(services, association, "bystander")
    await _adopt_default_rules(services)
    await conceded_complaints(services, vendor, 5, 3)
    reference = await _evaluated_after_notice(services, clock)

    def envelope(key: SigningKey, text: str = "已全额退款并整改计费系统。") -> Envelope:
        return answer_envelope(
            key,
            case=reference,
            vendor=vendor.slug,
            statement=text,
            remedies=["退款", "修复重复扣费缺陷"],
            evidence_digests=["ab" * 32],
            issued_at=clock.now() - timedelta(seconds=5),
        )

    own = await services.accounts.authenticate(vendor.token)
    stranger = await services.accounts.authenticate(other.token)
    before = (await _count(services, LogEntry), await _count(services, CaseAnswer))
    with pytest.raises(NotFound):
        await services.blacklist_notice.answer(stranger, reference, envelope(vendor.key))
    with pytest.raises(InvalidSignature, match="belongs to someone else"):
        await services.blacklist_notice.answer(own, reference, envelope(other.key))
    with pytest.raises(NotFound):
        await services.blacklist_notice.case(stranger, reference)
    assert (await _count(services, LogEntry), await _count(services, CaseAnswer)) == before

    signed = envelope(vendor.key)
    view = await services.blacklist_notice.answer(own, reference, signed)
    assert view.case.state is CaseState.VOTING
    assert view.answer is not None
    assert view.answer.remedies == ["退款", "修复重复扣费缺陷"]
    assert view.case.decision_due_at is not None
    assert [s.kind for s in view.steps][-1] is StepKind.ANSWERED
    again = await services.blacklist_notice.answer(own, reference, signed)
    assert again.answer is not None
    assert again.answer.id == view.answer.id
    with pytest.raises(Conflict):
        await services.blacklist_notice.answer(own, reference, envelope(vendor.key, "另一份"))


async def test_the_window_counts_working_days_around_national_day(
    services: Services, association: str, clock: ManualClock
) -> None:
    """A case opened on 30 September 2026 may be answered until 20 October (10 working days:
    the National Day week does not count, the make-up Saturday 10 October does)."""
    clock.set(datetime(2026, 8, 20, 2, 0, tzinfo=UTC))
    vendor = await member_vendor(services, association, "holiday")
    assert await services.blacklist_rules.publish_default_rulebooks() == ["csia@1"]
    clock.set(datetime(2026, 9, 18, 2, 0, tzinfo=UTC))  # before the rules take effect
    await conceded_complaints(services, vendor, 5, 3)
    clock.set(datetime(2026, 9, 30, 2, 0, tzinfo=UTC))  # 10:00 in Beijing
    reference = (await services.blacklist_rules.evaluate()).opened[0]
    case = await _case(services, reference)
    assert case.answer_due_at == datetime(2026, 10, 20, 16, 0, tzinfo=UTC)  # 21 Oct 00:00 CST
    clock.set(datetime(2026, 10, 20, 15, 59, tzinfo=UTC))
    assert await services.blacklist_notice.close_answer_windows() == 0
    own = await services.accounts.authenticate(vendor.token)
    answered = await services.blacklist_notice.answer(
        own,
        reference,
        answer_envelope(
            vendor.key,
            case=reference,
            vendor=vendor.slug,
            statement="已整改。",
            issued_at=clock.now() - timedelta(seconds=5),
        ),
    )
    # 15 working days from 21 Oct (Beijing): due at the end of 10 November.
    assert answered.case.decision_due_at == datetime(2026, 11, 10, 16, 0, tzinfo=UTC)


async def test_a_mediator_relays_only_for_a_non_member_and_its_own_association(
    services: Services, association: str, clock: ManualClock, role_tokens: dict[Role, str]
) -> None:
    """A mediator cannot answer a member vendor's case for it."""
    vendor = await member_vendor(services, association, "member-answer")
    await _adopt_default_rules(services)
    await conceded_complaints(services, vendor, 5, 3)
    reference = await _evaluated_after_notice(services, clock)
    mediator = await services.accounts.authenticate(role_tokens[Role.MEDIATOR])
    with pytest.raises(Conflict):
        await services.blacklist_notice.relay_answer(mediator, reference, "代为陈述", [], [])
    outsider = Caller(mediator.principal_id, Role.MEDIATOR, association_id=None)
    with pytest.raises(NotFound):
        await services.blacklist_notice.relay_answer(outsider, reference, "代为陈述", [], [])


async def test_an_audit_contradicting_an_attestation_opens_both_audit_rules_at_once(
    services: Services, association: str, clock: ManualClock
) -> None:
    """An audit finding a major nonconformity on information security, for a period the
    vendor had attested as fully met, opens the leak case and the contradiction case as
    the audit is recorded; each cites the audit's (and the attestation's) log index, and
    replays to the same digest."""
    vendor = await member_vendor(
        services, association, "leaky-cloud", applied_before=AUDITED_VENDOR_AGE
    )
    await _adopt_default_rules(services)
    clock.advance(timedelta(days=31))
    now = clock.now()
    caller = await services.accounts.authenticate(vendor.token)
    attested = await services.attestations.submit(
        caller,
        vendor.slug,
        attestation_envelope(
            vendor.key,
            vendor=vendor.slug,
            period=(now - timedelta(days=60), now - timedelta(days=30)),
            issued_at=now,
        ),
    )
    auditor = await accredited_auditor(services, "zhengxin-audit")
    audited = await services.audits.submit(
        await services.accounts.authenticate(auditor.token),
        audit_envelope(
            auditor.key,
            auditor="zhengxin-audit",
            vendor=vendor.slug,
            period=(now - timedelta(days=180), now - timedelta(days=1)),
            issued_at=now,
            report=b"audit report: customer records exposed",
            passed=False,
            outcomes=dict.fromkeys(DEFAULT_CRITERIA, "conformity")
            | {"information-security": "major_nonconformity"},
        ),
    )
    async with services.ctx.db.read() as session:
        cases = {
            case.rule_id: case
            for case in (
                await session.execute(
                    select(BlacklistCase).where(BlacklistCase.subject_value == vendor.slug)
                )
            ).scalars()
        }
    assert set(cases) == {"personal-information-leak", "attestation-contradicted"}
    leak = cases["personal-information-leak"]
    assert leak.tier_proposed.value == "serious"
    assert leak.evidence["items"] == [
        {
            "type": "audit",
            "ref": f"audit:{audited.record.id}",
            "criterion": "information-security",
            "outcome": "major_nonconformity",
            "log_index": audited.record.log_index,
        }
    ]
    (contradiction,) = cases["attestation-contradicted"].evidence["items"]
    assert contradiction["ref"] == f"attestation:{attested.record.id}"
    assert contradiction["log_index"] == attested.record.log_index
    assert contradiction["criteria"] == ["information-security"]
    assert contradiction["audit_log_index"] == audited.record.log_index
    assert (await services.blacklist_rules.evaluate()).opened == []
    for case in cases.values():
        assert (await services.blacklist_rules.replay(case.reference)).reproduced
    assert await _count(services, Listing) == 0
