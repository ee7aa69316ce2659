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
from typing import Any

from sqlalchemy import Dialect, Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class _Rendered:
    sql: str
    processors: tuple[Callable[[Any], Any] | None, ...]


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
                self.table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                for name in self.columns
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
