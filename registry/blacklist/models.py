"""Blacklist rows: rulebooks, per-association terms, cases and their timeline, answers,
committees, votes and recusals, listings, appeals and repairs.

Every row that records a step carries the `log_index` of its transparency-log leaf,
written in the same transaction. Rows are never deleted: a retracted listing, a lapsed
case and a refused repair stay as they ended.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from registry.blacklist.states import (
    AnswerChannel,
    AppealState,
    BallotKind,
    CaseState,
    DayCounting,
    ListingState,
    MajorityRule,
    RecusalReason,
    RepairState,
    RuleKind,
    StepKind,
    SubjectKind,
    Tier,
    VoteChoice,
)
from registry.db.base import Base, CreatedAtMixin, IdMixin


def _enum(kind: type[enum.Enum], length: int = 32) -> Enum:
    return Enum(
        kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


_OPEN_CASE = text("state IN ('awaiting_answer', 'voting')")


class BlacklistTerms(IdMixin, CreatedAtMixin, Base):
    """An association's blacklist procedure: windows, day counting, quorum and majority.

    Absent means the settings' defaults. A case copies the terms in force when it opens
    (`BlacklistCase.terms`), so a change never alters a case already open.
    """

    __tablename__ = "blacklist_terms"

    association_id: Mapped[int] = mapped_column(ForeignKey("association.id"), unique=True)
    notice_period_days: Mapped[int]
    """A new rulebook takes effect at least this many calendar days after publication."""
    day_counting: Mapped[DayCounting] = mapped_column(_enum(DayCounting, 16))
    answer_window_days: Mapped[int]
    decision_window_days: Mapped[int]
    decision_extension_days: Mapped[int]
    """The one extension a committee may take, with a reason."""
    quorum_numerator: Mapped[int]
    quorum_denominator: Mapped[int]
    """Quorum: votes cast (abstentions included) ≥ numerator/denominator of the members
    eligible to vote (recused members excluded)."""
    majority: Mapped[MajorityRule] = mapped_column(_enum(MajorityRule, 16))
    appeal_window_days: Mapped[int]
    appeal_decision_days: Mapped[int]
    repair_decision_days: Mapped[int]
    watch_period_days: Mapped[int]
    """After a granted repair, a new breach opens a case with `watch_answer_window_days`."""
    watch_answer_window_days: Mapped[int]
    updated_at: Mapped[datetime]
    log_index: Mapped[int | None]


class Rulebook(IdMixin, CreatedAtMixin, Base):
    """One published version of an association's rulebook; never edited.

    The version in force at time t is the highest whose `effective_from` ≤ t. A version is
    published at least the notice period before it takes effect.
    """

    __tablename__ = "blacklist_rulebook"

    association_id: Mapped[int] = mapped_column(ForeignKey("association.id"), index=True)
    version: Mapped[int]
    published_at: Mapped[datetime]
    effective_from: Mapped[datetime]
    published_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))
    digest: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the rulebook's RFC 8785 form, as logged."""
    log_index: Mapped[int]

    __table_args__ = (UniqueConstraint("association_id", "version"),)


class BlacklistRule(IdMixin, Base):
    """One rule as a rulebook version states it.

    `rule_id` is stable across versions (`complaints-substantiated`); `version` grows only
    when the rule's content changes, so a case citing `rule_id@version` names exactly
    the text and parameters it was opened under.
    """

    __tablename__ = "blacklist_rule"

    rulebook_id: Mapped[int] = mapped_column(
        ForeignKey("blacklist_rulebook.id", ondelete="CASCADE"), index=True
    )
    association_id: Mapped[int] = mapped_column(ForeignKey("association.id"))
    rule_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    kind: Mapped[RuleKind] = mapped_column(_enum(RuleKind))
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    text_zh: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Kind-specific thresholds (see `registry.blacklist.rules`)."""
    tier_proposed: Mapped[Tier] = mapped_column(_enum(Tier, 16))
    effective_from: Mapped[datetime]
    """The rulebook's effective date, repeated so a rule row reads alone."""

    __table_args__ = (
        UniqueConstraint("rulebook_id", "rule_id"),
        Index("ix_blacklist_rule_association_rule", "association_id", "rule_id", "version"),
    )

    @property
    def label(self) -> str:
        """`rule_id@version`, how cases and listings cite a rule."""
        return f"{self.rule_id}@{self.version}"


