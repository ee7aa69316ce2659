"""Outbox messages may be addressed to an association's mediators instead of a vendor.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch_op:
        batch_op.add_column(sa.Column("association_id", sa.Integer(), nullable=True))
        batch_op.alter_column("vendor_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(
            batch_op.f("ix_outbox_message_association_id"), ["association_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_message_association_id_association"),
            "association",
            ["association_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_outbox_message_one_addressee"),
            "(vendor_id IS NULL) <> (association_id IS NULL)",
        )


def downgrade() -> None:
    op.execute("DELETE FROM outbox_message WHERE vendor_id IS NULL")
    with op.batch_alter_table("outbox_message") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_outbox_message_one_addressee"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_message_association_id_association"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_outbox_message_association_id"))
        batch_op.alter_column("vendor_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("association_id")
