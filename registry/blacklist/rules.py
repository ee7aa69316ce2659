"""Rule verdicts: pure functions of a rule, the facts about one subject, and an instant.

Nothing here reads the database or the clock, so evaluation and replay are the same
code over the same facts (`registry blacklist replay` must reproduce the bundle and its
digest byte for byte). A verdict that holds only *opens a case*; listing is the
committee's decision, never a rule's.

The evidence bundle names complaints by tracking code, audits and attestations by id,
each with the log index of its leaf where one exists. It never carries a contact, a
contact fingerprint, a description or a name: distinct complainants appear as labels
(`c1`, `c2`, …) that mean something only inside one bundle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import msgspec

from attestations.canonical import canonicalize
from registry.blacklist.states import RuleKind, SubjectKind, Tier
from registry.errors import InvalidInput
from registry.kernel.clock import isoformat

MAJOR_NONCONFORMITY = "major_nonconformity"
LEAK_CATEGORY = "personal_information_leak"
COMPLAINT_CATEGORIES = (
    "personal_information_leak",
    "quality_below_standard",
    "false_advertising",
    "missing_after_sales",
    "billing_refund",
    "unfair_terms",
    "other",
)
"""The complaint categories a rule may be limited to (the complaint form's fixed list)."""
BUNDLE_FORMAT = 1
MAX_WINDOW_DAYS = 3 * 366


# --- parameters of each kind -------------------------------------------------------------


class SubstantiatedComplaintsParameters(msgspec.Struct, forbid_unknown_fields=True):
    """≥ `min_complaints` substantiated complaints from ≥ `min_distinct_complainants`
    distinct contacts, substantiated within the last `window_days` (optionally one
    category only)."""

    min_complaints: int
    min_distinct_complainants: int
    window_days: int
    category: str | None = None


class SlaBreachRatioParameters(msgspec.Struct, forbid_unknown_fields=True):
    """Of the complaints whose first response fell due within `window_days`, at least
    `min_complaints`, a share ≥ `min_ratio` was answered late or not at all."""

    min_ratio: float
    min_complaints: int
    window_days: int


class PersonalInformationLeakParameters(msgspec.Struct, forbid_unknown_fields=True):
    """A leak complaint upheld by a mediator, or an audit finding a major nonconformity
    on `security_criterion`, within `window_days`."""

    window_days: int
    security_criterion: str = "information-security"


class AttestationContradictedParameters(msgspec.Struct, forbid_unknown_fields=True):
    """An audit received within `window_days` found a major nonconformity on a criterion
    the vendor had attested as met for an overlapping period."""

    window_days: int


PARAMETER_SCHEMAS: dict[RuleKind, type[msgspec.Struct]] = {
    RuleKind.SUBSTANTIATED_COMPLAINTS: SubstantiatedComplaintsParameters,
    RuleKind.SLA_BREACH_RATIO: SlaBreachRatioParameters,
    RuleKind.PERSONAL_INFORMATION_LEAK: PersonalInformationLeakParameters,
    RuleKind.ATTESTATION_CONTRADICTED: AttestationContradictedParameters,
}


def parse_parameters(kind: RuleKind, parameters: dict[str, Any]) -> msgspec.Struct:
    """A rule's parameters checked against its kind, or InvalidInput naming the field."""
    try:
        parsed = msgspec.convert(parameters, PARAMETER_SCHEMAS[kind], strict=True)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"parameters of a {kind.value} rule: {exc}") from exc
    _check_ranges(parsed)
    return parsed


def _check_ranges(parsed: msgspec.Struct) -> None:
    window = getattr(parsed, "window_days", 0)
    if not 1 <= window <= MAX_WINDOW_DAYS:
        raise InvalidInput(
            f"window_days must be between 1 and {MAX_WINDOW_DAYS}",
            fields={"window_days": "out of range"},
        )
    if isinstance(parsed, SubstantiatedComplaintsParameters):
        if not 1 <= parsed.min_distinct_complainants <= parsed.min_complaints:
            raise InvalidInput(
                "min_distinct_complainants must be at least 1 and at most min_complaints",
                fields={"min_distinct_complainants": "out of range"},
            )
        if parsed.category is not None and parsed.category not in COMPLAINT_CATEGORIES:
            raise InvalidInput(
                f"category must be one of {', '.join(COMPLAINT_CATEGORIES)}",
                fields={"category": "unknown"},
            )
    if isinstance(parsed, SlaBreachRatioParameters) and not (
        0 < parsed.min_ratio <= 1 and parsed.min_complaints >= 1
    ):
        raise InvalidInput(
            "min_ratio must be in (0, 1] and min_complaints at least 1",
            fields={"min_ratio": "out of range"},
        )


