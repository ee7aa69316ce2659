"""Revocation ends a key's power: keys remember since when they were compromised, and
login tokens are found by the key they were obtained with.

`compromised_since` marks the records a revoked key signed after that instant for
review; the index on `api_token.via_key_id` lets a revocation revoke every token the key
obtained in its own transaction without scanning all tokens.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import registry.db.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("signing_key") as batch_op:
        batch_op.add_column(
            sa.Column(
                "compromised_since", registry.db.base.UTCDateTime(timezone=True), nullable=True
            )
        )
    op.create_index("ix_api_token_via_key_id", "api_token", ["via_key_id"], unique=False)
    # Tokens that keys revoked before this revision logged in for die with their keys,
    # as they would have under the new rule.
    op.execute(
        "UPDATE api_token SET revoked_at = (SELECT signing_key.revoked_at FROM signing_key"
        " WHERE signing_key.key_id = api_token.via_key_id)"
        " WHERE revoked_at IS NULL AND via_key_id IN"
        " (SELECT key_id FROM signing_key WHERE revoked_at IS NOT NULL)"
    )


def downgrade() -> None:
    op.drop_index("ix_api_token_via_key_id", table_name="api_token")
    with op.batch_alter_table("signing_key") as batch_op:
        batch_op.drop_column("compromised_since")
