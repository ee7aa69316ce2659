"""Certification, audits, notifications and the scheduler lease (issue 4).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 15:50:03.084667
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import registry.db.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("expires_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_lease")),
    )
    op.create_table(
        "scheme",
        sa.Column("association_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title_zh", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("published_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["association.id"],
            name=op.f("fk_scheme_association_id_association"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheme")),
        sa.UniqueConstraint(
            "association_id", "slug", "version", name=op.f("uq_scheme_association_id_slug_version")
        ),
    )
    with op.batch_alter_table("scheme", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scheme_association_id"), ["association_id"], unique=False
        )

    op.create_table(
        "attestation",
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("envelope_digest", sa.String(length=64), nullable=False),
        sa.Column("period_start", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("all_met", sa.Boolean(), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("received_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["scheme.id"], name=op.f("fk_attestation_scheme_id_scheme")
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendor.id"], name=op.f("fk_attestation_vendor_id_vendor")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attestation")),
        sa.UniqueConstraint("envelope_digest", name=op.f("uq_attestation_envelope_digest")),
    )
    with op.batch_alter_table("attestation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attestation_vendor_period", ["vendor_id", "period_start"], unique=False
        )

    op.create_table(
        "certification",
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "applied",
                "active",
                "renewal_due",
                "expired",
                "suspended",
                "revoked",
                name="certificationstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("certified_since", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("valid_until", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("audit_due", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_days", sa.Integer(), nullable=True),
        sa.Column("changed_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["scheme.id"], name=op.f("fk_certification_scheme_id_scheme")
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendor.id"], name=op.f("fk_certification_vendor_id_vendor")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certification")),
        sa.UniqueConstraint("vendor_id", name=op.f("uq_certification_vendor_id")),
    )
    with op.batch_alter_table("certification", schema=None) as batch_op:
        batch_op.create_index(
            "ix_certification_state_audit_due", ["state", "audit_due"], unique=False
        )
        batch_op.create_index(
            "ix_certification_state_valid_until", ["state", "valid_until"], unique=False
        )

    op.create_table(
        "outbox_message",
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("dispatched_at", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendor.id"], name=op.f("fk_outbox_message_vendor_id_vendor")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_message_pending", ["dispatched_at", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outbox_message_vendor_id"), ["vendor_id"], unique=False
        )

    op.create_table(
        "webhook_endpoint",
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("deleted_at", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendor.id"], name=op.f("fk_webhook_endpoint_vendor_id_vendor")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoint")),
    )
    with op.batch_alter_table("webhook_endpoint", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_endpoint_vendor_id"), ["vendor_id"], unique=False
        )

    op.create_table(
        "auditor",
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("accredited_from", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accredited_until", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("log_index", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["principal_id"], ["principal.id"], name=op.f("fk_auditor_principal_id_principal")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auditor")),
        sa.UniqueConstraint("principal_id", name=op.f("uq_auditor_principal_id")),
        sa.UniqueConstraint("slug", name=op.f("uq_auditor_slug")),
    )
    op.create_table(
        "certification_transition",
        sa.Column("certification_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("valid_until", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "cause",
            sa.Enum(
                "attestation",
                "audit",
                "deadline",
                "admin",
                "blacklist",
                name="transitioncause",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("cause_ref", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["certification_id"],
            ["certification.id"],
            name=op.f("fk_certification_transition_certification_id_certification"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["principal.id"],
            name=op.f("fk_certification_transition_decided_by_principal"),
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendor.id"], name=op.f("fk_certification_transition_vendor_id_vendor")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certification_transition")),
    )
    with op.batch_alter_table("certification_transition", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certification_transition_certification_id"),
            ["certification_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_certification_transition_vendor_id"), ["vendor_id"], unique=False
        )

    op.create_table(
        "webhook_delivery",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "delivered",
                "failed",
                name="deliverystatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoint.id"],
            name=op.f("fk_webhook_delivery_endpoint_id_webhook_endpoint"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["outbox_message.id"],
            name=op.f("fk_webhook_delivery_message_id_outbox_message"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
    )
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_delivery_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webhook_delivery_endpoint_id"), ["endpoint_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webhook_delivery_message_id"), ["message_id"], unique=False
        )

    op.create_table(
        "audit",
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("auditor_id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("envelope_digest", sa.String(length=64), nullable=False),
        sa.Column("period_start", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "result",
            sa.Enum("pass", "fail", name="auditresult", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("report_sha256", sa.String(length=64), nullable=False),
        sa.Column("next_audit_due", registry.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("gap_before", sa.Boolean(), nullable=False),
        sa.Column("received_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["auditor_id"], ["auditor.id"], name=op.f("fk_audit_auditor_id_auditor")
        ),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["scheme.id"], name=op.f("fk_audit_scheme_id_scheme")
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendor.id"], name=op.f("fk_audit_vendor_id_vendor")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit")),
        sa.UniqueConstraint("envelope_digest", name=op.f("uq_audit_envelope_digest")),
    )
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_auditor_id"), ["auditor_id"], unique=False)
        batch_op.create_index("ix_audit_vendor_period", ["vendor_id", "period_end"], unique=False)

    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_signing_key_auditor_id_auditor"), "auditor", ["auditor_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_signing_key_auditor_id_auditor"), type_="foreignkey"
        )

    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_vendor_period")
        batch_op.drop_index(batch_op.f("ix_audit_auditor_id"))

    op.drop_table("audit")
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_delivery_message_id"))
        batch_op.drop_index(batch_op.f("ix_webhook_delivery_endpoint_id"))
        batch_op.drop_index("ix_webhook_delivery_due")

    op.drop_table("webhook_delivery")
    with op.batch_alter_table("certification_transition", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certification_transition_vendor_id"))
        batch_op.drop_index(batch_op.f("ix_certification_transition_certification_id"))

    op.drop_table("certification_transition")
    op.drop_table("auditor")
    with op.batch_alter_table("webhook_endpoint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_endpoint_vendor_id"))

    op.drop_table("webhook_endpoint")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_message_vendor_id"))
        batch_op.drop_index("ix_outbox_message_pending")

    op.drop_table("outbox_message")
    with op.batch_alter_table("certification", schema=None) as batch_op:
        batch_op.drop_index("ix_certification_state_valid_until")
        batch_op.drop_index("ix_certification_state_audit_due")

    op.drop_table("certification")
    with op.batch_alter_table("attestation", schema=None) as batch_op:
        batch_op.drop_index("ix_attestation_vendor_period")

    op.drop_table("attestation")
    with op.batch_alter_table("scheme", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scheme_association_id"))

    op.drop_table("scheme")
    op.drop_table("scheduler_lease")
