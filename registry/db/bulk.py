"""Multi-row inserts handed to the driver's executemany with values already converted.

A Core `execute(insert(table), rows)` converts every value of every row inside the call:
parameter dictionaries, bind processors (UTC datetimes, JSON), positional reordering,
5-20 µs a row of Python, and on the hot paths it ran under the single write lock
(docs/performance.md, "Attestation ingestion"). A `DriverInsert` renders the statement
once per dialect, converts rows with the dialect's own bind processors (so what is stored is
exactly what the Core insert stores) and sends them to `exec_driver_sql`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, Dialect, Enum, Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine

from registry.db.base import UTCDateTime

Processor = Callable[[Any], Any]


def _processor(column_type: TypeEngine[Any], dialect: Dialect) -> Processor | None:
    """The dialect's bind processor for a column type, or a faster one that stores the
    same thing (`tests/integration/test_driver_insert.py` compares them with a Core insert):

    - a UTC timestamp on SQLite is one `isoformat` call instead of the type decorator's
      conversion followed by SQLite's %-formatting of seven fields (`_sqlite_utc`);
    - an enum or boolean takes few values, so each is converted once and remembered."""
    if isinstance(column_type, UTCDateTime) and dialect.name == "sqlite":
        return _sqlite_utc
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    if process is None or not isinstance(column_type, Enum | Boolean):
        return process
    return _remembered(process)


def _sqlite_utc(value: datetime | None) -> str | None:
    """What UTCDateTime and SQLite's DATETIME store: naive UTC, always with microseconds."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _remembered(process: Processor) -> Processor:
    seen: dict[Any, Any] = {}

    def remembered(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            converted = seen[value] = process(value)
            return converted

    return remembered


@dataclass(frozen=True)
class _Rendered:
    sql: str
    processors: tuple[Processor | None, ...]


class DriverInsert:
    """`INSERT INTO table (columns…)` for rows given as value tuples in `columns` order."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        order = [c.key for c in table.c if c.key in columns]
        if order != list(columns):
            # Compiled inserts bind their columns in table order; rows follow it too.
            raise ValueError(f"name the columns of {table.name} in table order: {order}")
        self.table = table
        self.columns = tuple(columns)
        self._rendered: dict[str, _Rendered] = {}

    def _render(self, dialect: Dialect) -> _Rendered:
        rendered = self._rendered.get(dialect.name)
        if rendered is None:
            compiled = insert(self.table).compile(
                dialect=dialect, column_keys=list(self.columns), for_executemany=True
            )
            if not compiled.positional or compiled.positiontup != list(self.columns):
                raise RuntimeError(
                    f"{dialect.name}: a driver insert needs positional parameters in column order"
                )
            processors = tuple(
                _processor(self.table.c[name].type, dialect) for name in self.columns
            )
            rendered = self._rendered[dialect.name] = _Rendered(str(compiled), processors)
        return rendered

    async def execute(self, connection: AsyncConnection, rows: Sequence[Sequence[Any]]) -> None:
        """Insert `rows` (values in `columns` order) in one executemany."""
        if not rows:
            return
        rendered = self._render(connection.dialect)
        converters = [(i, p) for i, p in enumerate(rendered.processors) if p is not None]
        converted = []
        for values in rows:
            row = list(values)
            for i, process in converters:
                row[i] = process(row[i])
            converted.append(tuple(row))
        await connection.exec_driver_sql(rendered.sql, converted)
