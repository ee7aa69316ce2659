"""Blacklist snapshots: the signed, chained list of listings in force, and the changes.

Starts empty: the first change to a listing, or the daily job, makes snapshot 1.

Revision ID: 0016_blacklist_snapshots
Revises: 0015_reports
Create Date: 2026-12-03 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import registry.db.base

revision: str = "0016_blacklist_snapshots"
down_revision: str | None = "0015_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "blacklist_snapshot",
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("issued_at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_update", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("previous", sa.String(length=64), nullable=True),
        sa.Column("payload_digest", sa.String(length=64), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("listings", sa.JSON(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "(serial = 1 AND previous IS NULL) OR (serial > 1 AND previous IS NOT NULL)",
            name=op.f("ck_blacklist_snapshot_chained"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_snapshot")),
        sa.UniqueConstraint("payload_digest", name=op.f("uq_blacklist_snapshot_payload_digest")),
        sa.UniqueConstraint("previous", name=op.f("uq_blacklist_snapshot_previous")),
        sa.UniqueConstraint("serial", name=op.f("uq_blacklist_snapshot_serial")),
    )
    op.create_table(
        "blacklist_snapshot_change",
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["blacklist_listing.id"],
            name=op.f("fk_blacklist_snapshot_change_listing_id_blacklist_listing"),
        ),
        sa.ForeignKeyConstraint(
            ["serial"],
            ["blacklist_snapshot.serial"],
            name=op.f("fk_blacklist_snapshot_change_serial_blacklist_snapshot"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_snapshot_change")),
        sa.UniqueConstraint(
            "serial", "listing_id", name=op.f("uq_blacklist_snapshot_change_serial_listing_id")
        ),
    )
    op.create_index(
        op.f("ix_blacklist_snapshot_change_serial"),
        "blacklist_snapshot_change",
        ["serial"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_blacklist_snapshot_change_serial"), table_name="blacklist_snapshot_change"
    )
    op.drop_table("blacklist_snapshot_change")
    op.drop_table("blacklist_snapshot")