# --- facts -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subject:
    """Who a rule is evaluated for."""

    kind: SubjectKind
    value: str

    def to_json(self) -> dict[str, str]:
        """The subject as the bundle names it."""
        return {"kind": self.kind.value, "value": self.value}


@dataclass(frozen=True, slots=True)
class ComplaintFact:
    """What a rule may know of one complaint. `complainant` (the keyed contact
    fingerprint) is used to count distinct complainants and never leaves this module."""

    tracking_code: str
    category: str
    filed_at: datetime
    substantiated_at: datetime | None
    upheld_at: datetime | None
    """When a mediator upheld it (None if not upheld)."""
    complainant: str | None
    """None once the consumer erased the contact: it then adds no distinct complainant."""
    first_response_due_at: datetime | None
    first_response_at: datetime | None
    mediation_log_index: int | None
    breach_log_index: int | None


@dataclass(frozen=True, slots=True)
class AuditFact:
    """An accepted audit result: its period, per-criterion outcomes and leaf."""

    id: int
    period_start: datetime
    period_end: datetime
    received_at: datetime
    outcomes: dict[str, str]
    log_index: int


@dataclass(frozen=True, slots=True)
class AttestationFact:
    """An accepted attestation: its period, the criteria it claims met, and its leaf."""

    id: int
    period_start: datetime
    period_end: datetime
    received_at: datetime
    criteria_met: frozenset[str]
    log_index: int


@dataclass(frozen=True)
class SubjectFacts:
    """Everything the registry holds that a rule may test, about one subject."""

    subject: Subject
    complaints: Sequence[ComplaintFact] = ()
    audits: Sequence[AuditFact] = ()
    attestations: Sequence[AttestationFact] = ()


@dataclass(frozen=True)
class RuleSpec:
    """A rule as evaluation needs it (the pure form of a `BlacklistRule` row)."""

    rule_id: str
    version: int
    kind: RuleKind
    parameters: dict[str, Any]
    tier_proposed: Tier

    @property
    def label(self) -> str:
        """`rule_id@version`."""
        return f"{self.rule_id}@{self.version}"


@dataclass(frozen=True)
class Verdict:
    """Whether the rule's condition holds, the counts behind it and the evidence items."""

    holds: bool
    counts: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)


def window_days_of(rule: RuleSpec) -> int:
    """How far back the rule looks."""
    return int(rule.parameters["window_days"])


def evaluate(rule: RuleSpec, facts: SubjectFacts, at: datetime) -> Verdict:
    """The rule's verdict on `facts` as they stood at `at`."""
    parameters = parse_parameters(rule.kind, rule.parameters)
    since = at - timedelta(days=window_days_of(rule))
    return _EVALUATORS[rule.kind](parameters, facts, since, at)


def _within(moment: datetime | None, since: datetime, at: datetime) -> bool:
    return moment is not None and since < moment <= at


def _substantiated_complaints(
    parameters: Any, facts: SubjectFacts, since: datetime, at: datetime
) -> Verdict:
    p: SubstantiatedComplaintsParameters = parameters
    counted = sorted(
        (
            c
            for c in facts.complaints
            if _within(c.substantiated_at, since, at)
            and (p.category is None or c.category == p.category)
        ),
        key=lambda c: (c.substantiated_at, c.tracking_code),
    )
    labels: dict[str, str] = {}
    items = []
    for complaint in counted:
        label = None
        if complaint.complainant is not None:
            label = labels.setdefault(complaint.complainant, f"c{len(labels) + 1}")
        items.append(
            {
                "type": "complaint",
                "ref": complaint.tracking_code,
                "category": complaint.category,
                "complainant": label,
                "substantiated_at": isoformat(complaint.substantiated_at),  # type: ignore[arg-type]
                "log_index": complaint.mediation_log_index,
            }
        )
    holds = len(counted) >= p.min_complaints and len(labels) >= p.min_distinct_complainants
    return Verdict(
        holds, {"substantiated": len(counted), "distinct_complainants": len(labels)}, items
    )


