"""Request and response shapes of /api/v1/blacklist (rulebooks, terms, cases, answers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from member_api.schemas import PageOut, page_out
from registry.blacklist.models import BlacklistCase, BlacklistRule, CaseAnswer, CaseStep
from registry.blacklist.notice import CaseView
from registry.blacklist.rulebooks import Terms
from registry.blacklist.services import RulebookView
from registry.pagination import Page


class TermsOut(msgspec.Struct):
    """An association's blacklist procedure; `custom` is false while it uses the defaults."""

    notice_period_days: int
    day_counting: str
    """`working` (State Council holiday calendar) or `calendar`."""
    answer_window_days: int
    decision_window_days: int
    decision_extension_days: int
    quorum_numerator: int
    quorum_denominator: int
    majority: str
    appeal_window_days: int
    appeal_decision_days: int
    repair_decision_days: int
    watch_period_days: int
    watch_answer_window_days: int
    custom: bool


class TermsIn(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The terms to change; those left out stay as they are."""

    notice_period_days: int | None = None
    day_counting: str | None = None
    answer_window_days: int | None = None
    decision_window_days: int | None = None
    decision_extension_days: int | None = None
    quorum_numerator: int | None = None
    quorum_denominator: int | None = None
    majority: str | None = None
    appeal_window_days: int | None = None
    appeal_decision_days: int | None = None
    repair_decision_days: int | None = None
    watch_period_days: int | None = None
    watch_answer_window_days: int | None = None

    def changes(self) -> dict[str, Any]:
        """Only what was sent."""
        return {k: v for k, v in msgspec.structs.asdict(self).items() if v is not None}


class RuleIn(msgspec.Struct, forbid_unknown_fields=True):
    """One rule of a rulebook version."""

    rule_id: str
    kind: str
    """`substantiated_complaints`, `sla_breach_ratio`, `personal_information_leak` or
    `attestation_contradicted`."""
    title_zh: str
    title_en: str
    text_zh: str
    text_en: str
    parameters: dict[str, Any]
    tier_proposed: str
    """`minor`, `general` or `serious`."""


class RulebookIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new rulebook version: every rule in force, and when it takes effect."""

    effective_from: datetime
    """At least the association's notice period (default 30 days) from now."""
    rules: list[RuleIn]


class RuleOut(msgspec.Struct):
    """A rule as a rulebook version states it; cases cite `rule_id@version`."""

    rule_id: str
    version: int
    kind: str
    title_zh: str
    title_en: str
    text_zh: str
    text_en: str
    parameters: dict[str, Any]
    tier_proposed: str
    effective_from: datetime


class RulebookOut(msgspec.Struct):
    """A published rulebook version; never edited."""

    association: str
    version: int
    published_at: datetime
    effective_from: datetime
    digest: str
    log_index: int
    rules: list[RuleOut]


class StepOut(msgspec.Struct):
    """One step of a case's timeline, with its log leaf."""

    kind: str
    at: datetime
    ref: str | None
    log_index: int


class AnswerOut(msgspec.Struct):
    """The subject's statement and defence."""

    channel: str
    statement: str
    remedies: list[str]
    evidence_digests: list[str]
    key_id: str | None
    received_at: datetime
    log_index: int


class CaseSummaryOut(msgspec.Struct):
    """A case in a list."""

    reference: str
    association: str | None
    subject_kind: str
    subject_value: str
    rule: str
    tier_proposed: str
    state: str
    opened_at: datetime
    answer_due_at: datetime
    decision_due_at: datetime | None
    evidence_digest: str
    log_index: int


class CaseOut(msgspec.Struct):
    """A case: who governs it, the cited rule, its evidence, windows and timeline."""

    reference: str
    association: str
    governance: str
    """`member`, `mediating_association` or `default_association` (README, "Blacklist")."""
    subject_kind: str
    subject_value: str
    vendor: str | None
    rule: str
    rule_kind: str
    tier_proposed: str
    state: str
    opened_at: datetime
    answer_due_at: datetime
    answered_at: datetime | None
    decision_due_at: datetime | None
    evidence_digest: str
    evidence: dict[str, Any]
    terms: dict[str, Any]
    watch: bool
    log_index: int
    steps: list[StepOut]
    answer: AnswerOut | None


class CasePage(msgspec.Struct):
    """A page of cases, newest first."""

    items: list[CaseSummaryOut]
    page: PageOut


class RelayIn(msgspec.Struct, forbid_unknown_fields=True):
    """A non-member subject's answer, relayed by a mediator of the governing association."""

    statement: str
    remedies: list[str] = []
    evidence_digests: list[str] = []


def terms_out(terms: Terms) -> TermsOut:
    """Shape terms."""
    return TermsOut(**terms.to_json(), custom=terms.custom)


def rule_out(rule: BlacklistRule) -> RuleOut:
    """Shape a rule."""
    return RuleOut(
        rule_id=rule.rule_id,
        version=rule.version,
        kind=rule.kind.value,
        title_zh=rule.title_zh,
        title_en=rule.title_en,
        text_zh=rule.text_zh,
        text_en=rule.text_en,
        parameters=dict(rule.parameters),
        tier_proposed=rule.tier_proposed.value,
        effective_from=rule.effective_from,
    )


def rulebook_out(view: RulebookView) -> RulebookOut:
    """Shape a rulebook version."""
    return RulebookOut(
        association=view.association,
        version=view.book.version,
        published_at=view.book.published_at,
        effective_from=view.book.effective_from,
        digest=view.book.digest,
        log_index=view.book.log_index,
        rules=[rule_out(rule) for rule in view.rules],
    )


def step_out(step: CaseStep) -> StepOut:
    """Shape a step."""
    return StepOut(kind=step.kind.value, at=step.at, ref=step.ref, log_index=step.log_index)


def answer_out(answer: CaseAnswer) -> AnswerOut:
    """Shape an answer."""
    return AnswerOut(
        channel=answer.channel.value,
        statement=answer.statement,
        remedies=list(answer.remedies),
        evidence_digests=list(answer.evidence_digests),
        key_id=answer.key_id,
        received_at=answer.received_at,
        log_index=answer.log_index,
    )


def case_out(view: CaseView) -> CaseOut:
    """Shape a case with its timeline."""
    case = view.case
    return CaseOut(
        reference=case.reference,
        association=view.association,
        governance=case.governance,
        subject_kind=case.subject_kind.value,
        subject_value=case.subject_value,
        vendor=view.vendor,
        rule=f"{case.rule_id}@{case.rule_version}",
        rule_kind=case.rule_kind.value,
        tier_proposed=case.tier_proposed.value,
        state=case.state.value,
        opened_at=case.opened_at,
        answer_due_at=case.answer_due_at,
        answered_at=case.answered_at,
        decision_due_at=case.decision_due_at,
        evidence_digest=case.evidence_digest,
        evidence=dict(case.evidence),
        terms=dict(case.terms),
        watch=case.watch,
        log_index=case.log_index,
        steps=[step_out(step) for step in view.steps],
        answer=answer_out(view.answer) if view.answer is not None else None,
    )


def case_summary_out(case: BlacklistCase, association: str | None = None) -> CaseSummaryOut:
    """Shape a case for a list."""
    return CaseSummaryOut(
        reference=case.reference,
        association=association,
        subject_kind=case.subject_kind.value,
        subject_value=case.subject_value,
        rule=f"{case.rule_id}@{case.rule_version}",
        tier_proposed=case.tier_proposed.value,
        state=case.state.value,
        opened_at=case.opened_at,
        answer_due_at=case.answer_due_at,
        decision_due_at=case.decision_due_at,
        evidence_digest=case.evidence_digest,
        log_index=case.log_index,
    )


def case_page(result: Page[BlacklistCase], page: int, page_size: int) -> CasePage:
    """Shape a page of cases."""
    return CasePage(
        items=[case_summary_out(case) for case in result.items],
        page=page_out(page, page_size, result.total),
    )
