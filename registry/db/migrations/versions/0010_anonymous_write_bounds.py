"""Bound anonymous writes: client_action counts accepted applications and challenges.

Each row is one accepted anonymous write, keyed by a keyed hash of the client address
or credit code it counts against; the cleanup job deletes rows older than every window.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import registry.db.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "client_action",
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("at", registry.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_action")),
    )
    op.create_index(
        "ix_client_action_action_fingerprint_at",
        "client_action",
        ["action", "fingerprint", "at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_client_action_action_fingerprint_at", table_name="client_action")
    op.drop_table("client_action")
