"""Engine and session factory; services own their transactions through `Database`.

On SQLite every write transaction starts with BEGIN IMMEDIATE: it takes the write lock
up front, so two workers never both read then both try to upgrade to a writer (which
SQLite resolves by failing one with "database is locked"). Reads stay deferred and, in
WAL mode, never wait for writers. SQLite connections call sqlite3 on the event loop
(`registry.db.sqlite_inline`), so writers queue on a `WriterLock` first and never wait
inside SQLite.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from registry.datadir import private_dir, private_file, tighten
from registry.db.sqlite_inline import InlineConnection, WriterLock, inline_creator, sqlite_path
from registry.events import EventBus, attach, dispatch_pending
from registry.settings import Settings

logger = logging.getLogger(__name__)
_WRITE_OPTION = "registry_write"
DATABASE_URL_ENV = "REGISTRY_DATABASE_URL"
SUPPORTED_DRIVERS = frozenset({"sqlite+aiosqlite", "postgresql+asyncpg"})
SUPPORTED_URLS = (
    "use postgresql+asyncpg://user:password@host:5432/name, or leave it empty for the "
    "embedded SQLite file (sqlite+aiosqlite:///path)"
)
SCRUB_BUSY_TIMEOUT_S = 5.0
"""How long the post-erasure checkpoint waits for readers of older snapshots."""
SQLITE_POOL_SIZE = 32
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal", "-writer")
"""Files SQLite (and `WriterLock`) keep beside the database file."""
SQLITE_PAGE_SIZE = 8192
"""Bytes a page of a new SQLite database (SQLite's default is 4096): fewer, larger pages
to write a commit, about 3 % of a 500-attestation batch's CPU (docs/performance.md,
"Attestation ingestion"). A database keeps the page size it was created with."""


class DatabaseUnavailable(Exception):
    """The configured database cannot be used. The message is one line that names
    `REGISTRY_DATABASE_URL` and says what is wrong, for the command to print as it is."""


def _checked_url(raw: str) -> URL:
    """The parsed URL, if it names a database and driver the registry runs on."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise DatabaseUnavailable(
            f"{DATABASE_URL_ENV} is not a database URL; {SUPPORTED_URLS}"
        ) from None
    if url.drivername not in SUPPORTED_DRIVERS:
        raise DatabaseUnavailable(
            f"{DATABASE_URL_ENV} uses {url.drivername}://, which the registry does not "
            f"run on; {SUPPORTED_URLS}"
        )
    return url


def create_engine(settings: Settings) -> AsyncEngine:
    """Create the async engine for the configured database, with SQLite tuned for workers."""
    url = settings.effective_database_url
    _checked_url(url)
    if url.startswith("sqlite"):
        private_dir(settings.data_dir)
        database = make_url(url).database or ":memory:"
        path = sqlite_path(database)
        # SQLite creates the -wal and -shm files with the database file's mode. A missing
        # directory is left for SQLite to report when it connects.
        if path is not None and path.parent.is_dir():
            private_file(path)
            for companion in SQLITE_COMPANIONS:
                tighten(path.with_name(path.name + companion))
        engine = create_async_engine(
            url,
            async_creator=inline_creator(
                str(path) if path else database, settings.sqlite_busy_timeout_ms / 1000
            ),
            # Every request holds a read connection for its token check and reads; with
            # the default 5 kept, busy workers opened (and tuned) a new one per request
            # beyond them, a fifth of a submission's CPU. Idle SQLite connections cost
            # only their page cache.
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_POOL_SIZE,
        )
        _tune_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    try:
        return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    except (ArgumentError, ImportError, NoSuchModuleError) as exc:
        raise DatabaseUnavailable(f"{DATABASE_URL_ENV}: {_one_line(exc)}") from None


async def check_connection(db: Database, settings: Settings) -> None:
    """Connect once, so an unreachable or refusing database is reported as such (one
    line naming the setting) before anything else runs."""
    try:
        async with db.engine.connect():
            pass
    except (OSError, TimeoutError, DBAPIError) as exc:
        shown = make_url(settings.effective_database_url).render_as_string(hide_password=True)
        raise DatabaseUnavailable(
            f"{DATABASE_URL_ENV}: cannot connect to {shown}: {_one_line(exc)}"
        ) from None


