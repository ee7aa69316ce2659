"""Blacklist identifiers: the normalised identifiers of every listing in force, for the
bulk check, and the generation that tells each worker its in-memory copy is old.

Filled here from the listings already in force (the subject, and for a member vendor its
slug, credit code and proven domains); from then on the blacklist keeps it in the
transaction of every listing published or ended and every domain a listed vendor proves.

Revision ID: 0019_blacklist_identifiers
Revises: 0018_blacklist_figures
Create Date: 2026-12-03 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_blacklist_identifiers"
down_revision: str | None = "0018_blacklist_figures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FILL = (
    # The subject of every listing in force that is not about a member vendor.
    "INSERT INTO blacklist_identifier (kind, value, listing_id)"
    " SELECT subject_kind, subject_value, id FROM blacklist_listing"
    " WHERE state = 'listed' AND vendor_id IS NULL",
    # A member vendor's slug, credit code and proven domains.
    "INSERT INTO blacklist_identifier (kind, value, listing_id)"
    " SELECT 'vendor', v.slug, l.id FROM blacklist_listing AS l"
    " JOIN vendor AS v ON v.id = l.vendor_id WHERE l.state = 'listed'",
    "INSERT INTO blacklist_identifier (kind, value, listing_id)"
    " SELECT 'credit_code', v.credit_code, l.id FROM blacklist_listing AS l"
    " JOIN vendor AS v ON v.id = l.vendor_id WHERE l.state = 'listed'",
    "INSERT INTO blacklist_identifier (kind, value, listing_id)"
    " SELECT DISTINCT 'domain', d.domain, l.id FROM blacklist_listing AS l"
    " JOIN vendor_domain AS d ON d.vendor_id = l.vendor_id"
    " WHERE l.state = 'listed' AND d.verified_at IS NOT NULL",
)


def upgrade() -> None:
    op.create_table(
        "blacklist_identifier",
        sa.Column(
            "kind",
            sa.Enum(
                "vendor",
                "domain",
                "app_id",
                "credit_code",
                name="subjectkind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("value", sa.String(length=253), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["blacklist_listing.id"],
            name=op.f("fk_blacklist_identifier_listing_id_blacklist_listing"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_identifier")),
        sa.UniqueConstraint(
            "kind",
            "value",
            "listing_id",
            name=op.f("uq_blacklist_identifier_kind_value_listing_id"),
        ),
    )
    op.create_index(
        op.f("ix_blacklist_identifier_listing_id"),
        "blacklist_identifier",
        ["listing_id"],
        unique=False,
    )
    op.create_table(
        "blacklist_identifier_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_identifier_head")),
    )
    for statement in _FILL:
        op.execute(statement)
    op.execute("INSERT INTO blacklist_identifier_head (id, generation) VALUES (1, 1)")


def downgrade() -> None:
    op.drop_table("blacklist_identifier_head")
    op.drop_index(op.f("ix_blacklist_identifier_listing_id"), table_name="blacklist_identifier")
    op.drop_table("blacklist_identifier")
