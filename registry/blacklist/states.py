"""The blacklist's vocabulary and the case state machine, as pure data.

Kept apart from the models so the pure decisions (rule verdicts, tallies, windows) and
the property-based tests can import them without SQLAlchemy.

The case state machine (the README, "Blacklist", describes it for users)::

    awaiting_answer ──answer / window over──▶ voting ──quorate decision──▶ listed
          │                                     │                        └─▶ not_listed
          │                                     └──decision deadline missed──▶ lapsed
          └──(a case never skips voting: evaluation only opens cases)

A listing then lives on its own: listed → retracted (appeal overturned) | repaired
(credit repair granted) | expired (published_until reached). Nothing is ever deleted.
"""

from __future__ import annotations

import enum
from typing import Final


class RuleKind(enum.StrEnum):
    """The four conditions a rule can test, each over facts the registry already holds."""

    SUBSTANTIATED_COMPLAINTS = "substantiated_complaints"
    """≥ N substantiated complaints from ≥ M distinct contact fingerprints in a window."""
    SLA_BREACH_RATIO = "sla_breach_ratio"
    """First-response SLA breaches / complaints ≥ x over ≥ n complaints in a window."""
    PERSONAL_INFORMATION_LEAK = "personal_information_leak"
    """A mediator-upheld leak complaint, or an audit's major nonconformity on security."""
    ATTESTATION_CONTRADICTED = "attestation_contradicted"
    """A criterion claimed met for a period in which an audit found a major nonconformity."""


class Tier(enum.StrEnum):
    """Publication tiers of the Chinese credit-listing practice."""

    MINOR = "minor"
    """轻微: at most 3 months, shown on the vendor's own profile, no suspension."""
    GENERAL = "general"
    """一般: 3 to 12 months, suspends certification."""
    SERIOUS = "serious"
    """严重: 1 to 3 years, revokes certification."""


class SubjectKind(enum.StrEnum):
    """Who a case is about: a member vendor, or an unregistered subject complaints name."""

    VENDOR = "vendor"
    DOMAIN = "domain"
    APP_ID = "app_id"
    CREDIT_CODE = "credit_code"


class DayCounting(enum.StrEnum):
    """How an association counts its windows."""

    WORKING = "working"
    """Working days of the State Council holiday calendar (Mon–Fri beyond its data)."""
    CALENDAR = "calendar"


class MajorityRule(enum.StrEnum):
    """Which share of the votes cast (abstentions excluded) a decision needs."""

    SIMPLE = "simple"
    """More than half."""
    TWO_THIRDS = "two_thirds"
    """At least two thirds."""


class CaseState(enum.StrEnum):
    """Where a case stands."""

    AWAITING_ANSWER = "awaiting_answer"
    """Opened and notified; the answer window runs."""
    VOTING = "voting"
    """Answered, or the answer window is over; the committee votes until the deadline."""
    LISTED = "listed"
    """Decided to list: a listing exists."""
    NOT_LISTED = "not_listed"
    """Decided not to list."""
    LAPSED = "lapsed"
    """The decision deadline passed without a quorate decision: closed without listing."""


OPEN_CASE_STATES: Final = frozenset({CaseState.AWAITING_ANSWER, CaseState.VOTING})
"""A case in one of these covers its subject and rule: evaluation opens no second one."""

CASE_TRANSITIONS: Final[dict[CaseState, frozenset[CaseState]]] = {
    CaseState.AWAITING_ANSWER: frozenset({CaseState.VOTING}),
    CaseState.VOTING: frozenset({CaseState.LISTED, CaseState.NOT_LISTED, CaseState.LAPSED}),
    CaseState.LISTED: frozenset(),
    CaseState.NOT_LISTED: frozenset(),
    CaseState.LAPSED: frozenset(),
}
"""Every move a case may make; anything else is a programming error."""


def may_move(current: CaseState, target: CaseState) -> bool:
    """Whether the case state machine allows `current` → `target`."""
    return target in CASE_TRANSITIONS[current]


class StepKind(enum.StrEnum):
    """Every step of a case's timeline; each is a transparency-log leaf of its own."""

    OPENED = "opened"
    NOTIFIED = "notified"
    ANSWERED = "answered"
    ANSWER_WINDOW_CLOSED = "answer_window_closed"
    VOTE = "vote"
    RECUSAL = "recusal"
    DEADLINE_EXTENDED = "deadline_extended"
    DECIDED = "decided"
    LAPSED = "lapsed"
    LISTED = "listed"
    APPEALED = "appealed"
    PANEL_DRAWN = "panel_drawn"
    APPEAL_DECIDED = "appeal_decided"
    REPAIR_APPLIED = "repair_applied"
    REPAIR_DECIDED = "repair_decided"
    EXPIRED = "expired"
    RETRACTED = "retracted"


class AnswerChannel(enum.StrEnum):
    """How an answer reached the registry."""

    VENDOR = "vendor"
    """Signed by the member vendor's key through the member API."""
    MEDIATOR = "mediator"
    """Relayed by a mediator of the governing association for a non-member subject."""


class BallotKind(enum.StrEnum):
    """What a vote decides: the case, an appeal against its listing, or a repair."""

    CASE = "case"
    APPEAL = "appeal"
    REPAIR = "repair"


class VoteChoice(enum.StrEnum):
    """A member's choice; which choices a ballot accepts depends on its kind."""

    LIST = "list"
    """Case: list at the tier the vote names."""
    DO_NOT_LIST = "do_not_list"
    UPHOLD = "uphold"
    """Appeal: the listing stands."""
    OVERTURN = "overturn"
    """Appeal: the listing is retracted."""
    GRANT = "grant"
    """Repair: delist early."""
    REFUSE = "refuse"
    ABSTAIN = "abstain"
    """Counts towards the quorum, not towards the majority."""


BALLOT_CHOICES: Final[dict[BallotKind, frozenset[VoteChoice]]] = {
    BallotKind.CASE: frozenset({VoteChoice.LIST, VoteChoice.DO_NOT_LIST, VoteChoice.ABSTAIN}),
    BallotKind.APPEAL: frozenset({VoteChoice.UPHOLD, VoteChoice.OVERTURN, VoteChoice.ABSTAIN}),
    BallotKind.REPAIR: frozenset({VoteChoice.GRANT, VoteChoice.REFUSE, VoteChoice.ABSTAIN}),
}


class RecusalReason(enum.StrEnum):
    """Why a member did not vote."""

    AFFILIATED = "affiliated"
    """The member is affiliated with the subject."""
    DECLARED_CONFLICT = "declared_conflict"
    VOLUNTARY = "voluntary"
    """The member stepped aside, with a reason."""


class ListingState(enum.StrEnum):
    """A listing is published until it ends one of three ways; never deleted."""

    LISTED = "listed"
    RETRACTED = "retracted"
    """Overturned on appeal: kept in history as retracted."""
    REPAIRED = "repaired"
    """Delisted early by credit repair."""
    EXPIRED = "expired"
    """published_until reached."""


class AppealState(enum.StrEnum):
    """An appeal to a panel of other associations' committee members."""

    FILED = "filed"
    HEARING = "hearing"
    """The panel is drawn and votes."""
    UPHELD = "upheld"
    OVERTURNED = "overturned"
    LAPSED = "lapsed"
    """The panel missed its deadline: the listing stands, and the record says so."""


class RepairState(enum.StrEnum):
    """A credit-repair application."""

    APPLIED = "applied"
    GRANTED = "granted"
    REFUSED = "refused"
    LAPSED = "lapsed"