def _one_line(exc: BaseException) -> str:
    """The error's own message on one line, without SQLAlchemy's trailing links."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = " ".join(str(cause).split()) or type(cause).__name__
    return text.split(" (Background on this error")[0]


def describe_database(settings: Settings) -> str:
    """Which database and which driver `create_engine` really uses, for the start-up line.

    A SQLite URL names the aiosqlite dialect, but the connections are the inline sqlite3
    ones of `registry.db.sqlite_inline`; saying aiosqlite would send whoever reads the
    line to the wrong driver. Passwords are never shown.
    """
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite":
        return f"SQLite {url.database or ':memory:'} (driver: sqlite3 on the event loop)"
    shown = url.render_as_string(hide_password=True)
    return f"{shown} (driver: {url.get_driver_name()})"


def _tune_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (the inline
        # connection is opened that way already).
        if dbapi_connection.isolation_level is not None:
            dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Only a new database takes it (before its first table); see SQLITE_PAGE_SIZE.
        cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted or overwritten content (an erased contact) is zeroed in its page and in
        # pages put on the free list, instead of lingering until the space is reused.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = bool(connection.get_execution_options().get(_WRITE_OPTION))
        driver = connection.connection.driver_connection
        if isinstance(driver, InlineConnection):
            # Straight to sqlite3: through exec_driver_sql the BEGIN costs more than a query.
            driver.begin(immediate=immediate)
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """The one way to get a session: `transaction()` to write, `read()` to look."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.events = EventBus()
        """Subscribers to the domain events of every `transaction()`; the composition
        root (`registry.services`) registers them."""
        self._writer = async_sessionmaker(
            engine.execution_options(**{_WRITE_OPTION: True}), expire_on_commit=False
        )
        self._reader = async_sessionmaker(engine, expire_on_commit=False)
        # SQLite has one writer per file. Writers queue here, in order, instead of each
        # polling the file lock through SQLite's busy handler, whose sleeps (up to 100 ms
        # a try) collapse throughput, and which would block the event loop now that
        # sqlite3 runs on it.
        self._sqlite_writers = (
            WriterLock(sqlite_path(engine.url.database))
            if engine.dialect.name == "sqlite"
            else None
        )

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends, rolls back on any exception.

        The domain events published in the block are dispatched to their subscribers
        before the commit (`registry.events`), so their reactions commit or roll back with
        it.
        """
        if self._sqlite_writers is None:
            async with self._writer() as session, session.begin():
                attach(session, self.events)
                yield session
                await dispatch_pending(session)
            return
        async with self._sqlite_writers.held(), self._writer() as session, session.begin():
            attach(session, self.events)
            yield session
            await dispatch_pending(session)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session; whatever it changes is rolled back.

        Objects are detached (not expired) first, so what was read stays usable after the
        block, the same as after a committed `transaction()`.
        """
        async with self._reader() as session:
            try:
                yield session
            finally:
                session.expunge_all()
                await session.rollback()

    @asynccontextmanager
    async def read_rows(self) -> AsyncIterator[AsyncConnection]:
        """A read-only Core connection for hot paths that need rows, not objects.

        Skips the ORM session's bookkeeping (about half the cost of a one-query read);
        whatever it changes is rolled back.
        """
        # Closing rolls back what the block began (SQLAlchemy's Connection.close), with
        # one hop through the async bridge fewer than an explicit rollback first.
        async with self.engine.connect() as connection:
            yield connection

    async def scrub(self) -> None:
        """After an erasure, leave no earlier copy of the erased data in the files.

        SQLite: secure_delete (set on every connection) already zeroed the old bytes in
        the page; the WAL still holds earlier images of that page, so fold it into the
        database file and truncate it to zero bytes. Run on a connection of its own in a
        thread, holding the writer lock: the checkpoint waits for readers of older
        snapshots, and those run on this event loop. PostgreSQL keeps dead row versions
        until VACUUM and WAL segments until they are recycled, which no statement here can
        force (README, "Security").
        """
        if self._sqlite_writers is None:
            return
        path = sqlite_path(self.engine.url.database)
        if path is None:
            return
        async with self._sqlite_writers.held():
            busy = await asyncio.to_thread(_truncate_wal, path)
        if busy:
            logger.warning("the WAL could not be truncated now; the next checkpoint will")

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def _truncate_wal(path: Path) -> bool:
    """`PRAGMA wal_checkpoint(TRUNCATE)`; True when readers kept it from finishing."""
    connection = sqlite3.connect(path, timeout=SCRUB_BUSY_TIMEOUT_S, isolation_level=None)
    try:
        busy, _frames, _done = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        connection.close()
    return bool(busy)