class BlacklistCase(IdMixin, CreatedAtMixin, Base):
    """A case a rule opened against a subject: evaluation never lists, it opens these."""

    __tablename__ = "blacklist_case"

    reference: Mapped[str] = mapped_column(String(32), unique=True)
    """Public handle, e.g. `BL-2026-000042`; carries no personal data."""
    association_id: Mapped[int] = mapped_column(ForeignKey("association.id"), index=True)
    """The governing association (docs: "Who governs a case")."""
    governance: Mapped[str] = mapped_column(String(32))
    """Why that association governs: `member` (the vendor's own), `complaints` (the
    association most complaints in the evidence were filed with), `first_complaint`
    (tie broken by the earliest complaint)."""
    subject_kind: Mapped[SubjectKind] = mapped_column(_enum(SubjectKind, 16))
    subject_value: Mapped[str] = mapped_column(String(253))
    """The vendor's slug, or the unregistered domain, app id or credit code."""
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendor.id"), index=True)
    """Set when the subject is a member vendor."""
    rule_row_id: Mapped[int] = mapped_column(ForeignKey("blacklist_rule.id"))
    rule_id: Mapped[str] = mapped_column(String(64))
    rule_version: Mapped[int]
    rule_kind: Mapped[RuleKind] = mapped_column(_enum(RuleKind))
    tier_proposed: Mapped[Tier] = mapped_column(_enum(Tier, 16))
    evaluated_at: Mapped[datetime]
    """The `now` the rule was evaluated at: replay evaluates again at this instant."""
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The evidence bundle: references with their log indexes, no personal data."""
    evidence_digest: Mapped[str] = mapped_column(String(64), index=True)
    """Hex SHA-256 of the bundle's RFC 8785 form."""
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The association's terms when the case opened; later changes do not apply."""
    state: Mapped[CaseState] = mapped_column(_enum(CaseState, 24))
    opened_at: Mapped[datetime]
    answer_due_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    voting_from: Mapped[datetime | None]
    decision_due_at: Mapped[datetime | None]
    """Set when voting opens; moved once by an extension."""
    extended_at: Mapped[datetime | None]
    extension_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]
    tally: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    watch: Mapped[bool] = mapped_column(Boolean, default=False)
    """Opened in a repair's watch period: the shortened answer window applies."""
    log_index: Mapped[int]
    """The `opened` leaf."""

    __table_args__ = (
        # At most one open case per subject and rule: the evaluation job's idempotency
        # holds even when two runs race.
        Index(
            "uq_blacklist_case_open_subject_rule",
            "association_id",
            "subject_kind",
            "subject_value",
            "rule_id",
            unique=True,
            sqlite_where=_OPEN_CASE,
            postgresql_where=_OPEN_CASE,
        ),
        Index("ix_blacklist_case_subject", "subject_kind", "subject_value"),
        Index("ix_blacklist_case_state_answer_due", "state", "answer_due_at"),
        Index("ix_blacklist_case_state_decision_due", "state", "decision_due_at"),
    )


class CaseStep(IdMixin, Base):
    """One step of a case's timeline, with its transparency-log leaf."""

    __tablename__ = "blacklist_case_step"

    case_id: Mapped[int] = mapped_column(ForeignKey("blacklist_case.id"), index=True)
    kind: Mapped[StepKind] = mapped_column(_enum(StepKind, 32))
    at: Mapped[datetime]
    actor_principal_id: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))
    """Who acted; NULL for the registry's own steps (opening, deadlines)."""
    ref: Mapped[str | None] = mapped_column(String(64))
    """The record the step made, e.g. `vote:7`, `listing:3`, `appeal:2`."""
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    """What the leaf says, without personal data."""
    log_index: Mapped[int]


class CaseAnswer(IdMixin, Base):
    """The subject's statement and defence (陈述申辩): signed by a member vendor, or
    relayed by a mediator for a subject that is not a member."""

    __tablename__ = "blacklist_answer"

    case_id: Mapped[int] = mapped_column(ForeignKey("blacklist_case.id"), unique=True)
    channel: Mapped[AnswerChannel] = mapped_column(_enum(AnswerChannel, 16))
    principal_id: Mapped[int] = mapped_column(ForeignKey("principal.id"))
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendor.id"))
    key_id: Mapped[str | None] = mapped_column(String(64))
    """The vendor key that signed the envelope; NULL for a mediator's relay."""
    envelope_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    statement: Mapped[str] = mapped_column(Text)
    remedies: Mapped[list[str]] = mapped_column(JSON)
    evidence_digests: Mapped[list[str]] = mapped_column(JSON)
    received_at: Mapped[datetime]
    log_index: Mapped[int]
    """The leaf holds the whole envelope, byte for byte."""


