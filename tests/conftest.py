"""Shared fixtures: a real database per test (SQLite and PostgreSQL), services, a live server.

Every test that takes `services` or `api` runs twice: on SQLite and on PostgreSQL at
127.0.0.1:5432 (database `test`, trust auth). Each test gets its own fresh database,
copied from a migrated template, so no test sees what another left behind. Where no
PostgreSQL answers, those runs are skipped with one clear reason.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
import uvicorn

from attestations.keys import SigningKey
from registry.app import create_app
from registry.context import RegistryContext
from registry.db.migrate import upgrade
from registry.db.session import Database, create_engine
from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock
from registry.services import Services
from registry.settings import Settings

PG_HOST, PG_PORT, PG_ADMIN_DB = "127.0.0.1", 5432, "test"
PG_SKIP_REASON = (
    "PostgreSQL is not reachable at 127.0.0.1:5432 (database 'test', trust auth); "
    "PostgreSQL runs are skipped"
)
T = TypeVar("T")
TEST_EPOCH = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
"""Where every test's manual clock starts."""


def _postgres_available() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=1):
            pass
    except OSError:
        return False

    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(
                host=PG_HOST, port=PG_PORT, user="postgres", database=PG_ADMIN_DB
            )
        except (OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


POSTGRES_AVAILABLE = _postgres_available()


def run_in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a fresh loop, even from inside a running one."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def pytest_report_header(config: pytest.Config) -> str:
    """Say up front whether the PostgreSQL half of the suite runs."""
    if POSTGRES_AVAILABLE:
        return "databases: SQLite and PostgreSQL at 127.0.0.1:5432"
    return "databases: SQLite only - " + PG_SKIP_REASON


async def _pg_admin() -> asyncpg.Connection:
    return await asyncpg.connect(host=PG_HOST, port=PG_PORT, user="postgres", database=PG_ADMIN_DB)


def _pg_url(name: str) -> str:
    return f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{name}"


async def _migrate(settings: Settings) -> None:
    db = Database(create_engine(settings))
    try:
        await upgrade(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database file that each test copies."""
    directory = tmp_path_factory.mktemp("sqlite-template")
    run_in_thread(_migrate(Settings(data_dir=directory)))
    return directory / "registry.db"


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated PostgreSQL database that each test clones with CREATE DATABASE … TEMPLATE."""
    if not POSTGRES_AVAILABLE:
        pytest.skip(PG_SKIP_REASON)
    name = f"tr_template_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        admin = await _pg_admin()
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        await _migrate(Settings(database_url=_pg_url(name)))

    async def drop() -> None:
        admin = await _pg_admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    run_in_thread(create())
    yield name
    run_in_thread(drop())


@dataclass(frozen=True)
class TestDatabase:
    """Settings pointing at this test's own database."""

    kind: str
    settings: Settings


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def test_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[TestDatabase]:
    """This test's own freshly migrated database, on each backend."""
    base = Settings(data_dir=tmp_path / "var", log_origin="test.trust-registry.example/log")
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        base.data_dir.mkdir(parents=True)
        shutil.copyfile(template, base.data_dir / "registry.db")
        yield TestDatabase("sqlite", base)
        return
    template_name: str = request.getfixturevalue("postgres_template")
    name = f"tr_test_{uuid.uuid4().hex[:12]}"
    admin = await _pg_admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    finally:
        await admin.close()
    yield TestDatabase("postgresql", replace(base, database_url=_pg_url(name)))
    admin = await _pg_admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def clock() -> ManualClock:
    """The test's clock; move it with `clock.advance(...)`."""
    return ManualClock(TEST_EPOCH)


@pytest.fixture
async def ctx(test_database: TestDatabase, clock: ManualClock) -> AsyncIterator[RegistryContext]:
    """A registry context on the test database with the manual clock and a fresh federation key."""
    settings = test_database.settings
    context = RegistryContext(
        settings=settings,
        db=Database(create_engine(settings)),
        clock=clock,
        federation_key=SigningKey.generate(),
    )
    yield context
    await context.db.dispose()


@pytest.fixture
async def services(ctx: RegistryContext) -> Services:
    """The service container, exactly as the app and CLI build it."""
    return Services(ctx)


@pytest.fixture
async def api(ctx: RegistryContext) -> AsyncIterator[httpx.AsyncClient]:
    """A real HTTP server (uvicorn on a free loopback port) over the test's context."""
    app = create_app(context=ctx, run_scheduler=False)
    # As `registry serve` runs it: forwarding headers are the app's to judge.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", proxy_headers=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        yield client
    server.should_exit = True
    await task


@pytest.fixture
async def association(services: Services) -> str:
    """A ready association slug."""
    await services.federation.ensure_association(
        "csia", "中国软件行业协会", "China Software Industry Association"
    )
    return "csia"


@pytest.fixture
async def role_tokens(services: Services, association: str) -> dict[Role, str]:
    """A bearer token for every role; scoped roles act for `association`."""
    tokens: dict[Role, str] = {}
    for role in Role:
        if role is Role.VENDOR_ADMIN:
            continue
        issued = await services.accounts.create_principal_with_token(
            role=role,
            display_name=f"test {role.value}",
            association_slug=association,
        )
        tokens[role] = issued.token
    return tokens
