"""Scheme documents: criteria, levels, validity and deadlines as versioned data.

A scheme version is published once and never edited; a certificate names the version it
was granted under, so a later version cannot change what an existing grant meant. The
default scheme turns the consumer-protection programme's pillars into criteria.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec

from registry.errors import InvalidInput

DEFAULT_SCHEME_SLUG = "consumer-protection"


class Threshold(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A metric bound: `max` or `min` (inclusive) that an L3 vendor's figures must keep."""

    max: float | None = None
    min: float | None = None

    def holds(self, value: float) -> bool:
        """True when `value` is within the bound."""
        if self.max is not None and value > self.max:
            return False
        return not (self.min is not None and value < self.min)


class Criterion(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One requirement, in both languages, with the kind of evidence it expects."""

    id: str
    title_zh: str
    title_en: str
    guidance_zh: str
    guidance_en: str
    evidence: str
    """`document` (URL or digest of a policy), `metric` (figures) or `record` (logs, certificates)."""


DEFAULT_L3_PERIODS = 2
"""Consecutive attested periods an L3 certificate needs unless the scheme says otherwise."""


class SchemeRules(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The decoded scheme document; every deadline of the state machine comes from here.

    Frozen: a worker keeps the rules of published versions across requests.
    """

    criteria: list[Criterion]
    metrics: dict[str, Threshold]
    """Metric name to the bound an L3 certificate needs."""
    validity_days: int = 365
    audit_cadence_days: int = 182
    """An audited (L2/L3) certificate needs a new audit this often."""
    audit_grace_days: int = 30
    """How long past the audit due date before the certificate is suspended."""
    renewal_window_days: int = 60
    """The certificate turns renewal_due this many days before it expires."""
    reminder_days: list[int] = msgspec.field(default_factory=lambda: [60, 30, 7])
    l3_periods: int = DEFAULT_L3_PERIODS
    """Consecutive attested periods whose figures must all be within thresholds for L3."""

    @property
    def criterion_ids(self) -> list[str]:
        """The ids every attestation must answer."""
        return [c.id for c in self.criteria]

    @property
    def validity(self) -> timedelta:
        """How long a grant or renewal lasts."""
        return timedelta(days=self.validity_days)

    @property
    def audit_cadence(self) -> timedelta:
        """Interval between audits."""
        return timedelta(days=self.audit_cadence_days)

    @property
    def audit_grace(self) -> timedelta:
        """Slack after the audit due date."""
        return timedelta(days=self.audit_grace_days)

    @property
    def renewal_window(self) -> timedelta:
        """Lead time of renewal_due."""
        return timedelta(days=self.renewal_window_days)


class SchemeVersion(msgspec.Struct, frozen=True):
    """A published scheme version as plain values, safe to keep across requests.

    A `Scheme` row belongs to the session that loaded it: kept past that session's end
    (a rollback expires it) it fails on its next attribute read, for every later request
    that finds it. What outlives a request is this copy instead.
    """

    id: int
    association_id: int
    slug: str
    version: int
    rules: SchemeRules

    @property
    def label(self) -> str:
        """`slug@version`, as statements and log leaves name the version."""
        return f"{self.slug}@{self.version}"


def parse_rules(document: dict[str, Any]) -> SchemeRules:
    """Decode and check a scheme document."""
    try:
        rules = msgspec.convert(document, SchemeRules, strict=True)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"scheme document: {exc}") from exc
    ids = rules.criterion_ids
    if not ids or len(set(ids)) != len(ids):
        raise InvalidInput("a scheme needs at least one criterion and unique criterion ids")
    if min(rules.validity_days, rules.audit_cadence_days, rules.l3_periods) < 1:
        raise InvalidInput("validity, audit cadence and L3 periods must be positive")
    return rules


def _criterion(
    cid: str, title: tuple[str, str], guidance: tuple[str, str], evidence: str
) -> dict[str, str]:
    """A criterion document from (zh, en) pairs."""
    return {
        "id": cid,
        "title_zh": title[0],
        "title_en": title[1],
        "guidance_zh": guidance[0],
        "guidance_en": guidance[1],
        "evidence": evidence,
    }


DEFAULT_SCHEME_TITLE = (
    "消费者权益保护自律认证",
    "Consumer Protection Self-Regulation Certification",
)

DEFAULT_SCHEME_DOCUMENT: dict[str, Any] = {
    "criteria": [
        _criterion(
            "complaint-channel",
            ("投诉渠道与24小时内首次响应", "Complaint channel and first response within 24 h"),
            (
                "公开投诉渠道，每件投诉在24小时内首次响应并记录处理过程。",
                "Publish a complaint channel; answer every complaint within 24 hours and keep a record.",
            ),
            "metric",
        ),
        _criterion(
            "service-quality",
            ("服务质量监测与用户满意度调查", "Service-quality monitoring and user surveys"),
            (
                "定期开展用户满意度调查并监测服务质量指标。",
                "Run regular satisfaction surveys and monitor service-quality indicators.",
            ),
            "metric",
        ),
        _criterion(
            "information-security",
            ("信息安全管理与事件报告", "Information-security management and incident reporting"),
            (
                "建立信息安全管理制度，个人信息泄露事件及时报告。",
                "Operate an information-security management system; report personal-data incidents promptly.",
            ),
            "record",
        ),
        _criterion(
            "after-sales-support",
            ("7×24小时售后服务", "7×24 after-sales support"),
            ("提供全天候售后支持渠道。", "Offer an after-sales support channel around the clock."),
            "document",
        ),
        _criterion(
            "legal-training",
            ("员工法律培训", "Staff legal training"),
            (
                "面向客服与销售人员开展消费者权益保护法律培训。",
                "Train support and sales staff on consumer-protection law.",
            ),
            "record",
        ),
        _criterion(
            "truthful-advertising",
            ("真实宣传与清晰条款", "Truthful advertising and clear terms"),
            (
                "宣传内容真实，服务条款清晰易懂，无不公平格式条款。",
                "Advertise truthfully; keep terms clear and free of unfair standard clauses.",
            ),
            "document",
        ),
        _criterion(
            "feedback-publication",
            ("公开消费者反馈", "Publication of consumer feedback"),
            (
                "定期公开消费者反馈及处理情况。",
                "Publish consumer feedback and how it was handled, regularly.",
            ),
            "document",
        ),
    ],
    "metrics": {
        "median_first_response_hours": {"max": 24},
        "answered_within_24h_share": {"min": 0.9},
        "satisfaction_rate": {"min": 0.8},
        "security_incidents": {"max": 0},
        "training_completion": {"min": 0.9},
    },
    "validity_days": 365,
    "audit_cadence_days": 182,
    "audit_grace_days": 30,
    "renewal_window_days": 60,
    "reminder_days": [60, 30, 7],
    "l3_periods": 2,
}
