"""Keep the language of an admin's reason: certification_transition.reason_lang.

The public site shows every value in the reader's language. The registry's own reasons
("granted at level 1") are translated from a catalogue, but a reason an admin typed can
only be shown as written; the column says which language that is, so the page can mark
it (`lang`, WCAG 3.1.2) and label it when it is not the page's language. Rows written
before have the language told from the script of their text.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:00:00
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _written_language(text: str) -> str:
    # A copy of registry.certification.status.written_language as of this revision:
    # a migration must not change meaning when the application code does.
    for char in text:
        if unicodedata.east_asian_width(char) == "W" and unicodedata.category(char) == "Lo":
            return "zh"
    return "en"


def upgrade() -> None:
    with op.batch_alter_table("certification_transition") as batch:
        batch.add_column(sa.Column("reason_lang", sa.String(length=8), nullable=True))
    transition = sa.table(
        "certification_transition",
        sa.column("id", sa.Integer()),
        sa.column("cause", sa.String()),
        sa.column("reason", sa.Text()),
        sa.column("reason_lang", sa.String()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(transition.c.id, transition.c.reason).where(
            transition.c.cause == "admin", transition.c.reason.is_not(None)
        )
    ).all()
    for row_id, reason in rows:
        connection.execute(
            transition.update()
            .where(transition.c.id == row_id)
            .values(reason_lang=_written_language(reason))
        )


def downgrade() -> None:
    with op.batch_alter_table("certification_transition") as batch:
        batch.drop_column("reason_lang")
