"""Keep a duplicate filing apart: complaint.duplicate_of_id and duplicate_joined_at.

A filing that repeats an open complaint (same contact, subject and category) used to be
appended to the earlier thread, and its answer showed the earlier tracking code. It is
now a complaint of its own, linked to the earlier one for mediators, who join the two by
an explicit action.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from registry.db.base import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duplicate_of_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("duplicate_joined_at", UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_complaint_duplicate_of_id"), ["duplicate_of_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_complaint_duplicate_of_id_complaint"),
            "complaint",
            ["duplicate_of_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_complaint_duplicate_of_id_complaint"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_complaint_duplicate_of_id"))
        batch_op.drop_column("duplicate_joined_at")
        batch_op.drop_column("duplicate_of_id")