class CommitteeMember(IdMixin, CreatedAtMixin, Base):
    """A principal with the `committee_member` role on an association's committee."""

    __tablename__ = "blacklist_committee_member"

    association_id: Mapped[int] = mapped_column(ForeignKey("association.id"), index=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principal.id"), unique=True)
    key_id: Mapped[str] = mapped_column(String(64))
    """The member's registered Ed25519 key (`signing_key.key_id`) its votes must carry."""
    affiliations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Subjects the member is affiliated with (`{"kind", "value"}`): recusal is automatic."""
    declared_conflicts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Conflicts the member declared (`{"kind", "value", "reason"}`): recusal is automatic."""
    joined_at: Mapped[datetime]
    left_at: Mapped[datetime | None]
    log_index: Mapped[int | None]


class Vote(IdMixin, Base):
    """A signed vote on a ballot: the case, an appeal against its listing, or a repair."""

    __tablename__ = "blacklist_vote"

    case_id: Mapped[int] = mapped_column(ForeignKey("blacklist_case.id"), index=True)
    ballot_kind: Mapped[BallotKind] = mapped_column(_enum(BallotKind, 16))
    ballot: Mapped[str] = mapped_column(String(32))
    """`case:<id>`, `appeal:<id>` or `repair:<id>`."""
    member_id: Mapped[int] = mapped_column(ForeignKey("blacklist_committee_member.id"))
    key_id: Mapped[str] = mapped_column(String(64))
    choice: Mapped[VoteChoice] = mapped_column(_enum(VoteChoice, 16))
    tier: Mapped[Tier | None] = mapped_column(_enum(Tier, 16))
    """The tier a `list` vote names."""
    evidence_digest_seen: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    envelope_digest: Mapped[str] = mapped_column(String(64), unique=True)
    cast_at: Mapped[datetime]
    log_index: Mapped[int]
    """The leaf holds the whole envelope: anyone can recompute the tally from the log."""

    __table_args__ = (UniqueConstraint("ballot", "member_id"),)


class Recusal(IdMixin, Base):
    """A member who may not vote on a ballot, and why; recorded and logged."""

    __tablename__ = "blacklist_recusal"

    case_id: Mapped[int] = mapped_column(ForeignKey("blacklist_case.id"), index=True)
    ballot: Mapped[str] = mapped_column(String(32))
    member_id: Mapped[int] = mapped_column(ForeignKey("blacklist_committee_member.id"))
    reason: Mapped[RecusalReason] = mapped_column(_enum(RecusalReason, 24))
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]
    log_index: Mapped[int]

    __table_args__ = (UniqueConstraint("ballot", "member_id"),)


class Listing(IdMixin, CreatedAtMixin, Base):
    """A published blacklist entry: subject, tier, cited rule, evidence digest, tally, end."""

    __tablename__ = "blacklist_listing"

    case_id: Mapped[int] = mapped_column(ForeignKey("blacklist_case.id"), unique=True)
    association_id: Mapped[int] = mapped_column(ForeignKey("association.id"), index=True)
    subject_kind: Mapped[SubjectKind] = mapped_column(_enum(SubjectKind, 16))
    subject_value: Mapped[str] = mapped_column(String(253))
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendor.id"), index=True)
    tier: Mapped[Tier] = mapped_column(_enum(Tier, 16))
    rule_id: Mapped[str] = mapped_column(String(64))
    rule_version: Mapped[int]
    evidence_digest: Mapped[str] = mapped_column(String(64))
    tally: Mapped[dict[str, Any]] = mapped_column(JSON)
    decided_at: Mapped[datetime]
    published_from: Mapped[datetime]
    published_until: Mapped[datetime]
    """Never beyond the tier's maximum."""
    state: Mapped[ListingState] = mapped_column(_enum(ListingState, 16))
    ended_at: Mapped[datetime | None]
    """When it was retracted, repaired or expired."""
    end_ref: Mapped[str | None] = mapped_column(String(64))
    """What ended it: `appeal:<id>`, `repair:<id>` or `expiry`."""
    watch_until: Mapped[datetime | None]
    """After a granted repair: a new breach until then gets the shortened answer window."""
    final_at: Mapped[datetime | None]
    """When a serious listing became final (its `ListingBecameFinal` was published): the
    finality job publishes that event once per listing."""
    log_index: Mapped[int]

    __table_args__ = (
        Index("ix_blacklist_listing_subject", "subject_kind", "subject_value"),
        Index("ix_blacklist_listing_state_until", "state", "published_until"),
    )


class Appeal(IdMixin, Base):
    """An appeal against a listing, heard by a panel of other associations' members."""

    __tablename__ = "blacklist_appeal"

    listing_id: Mapped[int] = mapped_column(ForeignKey("blacklist_listing.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("blacklist_case.id"), index=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principal.id"))
    key_id: Mapped[str | None] = mapped_column(String(64))
    envelope_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    grounds: Mapped[str] = mapped_column(Text)
    evidence_digests: Mapped[list[str]] = mapped_column(JSON)
    filed_at: Mapped[datetime]
    state: Mapped[AppealState] = mapped_column(_enum(AppealState, 16))
    panel_seed: Mapped[str | None] = mapped_column(String(64))
    """Hex seed of the reproducible draw, logged with the panel."""
    panel: Mapped[list[int]] = mapped_column(JSON, default=list)
    """Committee member ids drawn, in draw order."""
    panel_drawn_at: Mapped[datetime | None]
    decision_due_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    tally: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    log_index: Mapped[int]


