"""Per-client and per-subject limits on anonymous writes (applications, login challenges).

Each accepted write leaves a `ClientAction` row keyed by a keyed hash of who did it (the
client address, the credit code, the key id), never the value itself; a write whose
subjects already reached their limit within the window is refused with 429. The rows are
transient: the cleanup job deletes them once older than every window.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index, String, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from registry.db.base import Base, IdMixin
from registry.db.session import Database
from registry.errors import RateLimited
from registry.settings import Settings


class ClientAction(IdMixin, Base):
    """One accepted anonymous write, counted against its subjects' limits."""

    __tablename__ = "client_action"

    action: Mapped[str] = mapped_column(String(40))
    """What was done and what is counted, e.g. `application:client`."""
    fingerprint: Mapped[str] = mapped_column(String(64))
    """Hex HMAC-SHA256 of the counted value under a key derived from the federation key."""
    at: Mapped[datetime]

    __table_args__ = (
        Index("ix_client_action_action_fingerprint_at", "action", "fingerprint", "at"),
    )


@dataclass(frozen=True)
class Limit:
    """At most `limit` writes of `action` for `value` within `window`."""

    action: str
    value: str
    limit: int
    window: timedelta
    who: str
    """How the refusal names the subject: "this address", "this credit code"."""


def fingerprint_key(seed: bytes) -> bytes:
    """The HMAC key of the fingerprints, derived from the federation key's seed: the same
    for every worker, useless for anything else."""
    return hashlib.sha256(b"trust-registry rate-limit fingerprints\0" + seed).digest()


async def spend(
    session: AsyncSession, key: bytes, limits: Sequence[Limit], now: datetime, what: str
) -> None:
    """Refuse with `RateLimited` if any limit is reached, else count this write (in the
    caller's transaction, so a write that fails later counts nothing)."""
    if not limits:
        return
    prints = [_fingerprint(key, limit) for limit in limits]
    # One statement; each count stops at its limit, so the check costs the same however
    # busy a subject is.
    counts = [
        select(func.count())
        .select_from(
            select(ClientAction.id)
            .where(
                ClientAction.action == limit.action,
                ClientAction.fingerprint == fingerprint,
                ClientAction.at > now - limit.window,
            )
            .limit(limit.limit)
            .subquery()
        )
        .scalar_subquery()
        for limit, fingerprint in zip(limits, prints, strict=True)
    ]
    seen = (await session.execute(select(*counts))).one()
    for limit, count in zip(limits, seen, strict=True):
        if count >= limit.limit:
            minutes = max(1, int(limit.window.total_seconds() // 60))
            raise RateLimited(
                f"too many {what} from {limit.who}: at most {limit.limit} in {minutes} minutes; "
                "try again later"
            )
    session.add_all(
        ClientAction(action=limit.action, fingerprint=fingerprint, at=now)
        for limit, fingerprint in zip(limits, prints, strict=True)
    )


def longest_window(settings: Settings) -> timedelta:
    """The longest window any limit looks back over: older rows count for nothing."""
    return max(
        settings.application_client_window,
        settings.application_credit_code_window,
        settings.challenge_client_window,
    )


async def forget_expired(db: Database, settings: Settings, now: datetime) -> int:
    """Delete counted writes older than every window; how many."""
    cutoff = now - longest_window(settings)
    async with db.transaction() as session:
        result = await session.execute(delete(ClientAction).where(ClientAction.at <= cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def _fingerprint(key: bytes, limit: Limit) -> str:
    message = f"{limit.action}\0{limit.value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
