"""Certificates remember the causes that hold them; transitions log causes raised and cleared.

A suspension used to be a bare state, so any fresh evidence could lift an association's
decision. Now each cause in force is kept with its owner, and only the owner (or evidence
that cures an evidence cause) removes it. Certificates suspended before this revision
get the cause their suspending transition names, so upgrading does not let their next
attestation lift an admin's suspension.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("certification") as batch:
        batch.add_column(sa.Column("causes", sa.JSON(), server_default="[]", nullable=False))
    with op.batch_alter_table("certification_transition") as batch:
        batch.add_column(sa.Column("causes_raised", sa.JSON(), server_default="[]", nullable=False))
        batch.add_column(
            sa.Column("causes_cleared", sa.JSON(), server_default="[]", nullable=False)
        )
    _backfill_suspended()


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:  # SQLite keeps naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _cause(transition: Any, association_id: int) -> dict[str, Any]:
    """The cause in force named by the transition that suspended the certificate."""
    if transition.cause == "admin":
        kind, owner = "admin", f"association:{association_id}"
    elif transition.cause == "blacklist":
        kind, owner = "blacklist", transition.cause_ref
    elif transition.cause == "deadline":
        kind, owner = "audit_overdue", None
    elif transition.cause == "audit" and "audit failed" in (transition.reason or ""):
        kind, owner = "audit_failed", None
    else:
        kind, owner = "criterion_unmet", None
    return {
        "kind": kind,
        "owner": owner,
        "raised_at": _iso(transition.at),
        "raised_by": transition.decided_by,
        "reason": transition.reason or "suspended",
        "log_index": transition.log_index,
    }


def _backfill_suspended() -> None:
    connection = op.get_bind()
    certification = sa.table(
        "certification",
        sa.column("id", sa.Integer()),
        sa.column("vendor_id", sa.Integer()),
        sa.column("state", sa.String()),
        sa.column("causes", sa.JSON()),
    )
    vendor = sa.table("vendor", sa.column("id", sa.Integer()), sa.column("association_id"))
    transition = sa.table(
        "certification_transition",
        sa.column("id", sa.Integer()),
        sa.column("certification_id", sa.Integer()),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("to_state", sa.String()),
        sa.column("cause", sa.String()),
        sa.column("cause_ref", sa.String()),
        sa.column("reason", sa.Text()),
        sa.column("decided_by", sa.Integer()),
        sa.column("log_index", sa.BigInteger()),
    )
    suspended = connection.execute(
        sa.select(certification.c.id, vendor.c.association_id)
        .join(vendor, vendor.c.id == certification.c.vendor_id)
        .where(certification.c.state == "suspended")
    ).all()
    for certification_id, association_id in suspended:
        last = connection.execute(
            sa.select(transition)
            .where(
                transition.c.certification_id == certification_id,
                transition.c.to_state == "suspended",
            )
            .order_by(transition.c.id.desc())
            .limit(1)
        ).one_or_none()
        if last is None:
            continue
        connection.execute(
            certification.update()
            .where(certification.c.id == certification_id)
            .values(causes=[_cause(last, association_id)])
        )


def downgrade() -> None:
    op.drop_column("certification_transition", "causes_cleared")
    op.drop_column("certification_transition", "causes_raised")
    op.drop_column("certification", "causes")
