"""Migrations and models agree, on both databases, and upgrading twice is harmless."""

from __future__ import annotations

from registry.db.check import pending_model_changes
from registry.db.migrate import current_revision, head_revision, readiness, upgrade
from registry.db.session import SQLITE_PAGE_SIZE
from registry.services import Services


async def test_models_match_migrations(services: Services) -> None:
    """What autogenerate would emit for a new migration is empty (like `alembic check`)."""
    assert await pending_model_changes(services) == []


async def test_upgrade_is_idempotent_and_ready(services: Services) -> None:
    """A second upgrade changes nothing; readiness reports head."""
    await upgrade(services.ctx.db)
    assert await current_revision(services.ctx.db) == head_revision()
    assert await readiness(services.ctx.db) == (True, None)


async def test_new_sqlite_database_takes_the_page_size(services: Services) -> None:
    """A database created by the registry uses SQLITE_PAGE_SIZE (PostgreSQL: not a setting)."""
    if services.ctx.db.dialect != "sqlite":
        return
    async with services.ctx.db.engine.connect() as connection:
        page_size = (await connection.exec_driver_sql("PRAGMA page_size")).scalar_one()
    assert page_size == SQLITE_PAGE_SIZE
