"""The PostgreSQL test databases are reused (tests/conftest.py, PostgresDatabases): a
database given back after a test must be equal to the migrated template for the next
one, under a name never used before, and one whose schema a test changed is dropped."""

from __future__ import annotations

import asyncpg
import pytest

from attestations.keys import SigningKey
from registry.context import RegistryContext
from registry.db.session import Database, create_engine
from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock
from registry.services import Services
from registry.settings import Settings
from tests.conftest import (
    PG_HOST,
    PG_PORT,
    SEQUENCES,
    TEST_EPOCH,
    PostgresDatabases,
    _pg_admin,
    _pg_url,
    _public_tables,
)

pytestmark = pytest.mark.postgres


async def _connect(name: str) -> asyncpg.Connection:
    return await asyncpg.connect(host=PG_HOST, port=PG_PORT, user="postgres", database=name)


async def _contents(name: str) -> tuple[dict[str, list[tuple[object, ...]]], dict[str, int | None]]:
    """Every public table's rows (sorted) and every sequence's position."""
    connection = await _connect(name)
    try:
        rows = {
            table: sorted(
                tuple(record)
                for record in await connection.fetch(f'SELECT * FROM "{table}"')  # noqa: S608
            )
            for table in await _public_tables(connection)
        }
        sequences = {row[0]: row[1] for row in await connection.fetch(SEQUENCES)}
    finally:
        await connection.close()
    return rows, sequences


async def _exists(name: str) -> bool:
    admin = await _pg_admin()
    try:
        return bool(
            await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name)
        )
    finally:
        await admin.close()


async def test_a_database_given_back_is_the_template_again_under_a_new_name(
    postgres_databases: PostgresDatabases, postgres_template: str
) -> None:
    template = await _contents(postgres_template)
    name = await postgres_databases.take()
    settings = Settings(database_url=_pg_url(name))
    ctx = RegistryContext(
        settings=settings,
        db=Database(create_engine(settings)),
        clock=ManualClock(TEST_EPOCH),
        federation_key=SigningKey.generate(),
    )
    services = Services(ctx)
    try:
        await services.federation.ensure_association("csia", "中国软件行业协会", "CSIA")
        await services.accounts.create_principal_with_token(
            role=Role.FEDERATION_ADMIN, display_name="admin", association_slug="csia"
        )
    finally:
        await ctx.db.dispose()
    written = await _contents(name)
    assert written != template, "the test wrote rows and moved sequences"

    # A session the test left open (a server still running) is ended, not waited for.
    straggler = await _connect(name)
    await postgres_databases.give_back(name)
    with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
        await straggler.fetchval("SELECT 1")
    straggler.terminate()

    assert not await _exists(name)
    again = await postgres_databases.take()
    assert again != name
    assert await _contents(again) == template
    await postgres_databases.give_back(again)


async def test_a_database_whose_schema_changed_is_dropped(
    postgres_databases: PostgresDatabases,
) -> None:
    name = await postgres_databases.take()
    connection = await _connect(name)
    try:
        await connection.execute("CREATE TABLE left_behind (id integer)")
    finally:
        await connection.close()
    await postgres_databases.give_back(name)
    assert not await _exists(name)
    for ready in postgres_databases.ready:
        assert await _exists(ready)
