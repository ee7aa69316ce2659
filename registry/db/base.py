"""Declarative base with stable constraint names, UTC-only timestamps and SQL helpers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    DateTime,
    Dialect,
    Integer,
    MetaData,
    Select,
    cast,
    func,
    literal_column,
    null,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Named constraints keep Alembic migrations stable across SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite has no time zones, so values are stored as naive UTC there and re-tagged on
    the way out; naive datetimes from code are refused instead of being guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC; SQLite gets a naive UTC value."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Always hand back an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of every model; integer surrogate keys, slugs and key ids face outwards."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class IdMixin:
    """Integer primary key, chosen once for every table."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)


class CreatedAtMixin:
    """When the row was written, in UTC (set by the service's clock, not the database)."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


def utc_now_sql() -> Any:
    """Server-side now(); only for columns that are never compared with the app clock."""
    return func.now()


def tagged_row(layout: Mapping[str, Any], kind: str, values: Mapping[str, Any]) -> Select[Any]:
    """One branch of a union of kind-tagged rows: a `kind` column, then every column of
    `layout` in its order, from `values` where given and NULL of the layout column's type
    elsewhere. Several reads go as one statement this way (each statement costs more in
    SQLAlchemy than in SQLite)."""
    unknown = set(values) - set(layout)
    if unknown:
        raise ValueError(f"columns not in the layout: {sorted(unknown)}")
    if not kind.isidentifier():
        # Written into the SQL as a literal: a name from the code, never from input.
        raise ValueError(f"a row kind is a plain name, not {kind!r}")
    return select(
        literal_column(f"'{kind}'").label("kind"),
        *(
            (values[name] if name in values else typed_null(column)).label(name)
            for name, column in layout.items()
        ),
    )


def typed_null(column: Any) -> Any:
    """NULL cast to `column`'s type: in a union of kind-tagged rows each column keeps
    one type, which PostgreSQL needs to match the branches and SQLAlchemy to convert
    every row (times as aware datetimes, enums as members)."""
    return cast(null(), column.type)
