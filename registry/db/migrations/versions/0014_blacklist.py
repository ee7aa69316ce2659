"""The shared blacklist: terms and rulebooks per association, cases and their timeline,
answers, committees, votes and recusals, listings, appeals and repairs.

One partial unique index keeps at most one open case per (association, subject, rule),
so the evaluation job stays idempotent even when two runs race.

Revision ID: 0014_blacklist
Revises: 0013
Create Date: 2026-12-03 17:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import registry.db.base

revision: str = "0014_blacklist"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "blacklist_terms",
        sa.Column("association_id", sa.Integer(), nullable=False),
        sa.Column("notice_period_days", sa.Integer(), nullable=False),
        sa.Column(
            "day_counting",
            sa.Enum("working", "calendar", name="daycounting", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("answer_window_days", sa.Integer(), nullable=False),
        sa.Column("decision_window_days", sa.Integer(), nullable=False),
        sa.Column("decision_extension_days", sa.Integer(), nullable=False),
        sa.Column("quorum_numerator", sa.Integer(), nullable=False),
        sa.Column("quorum_denominator", sa.Integer(), nullable=False),
        sa.Column(
            "majority",
            sa.Enum("simple", "two_thirds", name="majorityrule", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("appeal_window_days", sa.Integer(), nullable=False),
        sa.Column("appeal_decision_days", sa.Integer(), nullable=False),
        sa.Column("repair_decision_days", sa.Integer(), nullable=False),
        sa.Column("watch_period_days", sa.Integer(), nullable=False),
        sa.Column("watch_answer_window_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["association.id"],
            name=op.f("fk_blacklist_terms_association_id_association"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_terms")),
        sa.UniqueConstraint("association_id", name=op.f("uq_blacklist_terms_association_id")),
    )
    op.create_table(
        "blacklist_committee_member",
        sa.Column("association_id", sa.Integer(), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("affiliations", sa.JSON(), nullable=False),
        sa.Column("declared_conflicts", sa.JSON(), nullable=False),
        sa.Column("joined_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("left_at", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("log_index", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["association.id"],
            name=op.f("fk_blacklist_committee_member_association_id_association"),
        ),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principal.id"],
            name=op.f("fk_blacklist_committee_member_principal_id_principal"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_committee_member")),
        sa.UniqueConstraint(
            "principal_id", name=op.f("uq_blacklist_committee_member_principal_id")
        ),
    )
    with op.batch_alter_table("blacklist_committee_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_blacklist_committee_member_association_id"),
            ["association_id"],
            unique=False,
        )

    op.create_table(
        "blacklist_rulebook",
        sa.Column("association_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("effective_from", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["association.id"],
            name=op.f("fk_blacklist_rulebook_association_id_association"),
        ),
        sa.ForeignKeyConstraint(
            ["published_by"],
            ["principal.id"],
            name=op.f("fk_blacklist_rulebook_published_by_principal"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_rulebook")),
        sa.UniqueConstraint(
            "association_id", "version", name=op.f("uq_blacklist_rulebook_association_id_version")
        ),
    )
    with op.batch_alter_table("blacklist_rulebook", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_blacklist_rulebook_association_id"), ["association_id"], unique=False
        )

    op.create_table(
        "blacklist_rule",
        sa.Column("rulebook_id", sa.Integer(), nullable=False),
        sa.Column("association_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "substantiated_complaints",
                "sla_breach_ratio",
                "personal_information_leak",
                "attestation_contradicted",
                name="rulekind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("title_zh", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("text_zh", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column(
            "tier_proposed",
            sa.Enum("minor", "general", "serious", name="tier", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("effective_from", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["association.id"],
            name=op.f("fk_blacklist_rule_association_id_association"),
        ),
        sa.ForeignKeyConstraint(
            ["rulebook_id"],
            ["blacklist_rulebook.id"],
            name=op.f("fk_blacklist_rule_rulebook_id_blacklist_rulebook"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_rule")),
        sa.UniqueConstraint(
            "rulebook_id", "rule_id", name=op.f("uq_blacklist_rule_rulebook_id_rule_id")
        ),
    )
    with op.batch_alter_table("blacklist_rule", schema=None) as batch_op:
        batch_op.create_index(
            "ix_blacklist_rule_association_rule",
            ["association_id", "rule_id", "version"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_blacklist_rule_rulebook_id"), ["rulebook_id"], unique=False
        )

    op.create_table(
        "blacklist_case",
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("association_id", sa.Integer(), nullable=False),
        sa.Column("governance", sa.String(length=32), nullable=False),
        sa.Column(
            "subject_kind",
            sa.Enum(
                "vendor",
                "domain",
                "app_id",
                "credit_code",
                name="subjectkind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("subject_value", sa.String(length=253), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=True),
        sa.Column("rule_row_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column(
            "rule_kind",
            sa.Enum(
                "substantiated_complaints",
                "sla_breach_ratio",
                "personal_information_leak",
                "attestation_contradicted",
                name="rulekind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "tier_proposed",
            sa.Enum("minor", "general", "serious", name="tier", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("evaluated_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("evidence_digest", sa.String(length=64), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "awaiting_answer",
                "voting",
                "listed",
                "not_listed",
                "lapsed",
                name="casestate",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("opened_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answer_due_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("voting_from", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_due_at", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("extended_at", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("decided_at", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tally", sa.JSON(), nullable=True),
        sa.Column("watch", sa.Boolean(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["association.id"],
            name=op.f("fk_blacklist_case_association_id_association"),
        ),
        sa.ForeignKeyConstraint(
            ["rule_row_id"],
            ["blacklist_rule.id"],
            name=op.f("fk_blacklist_case_rule_row_id_blacklist_rule"),
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendor.id"], name=op.f("fk_blacklist_case_vendor_id_vendor")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_case")),
        sa.UniqueConstraint("reference", name=op.f("uq_blacklist_case_reference")),
    )
    with op.batch_alter_table("blacklist_case", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_blacklist_case_association_id"), ["association_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_blacklist_case_evidence_digest"), ["evidence_digest"], unique=False
        )
        batch_op.create_index(
            "ix_blacklist_case_state_answer_due", ["state", "answer_due_at"], unique=False
        )
        batch_op.create_index(
            "ix_blacklist_case_state_decision_due", ["state", "decision_due_at"], unique=False
        )
        batch_op.create_index(
            "ix_blacklist_case_subject", ["subject_kind", "subject_value"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_blacklist_case_vendor_id"), ["vendor_id"], unique=False
        )
        batch_op.create_index(
            "uq_blacklist_case_open_subject_rule",
            ["association_id", "subject_kind", "subject_value", "rule_id"],
            unique=True,
            sqlite_where=sa.text("state IN ('awaiting_answer', 'voting')"),
            postgresql_where=sa.text("state IN ('awaiting_answer', 'voting')"),
        )

    op.create_table(
        "blacklist_answer",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("vendor", "mediator", name="answerchannel", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=True),
        sa.Column("key_id", sa.String(length=64), nullable=True),
        sa.Column("envelope_digest", sa.String(length=64), nullable=True),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("remedies", sa.JSON(), nullable=False),
        sa.Column("evidence_digests", sa.JSON(), nullable=False),
        sa.Column("received_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["blacklist_case.id"],
            name=op.f("fk_blacklist_answer_case_id_blacklist_case"),
        ),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principal.id"],
            name=op.f("fk_blacklist_answer_principal_id_principal"),
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendor.id"], name=op.f("fk_blacklist_answer_vendor_id_vendor")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_answer")),
        sa.UniqueConstraint("case_id", name=op.f("uq_blacklist_answer_case_id")),
        sa.UniqueConstraint("envelope_digest", name=op.f("uq_blacklist_answer_envelope_digest")),
    )
    op.create_table(
        "blacklist_case_step",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "opened",
                "notified",
                "answered",
                "answer_window_closed",
                "vote",
                "recusal",
                "deadline_extended",
                "decided",
                "lapsed",
                "listed",
                "appealed",
                "panel_drawn",
                "appeal_decided",
                "repair_applied",
                "repair_decided",
                "expired",
                "retracted",
                name="stepkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_principal_id", sa.Integer(), nullable=True),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_principal_id"],
            ["principal.id"],
            name=op.f("fk_blacklist_case_step_actor_principal_id_principal"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["blacklist_case.id"],
            name=op.f("fk_blacklist_case_step_case_id_blacklist_case"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_case_step")),
    )
    with op.batch_alter_table("blacklist_case_step", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_blacklist_case_step_case_id"), ["case_id"], unique=False
        )

    op.create_table(
        "blacklist_listing",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("association_id", sa.Integer(), nullable=False),
        sa.Column(
            "subject_kind",
            sa.Enum(
                "vendor",
                "domain",
                "app_id",
                "credit_code",
                name="subjectkind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("subject_value", sa.String(length=253), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=True),
        sa.Column(
            "tier",
            sa.Enum("minor", "general", "serious", name="tier", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("evidence_digest", sa.String(length=64), nullable=False),
        sa.Column("tally", sa.JSON(), nullable=False),
        sa.Column("decided_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_from", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_until", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "listed",
                "retracted",
                "repaired",
                "expired",
                name="listingstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("ended_at", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_ref", sa.String(length=64), nullable=True),
        sa.Column("watch_until", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["association.id"],
            name=op.f("fk_blacklist_listing_association_id_association"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["blacklist_case.id"],
            name=op.f("fk_blacklist_listing_case_id_blacklist_case"),
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendor.id"], name=op.f("fk_blacklist_listing_vendor_id_vendor")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_listing")),
        sa.UniqueConstraint("case_id", name=op.f("uq_blacklist_listing_case_id")),
    )
    with op.batch_alter_table("blacklist_listing", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_blacklist_listing_association_id"), ["association_id"], unique=False
        )
        batch_op.create_index(
            "ix_blacklist_listing_state_until", ["state", "published_until"], unique=False
        )
        batch_op.create_index(
            "ix_blacklist_listing_subject", ["subject_kind", "subject_value"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_blacklist_listing_vendor_id"), ["vendor_id"], unique=False
        )

    op.create_table(
        "blacklist_recusal",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("ballot", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                "affiliated",
                "declared_conflict",
                "voluntary",
                name="recusalreason",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["blacklist_case.id"],
            name=op.f("fk_blacklist_recusal_case_id_blacklist_case"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["blacklist_committee_member.id"],
            name=op.f("fk_blacklist_recusal_member_id_blacklist_committee_member"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_recusal")),
        sa.UniqueConstraint(
            "ballot", "member_id", name=op.f("uq_blacklist_recusal_ballot_member_id")
        ),
    )
    with op.batch_alter_table("blacklist_recusal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_blacklist_recusal_case_id"), ["case_id"], unique=False)

    op.create_table(
        "blacklist_vote",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "ballot_kind",
            sa.Enum("case", "appeal", "repair", name="ballotkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("ballot", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column(
            "choice",
            sa.Enum(
                "list",
                "do_not_list",
                "uphold",
                "overturn",
                "grant",
                "refuse",
                "abstain",
                name="votechoice",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "tier",
            sa.Enum("minor", "general", "serious", name="tier", native_enum=False, length=16),
            nullable=True,
        ),
        sa.Column("evidence_digest_seen", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("envelope_digest", sa.String(length=64), nullable=False),
        sa.Column("cast_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["blacklist_case.id"],
            name=op.f("fk_blacklist_vote_case_id_blacklist_case"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["blacklist_committee_member.id"],
            name=op.f("fk_blacklist_vote_member_id_blacklist_committee_member"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_vote")),
        sa.UniqueConstraint("ballot", "member_id", name=op.f("uq_blacklist_vote_ballot_member_id")),
        sa.UniqueConstraint("envelope_digest", name=op.f("uq_blacklist_vote_envelope_digest")),
    )
    with op.batch_alter_table("blacklist_vote", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_blacklist_vote_case_id"), ["case_id"], unique=False)

    op.create_table(
        "blacklist_appeal",
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=True),
        sa.Column("envelope_digest", sa.String(length=64), nullable=True),
        sa.Column("grounds", sa.Text(), nullable=False),
        sa.Column("evidence_digests", sa.JSON(), nullable=False),
        sa.Column("filed_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "filed",
                "hearing",
                "upheld",
                "overturned",
                "lapsed",
                name="appealstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("panel_seed", sa.String(length=64), nullable=True),
        sa.Column("panel", sa.JSON(), nullable=False),
        sa.Column("panel_drawn_at", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_due_at", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tally", sa.JSON(), nullable=True),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["blacklist_case.id"],
            name=op.f("fk_blacklist_appeal_case_id_blacklist_case"),
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["blacklist_listing.id"],
            name=op.f("fk_blacklist_appeal_listing_id_blacklist_listing"),
        ),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principal.id"],
            name=op.f("fk_blacklist_appeal_principal_id_principal"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_appeal")),
        sa.UniqueConstraint("envelope_digest", name=op.f("uq_blacklist_appeal_envelope_digest")),
    )
    with op.batch_alter_table("blacklist_appeal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_blacklist_appeal_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_blacklist_appeal_listing_id"), ["listing_id"], unique=False
        )

    op.create_table(
        "blacklist_repair",
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=True),
        sa.Column("envelope_digest", sa.String(length=64), nullable=True),
        sa.Column("commitment", sa.Text(), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("remediation_digests", sa.JSON(), nullable=False),
        sa.Column("applied_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "applied",
                "granted",
                "refused",
                "lapsed",
                name="repairstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("decision_due_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tally", sa.JSON(), nullable=True),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "decided_at IS NULL OR decided_at >= applied_at",
            name=op.f("ck_blacklist_repair_decided_after"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["blacklist_case.id"],
            name=op.f("fk_blacklist_repair_case_id_blacklist_case"),
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["blacklist_listing.id"],
            name=op.f("fk_blacklist_repair_listing_id_blacklist_listing"),
        ),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principal.id"],
            name=op.f("fk_blacklist_repair_principal_id_principal"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_repair")),
        sa.UniqueConstraint("envelope_digest", name=op.f("uq_blacklist_repair_envelope_digest")),
    )
    with op.batch_alter_table("blacklist_repair", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_blacklist_repair_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_blacklist_repair_listing_id"), ["listing_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("blacklist_repair", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blacklist_repair_listing_id"))
        batch_op.drop_index(batch_op.f("ix_blacklist_repair_case_id"))

    op.drop_table("blacklist_repair")
    with op.batch_alter_table("blacklist_appeal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blacklist_appeal_listing_id"))
        batch_op.drop_index(batch_op.f("ix_blacklist_appeal_case_id"))

    op.drop_table("blacklist_appeal")
    with op.batch_alter_table("blacklist_vote", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blacklist_vote_case_id"))

    op.drop_table("blacklist_vote")
    with op.batch_alter_table("blacklist_recusal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blacklist_recusal_case_id"))

    op.drop_table("blacklist_recusal")
    with op.batch_alter_table("blacklist_listing", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blacklist_listing_vendor_id"))
        batch_op.drop_index("ix_blacklist_listing_subject")
        batch_op.drop_index("ix_blacklist_listing_state_until")
        batch_op.drop_index(batch_op.f("ix_blacklist_listing_association_id"))

    op.drop_table("blacklist_listing")
    with op.batch_alter_table("blacklist_case_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blacklist_case_step_case_id"))

    op.drop_table("blacklist_case_step")
    op.drop_table("blacklist_answer")
    with op.batch_alter_table("blacklist_case", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_blacklist_case_open_subject_rule",
            sqlite_where=sa.text("state IN ('awaiting_answer', 'voting')"),
            postgresql_where=sa.text("state IN ('awaiting_answer', 'voting')"),
        )
        batch_op.drop_index(batch_op.f("ix_blacklist_case_vendor_id"))
        batch_op.drop_index("ix_blacklist_case_subject")
        batch_op.drop_index("ix_blacklist_case_state_decision_due")
        batch_op.drop_index("ix_blacklist_case_state_answer_due")
        batch_op.drop_index(batch_op.f("ix_blacklist_case_evidence_digest"))
        batch_op.drop_index(batch_op.f("ix_blacklist_case_association_id"))

    op.drop_table("blacklist_case")
    with op.batch_alter_table("blacklist_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blacklist_rule_rulebook_id"))
        batch_op.drop_index("ix_blacklist_rule_association_rule")

    op.drop_table("blacklist_rule")
    with op.batch_alter_table("blacklist_rulebook", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blacklist_rulebook_association_id"))

    op.drop_table("blacklist_rulebook")
    with op.batch_alter_table("blacklist_committee_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blacklist_committee_member_association_id"))

    op.drop_table("blacklist_committee_member")
    op.drop_table("blacklist_terms")
