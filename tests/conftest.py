"""Shared fixtures: a real database per test (SQLite and PostgreSQL), services, a live server.

Every test that takes `services` or `api` runs twice: on SQLite and on PostgreSQL at
127.0.0.1:5432 (database `test`, trust auth). Each test gets its own fresh database,
equal to a migrated template (a SQLite file copy; a PostgreSQL copy emptied back to the
template after the test before it serves the next, see `PostgresDatabases`), so no test
sees what another left behind. Where no PostgreSQL answers, those runs are skipped with
one clear reason.

The suite runs on pytest-xdist workers: what a whole run shares (the SQLite template,
the demo data) is built once under a file lock (`built_once`); each worker has its own
PostgreSQL template and databases, and servers take ports from
`bench.serving.free_port()` (a block per worker) or bind port 0.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
import uvicorn

from attestations.keys import SigningKey
from bench.serving import REGISTRY, registry_env
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


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """A directory `name` that `build` fills once for the whole run: under pytest-xdist the
    first worker to ask builds it while the others wait on a lock, then all read it. Tests
    copy what they need out of it and never write into it."""
    shared = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        shared = shared.parent  # the run's directory, above each worker's own
    directory, ready = shared / name, shared / f"{name}.ready"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not ready.exists():
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(mode=0o700)
            build(directory)
            ready.touch()
    return directory


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database file that each test copies."""

    def migrate(directory: Path) -> None:
        run_in_thread(_migrate(Settings(data_dir=directory)))

    return built_once(tmp_path_factory, "sqlite-template", migrate) / "registry.db"


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Path]:
    """Fills a data directory with the demo federation; returns it.

    `registry demo` runs once for the whole run (about ten seconds of CPU each time) and
    each caller gets a copy of what it wrote (database and keys, their modes kept), so a
    module serving the demo starts from the same state as after its own `registry demo`,
    loaded a few minutes earlier."""

    def load(directory: Path) -> None:
        subprocess.run(
            [REGISTRY, "demo"], env=registry_env(directory), check=True, stdout=subprocess.DEVNULL
        )

    template = built_once(tmp_path_factory, "demo-template", load)

    def copy(target: Path) -> Path:
        shutil.copytree(template, target, dirs_exist_ok=True)
        return target

    return copy


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated PostgreSQL database that each test's database starts as a copy of."""
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

    run_in_thread(create())
    yield name
    run_in_thread(_drop_databases([name]))


async def _drop_databases(names: list[str]) -> None:
    admin = await _pg_admin()
    try:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


SCHEMA_FINGERPRINT = """
SELECT md5(string_agg(item, E'\\n' ORDER BY item)) FROM (
    SELECT format('namespace %s', nspname) AS item FROM pg_namespace
    UNION ALL SELECT format('extension %s %s', extname, extversion) FROM pg_extension
    UNION ALL SELECT format('relation %s.%s %s %s', n.nspname, c.relname, c.relkind, c.relpersistence)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
    UNION ALL SELECT format('column %s.%s %s %s %s %s', c.relname, a.attname,
            format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attisdropped,
            pg_get_expr(d.adbin, d.adrelid))
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attnum > 0 AND n.nspname = 'public'
    UNION ALL SELECT format('constraint %s %s', conname, pg_get_constraintdef(c.oid))
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = 'public'
    UNION ALL SELECT format('index %s', indexdef) FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL SELECT format('trigger %s %s', tgrelid::regclass, tgname) FROM pg_trigger
        WHERE NOT tgisinternal
    UNION ALL SELECT format('function %s', p.oid::regprocedure) FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
    UNION ALL SELECT format('type %s %s', t.typname, t.typtype) FROM pg_type t
        JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public'
    UNION ALL SELECT format('enum %s %s', enumtypid::regtype, enumlabel) FROM pg_enum
    UNION ALL SELECT format('view %s %s', viewname, definition) FROM pg_views
        WHERE schemaname = 'public'
    UNION ALL SELECT format('setting %s', array_to_string(setconfig, ','))
        FROM pg_db_role_setting WHERE setdatabase = (
            SELECT oid FROM pg_database WHERE datname = current_database())
) AS schema_items
"""
"""Everything of a database but its rows: equal to the template's means a test changed
no schema, so emptying the tables gives back the template."""

SEQUENCES = "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
"""Where each sequence stands (NULL: never used)."""


