"""The public views of the blacklist: frozen structs the `/blacklist` pages render.

They hold what the README says is public, and nothing personal: subjects by name or by
the value complaints named, counts instead of evidence items, steps without the texts
people signed. `registry.blacklist.public_reads` fills them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from registry.blacklist.listings import CertificateEffect
from registry.blacklist.states import (
    AppealState,
    CaseState,
    DayCounting,
    ListingState,
    RepairState,
    RuleKind,
    StepKind,
    SubjectKind,
    Tier,
)
from registry.pagination import Page


@dataclass(frozen=True)
class BlacklistQuery:
    """A search of the public list: free text and filters, one page of it."""

    text: str | None = None
    """A vendor's name (either language), a credit code, a domain or an app id."""
    tier: Tier | None = None
    association: str | None = None
    state: ListingState | None = None
    notices_only: bool = False
    """`state=notice`: only the published notices, no listings."""
    rule_kind: RuleKind | None = None
    offset: int = 0
    limit: int = 20


@dataclass(frozen=True)
class AssociationName:
    """An association as the pages name it."""

    slug: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class PublicSubject:
    """Who a listing or notice is about: a member vendor (with its names) or the domain,
    app id or credit code complaints named."""

    kind: SubjectKind
    value: str
    vendor_slug: str | None = None
    name_zh: str | None = None
    name_en: str | None = None
    credit_code: str | None = None

    @property
    def is_member(self) -> bool:
        """The subject is a member vendor of the registry."""
        return self.vendor_slug is not None


@dataclass(frozen=True)
class RuleCited:
    """The rule a case cites, in the version it cites, in both languages."""

    rule_id: str
    version: int
    kind: RuleKind
    title_zh: str
    title_en: str
    text_zh: str
    text_en: str
    effective_from: datetime

    @property
    def label(self) -> str:
        """`rule_id@version`, as the log cites it."""
        return f"{self.rule_id}@{self.version}"


@dataclass(frozen=True)
class ListingSummary:
    """One row of the public list."""

    reference: str
    subject: PublicSubject
    association: AssociationName
    tier: Tier
    state: ListingState
    rule: RuleCited
    published_from: datetime
    published_until: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class NoticeSummary:
    """One published notice: an open case about a subject that is not a member."""

    reference: str
    subject: PublicSubject
    association: AssociationName
    state: CaseState
    rule: RuleCited
    tier_proposed: Tier
    opened_at: datetime
    answer_due_at: datetime


@dataclass(frozen=True)
class BlacklistPage:
    """The list page: one page of listings and the notices matching the same search."""

    listings: Page[ListingSummary]
    notices: tuple[NoticeSummary, ...]
    notices_total: int
    associations: tuple[AssociationName, ...]
    """Every association, for the filter."""


@dataclass(frozen=True)
class EvidenceSummary:
    """What a case's evidence bundle holds, in counts: never the items themselves."""

    window_from: datetime | None
    window_until: datetime | None
    counts: tuple[tuple[str, float], ...]
    """The rule's own counts (`substantiated`, `distinct_complainants`, `ratio`, …)."""
    items: tuple[tuple[str, int], ...]
    """How many complaints, audits and attestations the bundle cites."""
    categories: tuple[tuple[str, int], ...]
    """Complaints cited per category code."""
    criteria: tuple[str, ...]
    """Certification criteria an audit found majorly nonconforming (leak and
    contradiction rules)."""


@dataclass(frozen=True)
class TallyView:
    """A ballot's count as recorded (and as anyone can recount it from the log)."""

    eligible: int
    quorum_needed: int
    cast: int
    counts: tuple[tuple[str, int], ...]
    """Votes per choice; `list:<tier>` for votes to list at a tier."""
    quorate: bool
    outcome: str | None
    tier: Tier | None
    quorum: str
    majority: str


@dataclass(frozen=True)
class TimelineStep:
    """One step of a case, with the log entry that records it."""

    kind: StepKind
    at: datetime
    log_index: int
    ballot: str | None = None
    """`case`, `appeal` or `repair`: which ballot a vote, recusal or decision is about."""
    choice: str | None = None
    tier: Tier | None = None
    outcome: str | None = None
    recusal_reason: str | None = None


@dataclass(frozen=True)
class AppealView:
    """An appeal against the listing, as far as it went."""

    state: AppealState
    filed_at: datetime
    decision_due_at: datetime | None
    decided_at: datetime | None
    tally: TallyView | None


@dataclass(frozen=True)
class RepairView:
    """A credit-repair application, as far as it went."""

    state: RepairState
    applied_at: datetime
    decision_due_at: datetime
    decided_at: datetime | None
    tally: TallyView | None


@dataclass(frozen=True)
class Procedure:
    """How a listing can end early and what it does meanwhile, from the case's terms and
    the tier's policy (the record page puts it in words)."""

    certificate_effect: CertificateEffect
    appeal_window_days: int
    appeal_until: datetime
    appeal_decision_days: int
    may_appeal_now: bool
    repair_from: datetime
    repair_decision_days: int
    day_counting: DayCounting
    watch_period_days: int
    min_months: int
    max_months: int


@dataclass(frozen=True)
class CaseRecord:
    """What a listing's page and a notice's page share: the case."""

    reference: str
    subject: PublicSubject
    association: AssociationName
    governance: str
    rule: RuleCited
    tier_proposed: Tier
    state: CaseState
    opened_at: datetime
    opened_log_index: int
    answer_due_at: datetime
    answered_at: datetime | None
    decision_due_at: datetime | None
    decided_at: datetime | None
    evidence: EvidenceSummary
    evidence_digest: str
    steps: tuple[TimelineStep, ...]


@dataclass(frozen=True)
class ListingRecord:
    """A listing's public record: the case, the decision, the end, the ways out."""

    case: CaseRecord
    tier: Tier
    state: ListingState
    decided_at: datetime
    published_from: datetime
    published_until: datetime
    ended_at: datetime | None
    ended_by: str | None
    """`appeal`, `repair` or `expiry`."""
    watch_until: datetime | None
    log_index: int
    tally: TallyView
    appeals: tuple[AppealView, ...]
    repairs: tuple[RepairView, ...]
    procedure: Procedure

    @property
    def in_force(self) -> bool:
        """The listing is published now."""
        return self.state is ListingState.LISTED

    @property
    def overturning_appeal(self) -> AppealView | None:
        """The appeal that retracted the listing, if one did."""
        return next((a for a in self.appeals if a.state is AppealState.OVERTURNED), None)

    @property
    def granted_repair(self) -> RepairView | None:
        """The repair that ended the listing early, if one did."""
        return next((r for r in self.repairs if r.state is RepairState.GRANTED), None)


@dataclass(frozen=True)
class NoticeRecord:
    """A published notice's page: the case, and how the subject may still answer."""

    case: CaseRecord
    answering_open: bool
    """The answer window has not ended and no answer has arrived."""
    listing_reference: str | None
    """Set once the case was listed: the listing's page takes over."""
