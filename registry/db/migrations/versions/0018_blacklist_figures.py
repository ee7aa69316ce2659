"""The blacklist's own figures: case steps by month, association and tier.

The rollup starts empty; `registry reports rebuild` fills it from the case, listing,
appeal and repair tables, after which the subscriber to the case events keeps it in
step in the same transaction as each step.

Revision ID: 0018_blacklist_figures
Revises: 0015_reports
Create Date: 2026-12-03 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_blacklist_figures"
down_revision: str | None = "0015_reports"
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


def downgrade() -> None:
    op.drop_table("blacklist_rollup")