class Repair(IdMixin, Base):
    """A credit-repair application (信用修复): free, decided by the governing committee."""

    __tablename__ = "blacklist_repair"

    listing_id: Mapped[int] = mapped_column(ForeignKey("blacklist_listing.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("blacklist_case.id"), index=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principal.id"))
    key_id: Mapped[str | None] = mapped_column(String(64))
    envelope_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    commitment: Mapped[str] = mapped_column(Text)
    changes: Mapped[str] = mapped_column(Text)
    remediation_digests: Mapped[list[str]] = mapped_column(JSON)
    applied_at: Mapped[datetime]
    state: Mapped[RepairState] = mapped_column(_enum(RepairState, 16))
    decision_due_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    tally: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    log_index: Mapped[int]

    __table_args__ = (
        CheckConstraint("decided_at IS NULL OR decided_at >= applied_at", name="decided_after"),
    )


class BlacklistSnapshot(IdMixin, Base):
    """One signed snapshot of the listings in force (README, "Blacklist snapshots").

    `serial` is unique and each snapshot names the digest of the one before it, so the
    snapshots form one chain: serial 1 alone has no `previous`. A snapshot is made in the
    transaction of every change to the listings in force, and at least once a day.
    """

    __tablename__ = "blacklist_snapshot"

    serial: Mapped[int] = mapped_column(Integer, unique=True)
    issued_at: Mapped[datetime]
    next_update: Mapped[datetime]
    """When the next snapshot is due at the latest; after it this one is stale."""
    previous: Mapped[str | None] = mapped_column(String(64), unique=True)
    """Hex SHA-256 of the previous snapshot's payload bytes; NULL only for serial 1."""
    payload_digest: Mapped[str] = mapped_column(String(64), unique=True)
    """Hex SHA-256 of this snapshot's payload bytes (what the next one's `previous` is)."""
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    """The DSSE envelope's exact bytes, as served and as logged."""
    listings: Mapped[list[int]] = mapped_column(JSON)
    """Ids of the listings in force, ascending: the next snapshot's changes are the
    difference."""
    trigger: Mapped[str] = mapped_column(String(16))
    """`change` (a listing was published or ended) or `daily` (the scheduled job)."""
    log_index: Mapped[int]

    __table_args__ = (
        CheckConstraint(
            "(serial = 1 AND previous IS NULL) OR (serial > 1 AND previous IS NOT NULL)",
            name="chained",
        ),
    )


class BlacklistChange(IdMixin, Base):
    """One listing that entered or left the snapshots, and the serial it happened in."""

    __tablename__ = "blacklist_snapshot_change"

    serial: Mapped[int] = mapped_column(ForeignKey("blacklist_snapshot.serial"), index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("blacklist_listing.id"))
    change: Mapped[str] = mapped_column(String(16))
    """`added`, `removed` (expired or repaired) or `retracted` (overturned on appeal)."""

    __table_args__ = (UniqueConstraint("serial", "listing_id"),)


class BlacklistIdentifier(IdMixin, Base):
    """One identifier of a listing in force, normalised: what the bulk check matches.

    Written in the transaction that publishes the listing and deleted in the one that
    ends it (`registry.blacklist.identifiers`): the subject itself, and for a member
    vendor its slug, credit code and every domain it has proven (a domain proven later is
    added by the `blacklist.index_domain` reaction). A listing's own dates stay on the
    listing; the check reads both.
    """

    __tablename__ = "blacklist_identifier"

    kind: Mapped[SubjectKind] = mapped_column(_enum(SubjectKind, 16))
    value: Mapped[str] = mapped_column(String(253))
    """Normalised as the check normalises a query: upper-case credit code, lower-case
    domain without a trailing dot, slug, app id as given."""
    listing_id: Mapped[int] = mapped_column(ForeignKey("blacklist_listing.id"), index=True)

    __table_args__ = (UniqueConstraint("kind", "value", "listing_id"),)


class BlacklistIdentifierHead(Base):
    """The identifier index's generation: one row, raised in every transaction that
    changes `blacklist_identifier`, so each worker knows when its in-memory copy is old."""

    __tablename__ = "blacklist_identifier_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    """Always 1."""
    generation: Mapped[int]


__all__ = [
    "Appeal",
    "BlacklistCase",
    "BlacklistChange",
    "BlacklistIdentifier",
    "BlacklistIdentifierHead",
    "BlacklistRule",
    "BlacklistSnapshot",
    "BlacklistTerms",
    "CaseAnswer",
    "CaseStep",
    "CommitteeMember",
    "Listing",
    "Recusal",
    "Repair",
    "Rulebook",
    "Vote",
]