def _sla_breach_ratio(
    parameters: Any, facts: SubjectFacts, since: datetime, at: datetime
) -> Verdict:
    p: SlaBreachRatioParameters = parameters
    counted = sorted(
        (c for c in facts.complaints if _within(c.first_response_due_at, since, at)),
        key=lambda c: (c.first_response_due_at, c.tracking_code),
    )
    items = []
    breached = 0
    for complaint in counted:
        due = complaint.first_response_due_at
        assert due is not None  # noqa: S101 - filtered above
        late = complaint.first_response_at is None or complaint.first_response_at > due
        breached += late
        items.append(
            {
                "type": "complaint",
                "ref": complaint.tracking_code,
                "first_response_due_at": isoformat(due),
                "breached": late,
                "log_index": complaint.breach_log_index if late else None,
            }
        )
    ratio = breached / len(counted) if counted else 0.0
    holds = len(counted) >= p.min_complaints and ratio >= p.min_ratio
    return Verdict(
        holds,
        {"complaints": len(counted), "breached": breached, "ratio": round(ratio, 4)},
        items,
    )


def _personal_information_leak(
    parameters: Any, facts: SubjectFacts, since: datetime, at: datetime
) -> Verdict:
    p: PersonalInformationLeakParameters = parameters
    items: list[dict[str, Any]] = [
        {
            "type": "complaint",
            "ref": c.tracking_code,
            "category": c.category,
            "upheld_at": isoformat(c.upheld_at),  # type: ignore[arg-type]
            "log_index": c.mediation_log_index,
        }
        for c in sorted(facts.complaints, key=lambda c: (c.filed_at, c.tracking_code))
        if c.category == LEAK_CATEGORY and _within(c.upheld_at, since, at)
    ]
    complaints = len(items)
    items.extend(
        {
            "type": "audit",
            "ref": f"audit:{a.id}",
            "criterion": p.security_criterion,
            "outcome": MAJOR_NONCONFORMITY,
            "log_index": a.log_index,
        }
        for a in sorted(facts.audits, key=lambda a: a.id)
        if _within(a.received_at, since, at)
        and a.outcomes.get(p.security_criterion) == MAJOR_NONCONFORMITY
    )
    return Verdict(
        bool(items),
        {"upheld_leak_complaints": complaints, "audit_findings": len(items) - complaints},
        items,
    )


def _attestation_contradicted(
    parameters: Any, facts: SubjectFacts, since: datetime, at: datetime
) -> Verdict:
    items: list[dict[str, Any]] = []
    contradictions = 0
    for audit in sorted(facts.audits, key=lambda a: a.id):
        if not _within(audit.received_at, since, at):
            continue
        failed = sorted(c for c, o in audit.outcomes.items() if o == MAJOR_NONCONFORMITY)
        for attestation in sorted(facts.attestations, key=lambda a: a.id):
            if attestation.received_at > at:
                continue
            overlap = (
                attestation.period_start < audit.period_end
                and audit.period_start < attestation.period_end
            )
            contradicted = [c for c in failed if c in attestation.criteria_met]
            if not overlap or not contradicted:
                continue
            contradictions += len(contradicted)
            items.append(
                {
                    "type": "attestation",
                    "ref": f"attestation:{attestation.id}",
                    "contradicted_by": f"audit:{audit.id}",
                    "criteria": contradicted,
                    "log_index": attestation.log_index,
                    "audit_log_index": audit.log_index,
                }
            )
    return Verdict(bool(items), {"contradictions": contradictions}, items)


_EVALUATORS: dict[RuleKind, Callable[[Any, SubjectFacts, datetime, datetime], Verdict]] = {
    RuleKind.SUBSTANTIATED_COMPLAINTS: _substantiated_complaints,
    RuleKind.SLA_BREACH_RATIO: _sla_breach_ratio,
    RuleKind.PERSONAL_INFORMATION_LEAK: _personal_information_leak,
    RuleKind.ATTESTATION_CONTRADICTED: _attestation_contradicted,
}


# --- the evidence bundle -----------------------------------------------------------------


def evidence_bundle(
    rule: RuleSpec, subject: Subject, association: str, verdict: Verdict, at: datetime
) -> dict[str, Any]:
    """The bundle a case cites: what was tested, over which window, and the evidence."""
    return {
        "format": BUNDLE_FORMAT,
        "association": association,
        "rule": rule.label,
        "kind": rule.kind.value,
        "parameters": rule.parameters,
        "subject": subject.to_json(),
        "evaluated_at": isoformat(at),
        "window": {
            "from": isoformat(at - timedelta(days=window_days_of(rule))),
            "until": isoformat(at),
        },
        "counts": verdict.counts,
        "items": verdict.items,
    }


def evidence_digest(bundle: dict[str, Any]) -> str:
    """Hex SHA-256 of the bundle's RFC 8785 canonical JSON."""
    return hashlib.sha256(canonicalize(bundle)).hexdigest()


def item_refs(bundle: dict[str, Any]) -> frozenset[str]:
    """The references a bundle cites, to tell whether new evidence has appeared."""
    return frozenset(str(item["ref"]) for item in bundle.get("items", []))
