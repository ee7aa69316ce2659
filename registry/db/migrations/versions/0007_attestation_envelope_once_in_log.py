"""Keep an attestation's envelope once, in its log leaf: drop attestation.envelope, claims.

Every accepted attestation's log leaf embeds the envelope's canonical bytes, and the
per-criterion claims are in its statement; the two columns repeated them and doubled
what each submission wrote. Downgrading restores both from the log leaves.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 09:00:00
"""

import base64
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from attestations.canonical import canonicalize

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attestation") as batch:
        batch.drop_column("envelope")
        batch.drop_column("claims")


def _claims(envelope: dict[str, Any]) -> dict[str, Any]:
    statement = json.loads(base64.b64decode(envelope["payload"]))
    return {
        criterion: {
            "met": claim["met"],
            "evidence_url": claim.get("evidence_url"),
            "evidence_sha256": claim.get("evidence_sha256"),
        }
        for criterion, claim in statement["predicate"]["criteria"].items()
    }


def downgrade() -> None:
    with op.batch_alter_table("attestation") as batch:
        batch.add_column(sa.Column("envelope", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("claims", sa.JSON(), nullable=True))
    connection = op.get_bind()
    attestation = sa.table(
        "attestation",
        sa.column("id", sa.Integer()),
        sa.column("log_index", sa.BigInteger()),
        sa.column("envelope", sa.LargeBinary()),
        sa.column("claims", sa.JSON()),
    )
    log_entry = sa.table("log_entry", sa.column("index", sa.BigInteger()), sa.column("leaf"))
    rows = connection.execute(
        sa.select(attestation.c.id, log_entry.c.leaf).join(
            log_entry, log_entry.c.index == attestation.c.log_index
        )
    ).all()
    for record_id, leaf in rows:
        envelope = json.loads(bytes(leaf))["body"]["envelope"]
        connection.execute(
            attestation.update()
            .where(attestation.c.id == record_id)
            .values(envelope=canonicalize(envelope), claims=_claims(envelope))
        )
    with op.batch_alter_table("attestation") as batch:
        batch.alter_column("envelope", existing_type=sa.LargeBinary(), nullable=False)
        batch.alter_column("claims", existing_type=sa.JSON(), nullable=False)
