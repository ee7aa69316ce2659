"""Index attestations by vendor and period end: each reevaluation reads the latest ones.

Without it SQLite sorted all of a vendor's attestations on every submission.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_attestation_vendor_period_end", "attestation", ["vendor_id", "period_end"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_attestation_vendor_period_end", table_name="attestation")
