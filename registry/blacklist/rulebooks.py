"""Rulebooks as versioned data, each association's blacklist terms, and the default
rulebook built from the consumer-protection programme.

A rulebook version is published whole, with an effective date at least the notice
period after publication, and is never edited. A rule keeps its `rule_id` across
versions; its `version` grows only when its content changes, so a case citing
`rule_id@version` names exactly what it was opened under. Cases copy the rule row id and
the terms they opened with, so a later version never changes a case already open.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from attestations.canonical import canonicalize
from registry.blacklist.models import BlacklistRule, BlacklistTerms, Rulebook
from registry.blacklist.rules import RuleSpec, parse_parameters
from registry.blacklist.states import DayCounting, MajorityRule, RuleKind, Tier
from registry.errors import InvalidInput
from registry.federation.models import Association
from registry.kernel.clock import isoformat
from registry.settings import Settings
from registry.transparency.entries import EntryType
from registry.transparency.services import LogAppender, PendingLeaf

RULE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
MAX_RULES = 50
MAX_TITLE = 200
MAX_TEXT = 4000


@dataclass(frozen=True)
class RuleInput:
    """One rule as an association publishes it."""

    rule_id: str
    kind: RuleKind
    title_zh: str
    title_en: str
    text_zh: str
    text_en: str
    parameters: dict[str, Any]
    tier_proposed: Tier

    def content(self) -> dict[str, Any]:
        """What a version number stands for: everything but the id."""
        return {
            "kind": self.kind.value,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "text_zh": self.text_zh,
            "text_en": self.text_en,
            "parameters": self.parameters,
            "tier_proposed": self.tier_proposed.value,
        }


DEFAULT_RULES: tuple[RuleInput, ...] = (
    RuleInput(
        "complaints-substantiated",
        RuleKind.SUBSTANTIATED_COMPLAINTS,
        "多名消费者的投诉经查属实",
        "Substantiated complaints from several consumers",
        "90日内有至少5件投诉经调解员支持或经营者承认，且来自至少3名不同的投诉人。",
        "At least 5 complaints upheld by a mediator or conceded by the vendor within 90 days, "
        "from at least 3 different complainants.",
        {"min_complaints": 5, "min_distinct_complainants": 3, "window_days": 90},
        Tier.GENERAL,
    ),
    RuleInput(
        "first-response-sla",
        RuleKind.SLA_BREACH_RATIO,
        "投诉首次响应屡次超时",
        "First response to complaints repeatedly late",
        "90日内首次响应期限届满的投诉不少于10件，其中半数以上未在24小时期限内首次响应。",
        "Of at least 10 complaints whose first response fell due within 90 days, half or "
        "more were not answered within the 24-hour deadline.",
        {"min_ratio": 0.5, "min_complaints": 10, "window_days": 90},
        Tier.MINOR,
    ),
    RuleInput(
        "personal-information-leak",
        RuleKind.PERSONAL_INFORMATION_LEAK,
        "个人信息泄露经确认",
        "Confirmed personal-information leak",
        "一年内有个人信息泄露投诉经调解员支持，或审核在信息安全准则上发现严重不符合项。",
        "Within one year, a personal-information leak complaint upheld by a mediator, or an "
        "audit finding a major nonconformity on the information-security criterion.",
        {"window_days": 365, "security_criterion": "information-security"},
        Tier.SERIOUS,
    ),
    RuleInput(
        "attestation-contradicted",
        RuleKind.ATTESTATION_CONTRADICTED,
        "自律声明与审核结论相悖",
        "Self-attestation contradicted by an audit",
        "一年内收到的审核在某项准则上发现严重不符合项，而经营者曾声明同期符合该准则。",
        "An audit received within one year found a major nonconformity on a criterion the "
        "vendor had attested as met for an overlapping period.",
        {"window_days": 365},
        Tier.GENERAL,
    ),
)
"""One rule of each kind, from the programme's pillars (thresholds in the README)."""


