"""The blacklist's own figures: case steps by month, association and tier, and the
waits behind the medians.

The rollup and the waits start empty; `registry reports rebuild` fills it from the case, listing,
appeal and repair tables, after which the subscriber to the case events keeps it in
step in the same transaction as each step.

Revision ID: 0018_blacklist_figures
Revises: 0017_nonmember_subjects
Create Date: 2026-12-03 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_blacklist_figures"
down_revision: str | None = "0017_nonmember_subjects"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTERS = (
    "opened",
    "listed",
    "not_listed",
    "lapsed",
    "appeals",
    "appeals_overturned",
    "repairs_applied",
    "repairs_granted",
)


def upgrade() -> None:
    op.create_table(
        "blacklist_rollup",
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("association_id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        *(sa.Column(name, sa.Integer(), server_default="0", nullable=False) for name in _COUNTERS),
        sa.PrimaryKeyConstraint(
            "month", "association_id", "tier", name=op.f("pk_blacklist_rollup")
        ),
    )
    op.create_table(
        "blacklist_duration",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("association_id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("days", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["blacklist_case.id"],
            name=op.f("fk_blacklist_duration_case_id_blacklist_case"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", "kind", name=op.f("pk_blacklist_duration")),
    )
    op.create_index(
        op.f("ix_blacklist_duration_month"), "blacklist_duration", ["month"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_blacklist_duration_month"), table_name="blacklist_duration")
    op.drop_table("blacklist_duration")
    op.drop_table("blacklist_rollup")
