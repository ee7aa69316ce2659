"""Migration drift check: the models and the migrations must describe the same schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from registry.db.base import Base

if TYPE_CHECKING:
    from registry.services import Services


def _diff(connection: Connection) -> list[str]:
    import registry.models  # noqa: F401 - complete metadata

    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [str(change) for change in compare_metadata(context, Base.metadata)]


async def pending_model_changes(services: Services) -> list[str]:
    """What autogenerate would put in a new migration; empty when in sync."""
    async with services.ctx.db.engine.connect() as connection:
        return await connection.run_sync(_diff)