@dataclass(frozen=True)
class Terms:
    """An association's blacklist procedure, as a case copies it when it opens."""

    notice_period_days: int
    day_counting: DayCounting
    answer_window_days: int
    decision_window_days: int
    decision_extension_days: int
    quorum_numerator: int
    quorum_denominator: int
    majority: MajorityRule
    appeal_window_days: int
    appeal_decision_days: int
    repair_decision_days: int
    watch_period_days: int
    watch_answer_window_days: int
    custom: bool = False

    def to_json(self) -> dict[str, Any]:
        """The terms as a case and a log leaf record them."""
        data = asdict(self)
        data.pop("custom")
        data["day_counting"] = self.day_counting.value
        data["majority"] = self.majority.value
        return data

    @classmethod
    def from_settings(cls, settings: Settings) -> Terms:
        """The defaults, for an association that set none."""
        return cls(
            notice_period_days=settings.blacklist_notice_period_days,
            day_counting=DayCounting(settings.blacklist_day_counting),
            answer_window_days=settings.blacklist_answer_window_days,
            decision_window_days=settings.blacklist_decision_window_days,
            decision_extension_days=settings.blacklist_decision_extension_days,
            quorum_numerator=settings.blacklist_quorum_numerator,
            quorum_denominator=settings.blacklist_quorum_denominator,
            majority=MajorityRule(settings.blacklist_majority),
            appeal_window_days=settings.blacklist_appeal_window_days,
            appeal_decision_days=settings.blacklist_appeal_decision_days,
            repair_decision_days=settings.blacklist_repair_decision_days,
            watch_period_days=settings.blacklist_watch_period_days,
            watch_answer_window_days=settings.blacklist_watch_answer_window_days,
        )

    @classmethod
    def from_row(cls, row: BlacklistTerms) -> Terms:
        """An association's own terms."""
        return cls(
            notice_period_days=row.notice_period_days,
            day_counting=row.day_counting,
            answer_window_days=row.answer_window_days,
            decision_window_days=row.decision_window_days,
            decision_extension_days=row.decision_extension_days,
            quorum_numerator=row.quorum_numerator,
            quorum_denominator=row.quorum_denominator,
            majority=row.majority,
            appeal_window_days=row.appeal_window_days,
            appeal_decision_days=row.appeal_decision_days,
            repair_decision_days=row.repair_decision_days,
            watch_period_days=row.watch_period_days,
            watch_answer_window_days=row.watch_answer_window_days,
            custom=True,
        )

    def check(self) -> None:
        """Refuse terms no fair procedure could run under."""
        days = {
            "notice_period_days": self.notice_period_days,
            "answer_window_days": self.answer_window_days,
            "decision_window_days": self.decision_window_days,
            "decision_extension_days": self.decision_extension_days,
            "appeal_window_days": self.appeal_window_days,
            "appeal_decision_days": self.appeal_decision_days,
            "repair_decision_days": self.repair_decision_days,
            "watch_period_days": self.watch_period_days,
            "watch_answer_window_days": self.watch_answer_window_days,
        }
        bad = {name: "must be between 1 and 3660" for name, v in days.items() if not 1 <= v <= 3660}
        if not 0 < self.quorum_numerator <= self.quorum_denominator <= 100:
            bad["quorum_numerator"] = "the quorum must be a fraction in (0, 1]"
        if bad:
            raise InvalidInput("; ".join(f"{k} {v}" for k, v in bad.items()), fields=bad)


async def terms_of(session: AsyncSession, association_id: int, settings: Settings) -> Terms:
    """The association's terms, or the settings' defaults."""
    row = (
        await session.execute(
            select(BlacklistTerms).where(BlacklistTerms.association_id == association_id)
        )
    ).scalar_one_or_none()
    return Terms.from_row(row) if row is not None else Terms.from_settings(settings)


def rule_input(data: dict[str, Any]) -> RuleInput:
    """A rule from its JSON form, checked: id, kind, texts, tier and parameters."""
    try:
        kind = RuleKind(str(data.get("kind")))
        tier = Tier(str(data.get("tier_proposed")))
    except ValueError as exc:
        raise InvalidInput(
            f"kind must be one of {', '.join(k.value for k in RuleKind)} and tier_proposed "
            f"one of {', '.join(t.value for t in Tier)}",
            fields={"kind": "unknown", "tier_proposed": "unknown"},
        ) from exc
    rule = RuleInput(
        rule_id=str(data.get("rule_id", "")),
        kind=kind,
        title_zh=str(data.get("title_zh", "")).strip(),
        title_en=str(data.get("title_en", "")).strip(),
        text_zh=str(data.get("text_zh", "")).strip(),
        text_en=str(data.get("text_en", "")).strip(),
        parameters=dict(data.get("parameters") or {}),
        tier_proposed=tier,
    )
    check_rule(rule)
    return rule


def check_rule(rule: RuleInput) -> None:
    """Refuse a malformed rule, naming the field."""
    if not RULE_ID_PATTERN.match(rule.rule_id):
        raise InvalidInput(
            "rule_id must be 2–63 lowercase letters, digits and hyphens",
            fields={"rule_id": "malformed"},
        )
    for name, limit in (("title_zh", MAX_TITLE), ("title_en", MAX_TITLE)):
        if not 0 < len(getattr(rule, name)) <= limit:
            raise InvalidInput(f"{name} must have 1–{limit} characters", fields={name: "length"})
    for name in ("text_zh", "text_en"):
        if not 0 < len(getattr(rule, name)) <= MAX_TEXT:
            raise InvalidInput(f"{name} must have 1–{MAX_TEXT} characters", fields={name: "length"})
    parse_parameters(rule.kind, rule.parameters)


