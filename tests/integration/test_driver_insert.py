"""`DriverInsert` stores exactly what a Core insert stores, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Enum,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    insert,
)

from registry.complaints.models import ComplaintStatus
from registry.db.base import UTCDateTime
from registry.db.bulk import DriverInsert
from registry.services import Services

_METADATA = MetaData()
_TABLE = Table(
    "driver_insert_probe",
    _METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(8), nullable=False),
    Column("name", String(64)),
    Column("at", UTCDateTime()),
    Column("flag", Boolean),
    Column("doc", JSON),
    Column("blob", LargeBinary),
    Column(
        "status",
        Enum(
            ComplaintStatus,
            native_enum=False,
            length=24,
            values_callable=lambda e: [m.value for m in e],
        ),
    ),
)
_COLUMNS = ["source", "name", "at", "flag", "doc", "blob", "status"]
_BEIJING = timezone(timedelta(hours=8))
_VALUES = [
    (
        "上海",
        datetime(2026, 11, 29, 18, 30, tzinfo=_BEIJING),
        True,
        {"a": 1.5, "b": [1]},
        b"\0x",
        ComplaintStatus.FORWARDED,
    ),
    ("exact", datetime(2026, 1, 1, tzinfo=UTC), False, {}, b"", ComplaintStatus.CLOSED),
    # Microseconds, a year before 1000, and repeated values (converted once, remembered).
    ("µs", datetime(2026, 1, 1, 3, 4, 5, 60, tzinfo=UTC), True, None, b"", "forwarded"),
    ("early", datetime(999, 1, 2, tzinfo=UTC), False, [], None, ComplaintStatus.CLOSED),
    (None, None, None, None, None, None),
]


async def test_rows_match_the_core_insert(services: Services) -> None:
    async with services.ctx.db.transaction() as session:
        connection = await session.connection()
        await connection.run_sync(_METADATA.create_all)
        await connection.execute(
            insert(_TABLE),
            [{"source": "core", **dict(zip(_COLUMNS[1:], v, strict=True))} for v in _VALUES],
        )
        await DriverInsert(_TABLE, _COLUMNS).execute(
            connection, [("driver", *values) for values in _VALUES]
        )
    async with services.ctx.db.read_rows() as connection:
        # What the driver hands back, unconverted: the stored representation itself.
        stored = (
            await connection.exec_driver_sql(
                "SELECT source, name, at, flag, doc, blob, status FROM driver_insert_probe "
                "ORDER BY id"
            )
        ).all()
        typed = (await connection.execute(_TABLE.select().order_by(_TABLE.c.id))).all()
    core = [tuple(row[1:]) for row in stored if row[0] == "core"]
    driver = [tuple(row[1:]) for row in stored if row[0] == "driver"]
    assert len(core) == len(_VALUES)
    assert driver == core
    assert [tuple(row[2:]) for row in typed[len(_VALUES) :]] == [
        (name, at and at.astimezone(UTC), flag, doc, blob, status and ComplaintStatus(status))
        for name, at, flag, doc, blob, status in _VALUES
    ]


def test_columns_must_follow_the_table() -> None:
    with pytest.raises(ValueError, match="table order"):
        DriverInsert(_TABLE, ["name", "source"])
