"""Signed snapshots of the blacklist: every listing in force, chained by serial.

See the README, "Blacklist snapshots", for the format and how to verify one offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.blacklist.models import BlacklistSnapshot


@dataclass(frozen=True, slots=True)
class SnapshotHead:
    """The latest snapshot: its serial and the hex SHA-256 of its payload bytes (what the
    next snapshot's `previous` names)."""

    serial: int
    digest: str
    issued_at: datetime
    next_update: datetime


async def latest_snapshot(session: AsyncSession) -> SnapshotHead | None:
    """The newest snapshot's serial and digest, or None before the first one."""
    row = (
        await session.execute(
            select(
                BlacklistSnapshot.serial,
                BlacklistSnapshot.payload_digest,
                BlacklistSnapshot.issued_at,
                BlacklistSnapshot.next_update,
            )
            .order_by(BlacklistSnapshot.serial.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    return SnapshotHead(row.serial, row.payload_digest, row.issued_at, row.next_update)
