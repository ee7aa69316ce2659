"""Reports: complaint and vendor rollups, partner scopes, the access log, snapshots.

The rollups start empty; `registry reports rebuild` fills them from the complaint,
certificate and audit tables (the README's upgrade notes say so), after which the
domain-event subscribers keep them in step in the same transaction as each event.

Revision ID: 0015_reports
Revises: 0014_blacklist
Create Date: 2026-12-03 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import registry.db.base

revision: str = "0015_reports"
down_revision: str | None = "0014_blacklist"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "complaint_rollup",
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("association_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("vendor_size", sa.String(length=16), nullable=False),
        sa.Column("province", sa.String(length=6), nullable=False),
        sa.Column("prefecture", sa.String(length=6), nullable=False),
        sa.Column("filed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("forwarded", sa.Integer(), server_default="0", nullable=False),
        sa.Column("answered", sa.Integer(), server_default="0", nullable=False),
        sa.Column("answered_in_clock", sa.Integer(), server_default="0", nullable=False),
        sa.Column("answered_24h", sa.Integer(), server_default="0", nullable=False),
        sa.Column("resolved", sa.Integer(), server_default="0", nullable=False),
        sa.Column("escalated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("mediated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("substantiated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("concluded", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("satisfied", sa.Integer(), server_default="0", nullable=False),
        sa.Column("leak_confirmed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rt_00", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rt_01", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rt_02", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rt_03", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rt_04", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rt_05", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rt_06", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rt_07", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rt_08", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rt_09", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rt_10", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "month",
            "association_id",
            "region",
            "category",
            "vendor_size",
            name=op.f("pk_complaint_rollup"),
        ),
    )
    op.create_index(
        "ix_complaint_rollup_month_prefecture",
        "complaint_rollup",
        ["month", "prefecture"],
        unique=False,
    )
    op.create_index(
        "ix_complaint_rollup_month_province",
        "complaint_rollup",
        ["month", "province"],
        unique=False,
    )
    op.create_table(
        "report_snapshot",
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("issued_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_update", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("envelope_digest", sa.String(length=64), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=True),
        sa.Column("tables", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_snapshot")),
        sa.UniqueConstraint("envelope_digest", name=op.f("uq_report_snapshot_envelope_digest")),
        sa.UniqueConstraint("period", name=op.f("uq_report_snapshot_period")),
        sa.UniqueConstraint("serial", name=op.f("uq_report_snapshot_serial")),
    )
    op.create_table(
        "vendor_rollup",
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("association_id", sa.Integer(), nullable=False),
        sa.Column("granted", sa.Integer(), server_default="0", nullable=False),
        sa.Column("renewed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("expired", sa.Integer(), server_default="0", nullable=False),
        sa.Column("due", sa.Integer(), server_default="0", nullable=False),
        sa.Column("renewed_before_expiry", sa.Integer(), server_default="0", nullable=False),
        sa.Column("security_incidents", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("month", "association_id", name=op.f("pk_vendor_rollup")),
    )
    op.create_table(
        "complaint_fact",
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("association_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("vendor_size", sa.String(length=16), nullable=False),
        sa.Column("flags", sa.Integer(), nullable=False),
        sa.Column("response_bucket", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_complaint_fact_complaint_id_complaint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_complaint_fact")),
    )
    op.create_table(
        "partner_scope",
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=True),
        sa.Column("association_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["association.id"],
            name=op.f("fk_partner_scope_association_id_association"),
        ),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principal.id"],
            name=op.f("fk_partner_scope_principal_id_principal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_scope")),
    )
    op.create_index(
        op.f("ix_partner_scope_principal_id"), "partner_scope", ["principal_id"], unique=False
    )
    op.create_table(
        "report_access",
        sa.Column("at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("cells", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["principal_id"], ["principal.id"], name=op.f("fk_report_access_principal_id_principal")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_access")),
    )
    op.create_index(
        op.f("ix_report_access_principal_id"), "report_access", ["principal_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_report_access_principal_id"), table_name="report_access")
    op.drop_table("report_access")
    op.drop_index(op.f("ix_partner_scope_principal_id"), table_name="partner_scope")
    op.drop_table("partner_scope")
    op.drop_table("complaint_fact")
    op.drop_table("vendor_rollup")
    op.drop_table("report_snapshot")
    op.drop_index("ix_complaint_rollup_month_province", table_name="complaint_rollup")
    op.drop_index("ix_complaint_rollup_month_prefecture", table_name="complaint_rollup")
    op.drop_table("complaint_rollup")
