"""A member's declared size: vendor.size (micro, small, medium, large, or NULL).

The reports' vendor-size dimension splits complaints by it; members that applied before
declared none and stay NULL ("size not recorded") until they apply again with one.

Revision ID: 0020_vendor_size
Revises: 0019_blacklist_identifiers
Create Date: 2026-12-03 20:10:00
"""

import sqlite3
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_vendor_size"
down_revision: str | None = "0019_blacklist_identifiers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_SIZE = sa.Enum(
    "micro", "small", "medium", "large", name="vendorsize", native_enum=False, length=16
)


def upgrade() -> None:
    # A plain ADD COLUMN on both databases: a batch copy of `vendor` on SQLite would drop
    # and recreate the table every other table refers to.
    op.add_column("vendor", sa.Column("size", _SIZE, nullable=True))


def downgrade() -> None:
    # SQLite has DROP COLUMN since 3.35; a batch copy would DROP TABLE vendor, which the
    # rows referring to it refuse while foreign keys are enforced.
    if op.get_bind().dialect.name == "sqlite" and sqlite3.sqlite_version_info < (3, 35):
        with op.batch_alter_table("vendor") as batch:
            batch.drop_column("size")
        return
    op.drop_column("vendor", "size")
