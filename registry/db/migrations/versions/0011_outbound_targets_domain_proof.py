"""Vendor domains are claims until proven: a registry-issued proof token per claim, when
and how it was verified; one vendor per *verified* domain instead of per listed domain.

Domains listed before this revision become pending claims with a fresh token: none of
them was ever proven, so none keeps attaching complaints until its vendor serves the
token. Complaints already attached stay where they are.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 14:00:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import registry.db.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERIFIED = sa.text("verified_at IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("vendor_domain") as batch:
        batch.add_column(sa.Column("proof_token", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("verified_at", registry.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("verification_method", sa.String(length=16), nullable=True))
    connection = op.get_bind()
    domain = sa.table(
        "vendor_domain", sa.column("id", sa.Integer()), sa.column("proof_token", sa.String())
    )
    for (row_id,) in connection.execute(sa.select(domain.c.id)).all():
        connection.execute(
            domain.update()
            .where(domain.c.id == row_id)
            .values(proof_token=secrets.token_urlsafe(32))
        )
    with op.batch_alter_table("vendor_domain") as batch:
        batch.alter_column("proof_token", existing_type=sa.String(length=64), nullable=False)
        batch.drop_constraint("uq_vendor_domain_domain", type_="unique")
        batch.create_unique_constraint("uq_vendor_domain_vendor_id_domain", ["vendor_id", "domain"])
    op.create_index(
        "uq_vendor_domain_verified_domain",
        "vendor_domain",
        ["domain"],
        unique=True,
        sqlite_where=VERIFIED,
        postgresql_where=VERIFIED,
    )


def downgrade() -> None:
    op.drop_index("uq_vendor_domain_verified_domain", table_name="vendor_domain")
    connection = op.get_bind()
    domain = sa.table(
        "vendor_domain",
        sa.column("id", sa.Integer()),
        sa.column("domain", sa.String()),
        sa.column("verified_at"),
    )
    # One row per domain again: keep the verified claim, else the oldest.
    rows = connection.execute(
        sa.select(domain.c.id, domain.c.domain, domain.c.verified_at).order_by(
            domain.c.domain, domain.c.verified_at.is_(None), domain.c.id
        )
    ).all()
    seen: set[str] = set()
    for row_id, name, _verified in rows:
        if name in seen:
            connection.execute(domain.delete().where(domain.c.id == row_id))
        seen.add(name)
    with op.batch_alter_table("vendor_domain") as batch:
        batch.drop_constraint("uq_vendor_domain_vendor_id_domain", type_="unique")
        batch.create_unique_constraint("uq_vendor_domain_domain", ["domain"])
        batch.drop_column("verification_method")
        batch.drop_column("verified_at")
        batch.drop_column("proof_token")
