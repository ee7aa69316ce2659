"""Non-member subjects: complaints indexed by subject; a serious listing records when it
became final.

`ix_complaint_subject` (subject kind, value) serves what reads an unregistered subject's
complaints: the blacklist's facts and governing association for a domain, app id or
credit code (at every upheld complaint and every hourly evaluation), and attaching waiting
complaints when a vendor with that credit code or domain joins.

`blacklist_listing.final_at` is set when the listing's `ListingBecameFinal` event is
published (the appeal window passed unappealed, or the panel upheld it), so the
finality job publishes that event once per listing. Listings made final before this
revision have it NULL: the job publishes their event once more, which the certificate
ignores (it is revoked already), and sets it.

Revision ID: 0017_nonmember_subjects
Revises: 0016_blacklist_snapshots
Create Date: 2026-12-03 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import registry.db.base

revision: str = "0017_nonmember_subjects"
down_revision: str | None = "0016_blacklist_snapshots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_complaint_subject", "complaint", ["subject_kind", "subject_value"])
    with op.batch_alter_table("blacklist_listing") as batch:
        batch.add_column(
            sa.Column("final_at", registry.db.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("blacklist_listing") as batch:
        batch.drop_column("final_at")
    op.drop_index("ix_complaint_subject", table_name="complaint")
