"""Alembic, driven from code: `registry db upgrade`, first start, and /readyz."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from registry.db.session import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config pointing at our migrations; no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    """The newest migration in the tree."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(db: Database) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    async with db.engine.begin() as connection:
        await connection.run_sync(_upgrade)


def _drop_every_table(connection: Connection) -> None:
    # Reflected, not our models: tables of any revision, Alembic's own included.
    existing = MetaData()
    existing.reflect(connection)
    existing.drop_all(connection)


async def drop_everything(db: Database) -> None:
    """Drop every table of the database, leaving it as empty as a new one.

    For `registry demo --reset`; the caller migrates again afterwards. It runs as one
    write transaction (on SQLite behind the writers' lock), so it is all or nothing.
    """
    async with db.transaction() as session:
        connection = await session.connection()
        await connection.run_sync(_drop_every_table)


async def current_revision(db: Database) -> str | None:
    """The revision the database is at, or None for an empty database."""
    async with db.engine.connect() as connection:
        return await connection.run_sync(_current)


async def readiness(db: Database) -> tuple[bool, str | None]:
    """Whether the database answers and is at head, with the reason when not."""
    try:
        current = await current_revision(db)
    except (SQLAlchemyError, OSError) as exc:
        return False, f"database unreachable: {type(exc).__name__}"
    head = head_revision()
    if current != head:
        return False, f"schema at {current}, code expects {head}; run `registry db upgrade`"
    return True, None