async def rulebook_in_force(
    session: AsyncSession, association_id: int, at: datetime
) -> tuple[Rulebook, list[BlacklistRule]] | None:
    """The newest version effective at `at`, with its rules (None before the first)."""
    book = (
        await session.execute(
            select(Rulebook)
            .where(Rulebook.association_id == association_id, Rulebook.effective_from <= at)
            .order_by(Rulebook.version.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if book is None:
        return None
    rules = await session.execute(
        select(BlacklistRule)
        .where(BlacklistRule.rulebook_id == book.id)
        .order_by(BlacklistRule.rule_id)
    )
    return book, list(rules.scalars())


def spec_of(rule: BlacklistRule) -> RuleSpec:
    """The pure form of a rule row."""
    return RuleSpec(
        rule.rule_id, rule.version, rule.kind, dict(rule.parameters), rule.tier_proposed
    )


async def publish_rulebook(
    session: AsyncSession,
    association: Association,
    rules: list[RuleInput],
    *,
    effective_from: datetime,
    now: datetime,
    notice_period_days: int,
    published_by: int | None,
) -> Rulebook:
    """Publish a new version: checked, versioned rule by rule, logged, never edited after."""
    if not 0 < len(rules) <= MAX_RULES:
        raise InvalidInput(f"a rulebook has 1–{MAX_RULES} rules", fields={"rules": "count"})
    for rule in rules:
        check_rule(rule)
    ids = [rule.rule_id for rule in rules]
    if len(set(ids)) != len(ids):
        raise InvalidInput("each rule_id may appear once", fields={"rules": "duplicate rule_id"})
    earliest = now + timedelta(days=notice_period_days)
    if effective_from < earliest:
        raise InvalidInput(
            f"effective_from must be at least {notice_period_days} days after publication "
            f"(the notice period), i.e. {isoformat(earliest)} or later",
            fields={"effective_from": "inside the notice period"},
        )
    versions = await _next_rule_versions(session, association.id, rules)
    latest = await session.scalar(
        select(func.max(Rulebook.version)).where(Rulebook.association_id == association.id)
    )
    version = (latest or 0) + 1
    document = {
        "association": association.slug,
        "version": version,
        "effective_from": isoformat(effective_from),
        "rules": [
            {"rule_id": rule.rule_id, "version": versions[rule.rule_id], **rule.content()}
            for rule in sorted(rules, key=lambda r: r.rule_id)
        ],
    }
    digest = hashlib.sha256(canonicalize(document)).hexdigest()
    log_index = await LogAppender(session, now).append(
        PendingLeaf(EntryType.BLACKLIST_RULEBOOK_PUBLISHED, {**document, "digest": digest})
    )
    book = Rulebook(
        association_id=association.id,
        version=version,
        published_at=now,
        effective_from=effective_from,
        published_by=published_by,
        digest=digest,
        log_index=log_index,
        created_at=now,
    )
    session.add(book)
    await session.flush()
    session.add_all(
        BlacklistRule(
            rulebook_id=book.id,
            association_id=association.id,
            rule_id=rule.rule_id,
            version=versions[rule.rule_id],
            kind=rule.kind,
            title_zh=rule.title_zh,
            title_en=rule.title_en,
            text_zh=rule.text_zh,
            text_en=rule.text_en,
            parameters=rule.parameters,
            tier_proposed=rule.tier_proposed,
            effective_from=effective_from,
        )
        for rule in rules
    )
    return book


async def _next_rule_versions(
    session: AsyncSession, association_id: int, rules: list[RuleInput]
) -> dict[str, int]:
    """Each rule's version: the latest one's when the content is unchanged, else one more."""
    rows = await session.execute(
        select(BlacklistRule)
        .where(
            BlacklistRule.association_id == association_id,
            BlacklistRule.rule_id.in_([rule.rule_id for rule in rules]),
        )
        .order_by(BlacklistRule.rule_id, BlacklistRule.version.desc())
    )
    latest: dict[str, BlacklistRule] = {}
    for row in rows.scalars():
        latest.setdefault(row.rule_id, row)
    versions: dict[str, int] = {}
    for rule in rules:
        previous = latest.get(rule.rule_id)
        if previous is None:
            versions[rule.rule_id] = 1
        elif _content_of(previous) == rule.content():
            versions[rule.rule_id] = previous.version
        else:
            versions[rule.rule_id] = previous.version + 1
    return versions


def _content_of(rule: BlacklistRule) -> dict[str, Any]:
    return {
        "kind": rule.kind.value,
        "title_zh": rule.title_zh,
        "title_en": rule.title_en,
        "text_zh": rule.text_zh,
        "text_en": rule.text_en,
        "parameters": dict(rule.parameters),
        "tier_proposed": rule.tier_proposed.value,
    }
