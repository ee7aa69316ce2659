"""SQLite for the async engine without a driver thread: sqlite3 called on the event loop.

SQLAlchemy's aiosqlite dialect sends every cursor call (cursor, execute, fetch, close)
to aiosqlite's worker thread and waits for the answer, some seven loop round trips and
thread switches a statement. SQLite itself answers our statements in microseconds, so
the hand-offs, not the database, bounded a worker (about 90 attestations a second).
This module gives the same dialect a connection whose awaitables call `sqlite3`
directly: SQLAlchemy still drives it through its greenlet bridge, nothing else changes.

Blocking the loop is only acceptable while SQLite never waits, so waiting is moved out
of SQLite: writers of a process queue on an asyncio lock and then on a file lock shared
by every process using the database (`WriterLock`); only the holder issues BEGIN
IMMEDIATE, which then finds SQLite's write lock free. Readers never wait in WAL mode.
What remains blocking is a long query itself, which holds the loop for its duration.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any


class InlineCursor:
    """An aiosqlite-shaped cursor whose awaitables run the sqlite3 call at once."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor
        self.arraysize = cursor.arraysize

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        """Column descriptions of the last query (DB-API)."""
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement (DB-API)."""
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        """Row id of the last inserted row (DB-API)."""
        return self._cursor.lastrowid

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        """Run one statement."""
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        """Run one statement per parameter set."""
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        """The next row, or None."""
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to `size` rows."""
        return self._cursor.fetchmany(self.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        """Every remaining row."""
        return self._cursor.fetchall()

    async def close(self) -> None:
        """Close the cursor."""
        self._cursor.close()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[Any]:
        for row in self._cursor:
            yield row


class InlineConnection:
    """An aiosqlite-shaped connection over a plain sqlite3 connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        # `_connection` is what SQLAlchemy's adapter checks to know the connection is open.
        self._connection: sqlite3.Connection | None = connection

    @property
    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        """Always None: SQLAlchemy issues BEGIN itself (see `registry.db.session`)."""
        return self._open.isolation_level

    def cursor(self) -> InlineCursor:
        """A new cursor (awaited by the adapter as an async context manager)."""
        return InlineCursor(self._open.cursor())

    def begin(self, *, immediate: bool) -> None:
        """Open a transaction; IMMEDIATE takes the write lock at once."""
        self._open.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")

    async def commit(self) -> None:
        """Commit the open transaction."""
        self._open.commit()

    async def rollback(self) -> None:
        """Roll the open transaction back."""
        self._open.rollback()

    async def create_function(
        self, name: str, arity: int, func: Callable[..., Any], **kw: Any
    ) -> None:
        """Register a SQL function (SQLAlchemy adds regexp and floor)."""
        self._open.create_function(name, arity, func, **kw)

    async def close(self) -> None:
        """Close the connection; closing twice is harmless."""
        self.stop()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def inline_creator(path: str, busy_timeout_s: float) -> Callable[[], Any]:
    """An `async_creator` for `create_async_engine` opening `path` without a thread."""

    async def connect() -> InlineConnection:
        connection = sqlite3.connect(
            path,
            timeout=busy_timeout_s,
            isolation_level=None,
            # The pool may close a connection from the garbage collector's thread.
            check_same_thread=False,
            uri=path.startswith("file:"),
        )
        return InlineConnection(connection)

    return connect


class WriterLock:
    """One writer at a time across the tasks of a process and across processes.

    Tasks queue on an asyncio lock; the head of the queue then takes an exclusive
    `flock` on a file beside the database. It is tried without blocking first; when
    another process (or another engine in this process) holds it, a thread waits in the
    kernel, which wakes it the moment the holder lets go, while the event loop goes on
    serving other requests. Each hold opens its own file description, so closing it is
    the release, a cancelled wait can never release someone else's lock, and the kernel
    frees the lock of a process that dies.
    """

    def __init__(self, database: Path | None) -> None:
        self._tasks = asyncio.Lock()
        self._path = None if database is None else database.with_name(database.name + "-writer")

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Hold the lock for the block."""
        async with self._tasks:
            if self._path is None:
                yield
                return
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                await _flock(fd)
            except BaseException:
                os.close(fd)
                raise
            try:
                yield
            finally:
                os.close(fd)


async def _flock(fd: int) -> None:
    with contextlib.suppress(BlockingIOError):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    fd_waited = os.dup(fd)
    waiter = asyncio.get_running_loop().run_in_executor(None, fcntl.flock, fd_waited, fcntl.LOCK_EX)
    try:
        await asyncio.shield(waiter)
    finally:
        # The waiting thread may still take the lock after a cancellation: it then lives
        # on the shared description until both descriptors are closed.
        waiter.add_done_callback(lambda _: os.close(fd_waited))


def sqlite_path(database: str | None) -> Path | None:
    """The file of a SQLite URL's database part; None for in-memory databases."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve()
