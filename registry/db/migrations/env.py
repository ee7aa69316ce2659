"""Alembic environment: runs on the connection `registry.db.migrate` hands it."""

from __future__ import annotations

from alembic import context

import registry.models  # noqa: F401 - registers every table on the metadata
from registry.db.base import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Use the caller's connection (sync side of the async engine)."""
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `registry db upgrade`")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
