"""A member's declared size: vendor.size (micro, small, medium, large, or NULL).

The reports' vendor-size dimension splits complaints by it; members that applied before
declared none and stay NULL ("size not recorded") until they apply again with one.

Revision ID: 0020_vendor_size
Revises: 0019_blacklist_identifiers
Create Date: 2026-12-03 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_vendor_size"
down_revision: str | None = "0019_blacklist_identifiers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("vendor") as batch:
        batch.add_column(
            sa.Column(
                "size",
                sa.Enum(
                    "micro",
                    "small",
                    "medium",
                    "large",
                    name="vendorsize",
                    native_enum=False,
                    length=16,
                ),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("vendor") as batch:
        batch.drop_column("size")