@dataclass
class PostgresDatabases:
    """This process's PostgreSQL test databases, each a copy of the migrated template.

    A copy is made once (CREATE DATABASE … TEMPLATE writes ~10 MB of WAL, and the DROP
    after the test forces a checkpoint of the whole server: seconds on a shared machine)
    and then serves test after test: after a test its tables are emptied, the template's
    rows and sequence positions put back and the database renamed, so the next test gets
    a database equal to the template under a name never used before. A database whose
    schema a test changed is dropped, not reused."""

    template: str
    fingerprint: str
    rows: dict[str, list[asyncpg.Record]]
    sequences: dict[str, int | None]
    ready: list[str]

    async def take(self) -> str:
        """A database equal to the template, under a fresh name."""
        if self.ready:
            return self.ready.pop()
        name = f"tr_test_{uuid.uuid4().hex[:12]}"
        admin = await _pg_admin()
        try:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        finally:
            await admin.close()
        return name

    async def give_back(self, name: str) -> None:
        """Empty `name` back to the template's state for the next test, or drop it."""
        admin = await _pg_admin()
        try:
            await _disconnect_all(admin, name)
            if await self._restore(name):
                fresh = f"tr_test_{uuid.uuid4().hex[:12]}"
                await admin.execute(f'ALTER DATABASE "{name}" RENAME TO "{fresh}"')
                self.ready.append(fresh)
            else:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    async def _restore(self, name: str) -> bool:
        connection = await asyncpg.connect(
            host=PG_HOST, port=PG_PORT, user="postgres", database=name
        )
        try:
            if await connection.fetchval(SCHEMA_FINGERPRINT) != self.fingerprint:
                return False
            tables = await _public_tables(connection)
            moved = [
                (row["sequencename"], self.sequences.get(row["sequencename"]))
                for row in await connection.fetch(SEQUENCES)
                if row["last_value"] != self.sequences.get(row["sequencename"])
            ]
            # One script: rows go whatever their references (the template's come back
            # below), and the sequences a test moved go back to where the template had them.
            script = ["SET LOCAL session_replication_role = replica;"]
            script += [f'DELETE FROM "{table}";' for table in tables]  # noqa: S608 - catalog names
            script += [
                f'ALTER SEQUENCE "{sequence}" RESTART;'
                if last_value is None
                else f"SELECT setval('\"{sequence}\"', {int(last_value)}, true);"
                for sequence, last_value in moved
            ]
            async with connection.transaction():
                await connection.execute("\n".join(script))
                for table, rows in self.rows.items():
                    if rows:
                        await connection.copy_records_to_table(table, records=rows)
            return True
        finally:
            await connection.close()


async def _public_tables(connection: asyncpg.Connection) -> list[str]:
    return [
        row["tablename"]
        for row in await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
    ]


async def _disconnect_all(admin: asyncpg.Connection, name: str) -> None:
    """End every session on `name` (a server a test left running) and wait until gone."""
    for _ in range(200):
        others = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        if not others:
            return
        # Waiting for the server to end those sessions; no clock is being simulated.
        await asyncio.sleep(0.05)
    raise RuntimeError(f"sessions on {name} did not end")


@pytest.fixture(scope="session")
def postgres_databases(postgres_template: str) -> Iterator[PostgresDatabases]:
    """The process's pool of test databases (see PostgresDatabases); dropped at the end."""

    async def describe() -> PostgresDatabases:
        connection = await asyncpg.connect(
            host=PG_HOST, port=PG_PORT, user="postgres", database=postgres_template
        )
        try:
            fingerprint = await connection.fetchval(SCHEMA_FINGERPRINT)
            rows = {
                table: await connection.fetch(f'SELECT * FROM "{table}"')  # noqa: S608 - catalog names
                for table in await _public_tables(connection)
            }
            sequences = {
                row["sequencename"]: row["last_value"] for row in await connection.fetch(SEQUENCES)
            }
        finally:
            await connection.close()
        return PostgresDatabases(postgres_template, fingerprint, rows, sequences, [])

    databases = run_in_thread(describe())
    yield databases
    run_in_thread(_drop_databases(databases.ready))


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
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    name = await databases.take()
    yield TestDatabase("postgresql", replace(base, database_url=_pg_url(name)))
    await databases.give_back(name)


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with slow or browser tests run first (otherwise in collection order): with
    `--dist loadfile --no-loadscope-reorder` the two workers take files in this order, so
    the long ones start early and the many short files at the end even out the finish."""
    heavy = {
        item.path
        for item in items
        if item.get_closest_marker("slow") or item.get_closest_marker("browser")
    }
    items.sort(key=lambda item: item.path not in heavy)
