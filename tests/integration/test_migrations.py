"""Migrations and models agree, on both databases, and upgrading twice is harmless."""

from __future__ import annotations

from registry.db.check import pending_model_changes
from registry.db.migrate import current_revision, head_revision, readiness, upgrade
from registry.services import Services


async def test_models_match_migrations(services: Services) -> None:
    """What autogenerate would emit for a new migration is empty (like `alembic check`)."""
    assert await pending_model_changes(services) == []


async def test_upgrade_is_idempotent_and_ready(services: Services) -> None:
    """A second upgrade changes nothing; readiness reports head."""
    await upgrade(services.ctx.db)
    assert await current_revision(services.ctx.db) == head_revision()
    assert await readiness(services.ctx.db) == (True, None)
