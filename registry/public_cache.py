"""A per-worker memo of public read models, emptied whenever the transparency log grows.

One instance per app (`Services.public_cache`) serves the public site's badges and pages
and the API's public reads (the blacklist snapshots); the public site's plugin runs the
one task per worker that polls the log and empties it.

Every decision that changes what the public may see (an approval, a certification
transition, a key revocation, a blacklist decision) appends a leaf to the transparency
log in the same transaction. So the log size is a version number for the public state:
each worker polls `log_head.size` (one indexed single-row read) and drops everything it
memoised when the size moves. A hit costs a dict lookup and opens no database session.

Races: a miss that read the database before a change committed must not store its old
answer after the poller has already cleared the cache for that change. Each miss notes
the cache generation before it reads and stores only if no clear happened since.
Entries also age out after `max_age`, which bounds staleness for anything that is not
logged, and the number of entries is bounded so random slugs cannot grow memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Final, Generic, TypeVar

logger = logging.getLogger("registry.public_cache")

V = TypeVar("V")


class _Missing:
    """The marker for 'not in the cache' (None is a valid cached answer)."""


MISSING: Final = _Missing()


class LogWatchedCache(Generic[V]):
    """Memoised values keyed by what was asked, valid while the log size stays the same."""

    def __init__(self, *, max_entries: int, max_age_seconds: float) -> None:
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._max_entries = max_entries
        self._max_age = max_age_seconds
        self.generation = 0
        """Counts clears; a miss stores its answer only if this has not moved meanwhile."""
        self.log_size: int | None = None
        """The log size the entries were read at; None until the first poll."""

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> V | _Missing:
        """The memoised value, or MISSING when absent or too old."""
        entry = self._entries.get(key)
        if entry is None:
            return MISSING
        stored_at, value = entry
        if time.monotonic() - stored_at > self._max_age:
            self._entries.pop(key, None)
            return MISSING
        return value

    def put(self, key: Hashable, value: V, generation: int) -> None:
        """Store `value` if the cache was not cleared since `generation` was read."""
        if generation != self.generation:
            return
        if len(self._entries) >= self._max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), value)

    def clear(self) -> None:
        """Forget everything and invalidate misses in flight."""
        self._entries.clear()
        self.generation += 1

    def observe_log_size(self, size: int) -> bool:
        """Record the current log size; clear and return True when it changed."""
        if size == self.log_size:
            return False
        self.log_size = size
        self.clear()
        return True

    async def get_or_load(self, key: Hashable, load: Callable[[], Awaitable[V]]) -> V:
        """The memoised value, or `load()`'s answer (stored unless a clear raced it)."""
        value = self.get(key)
        if not isinstance(value, _Missing):
            return value
        generation = self.generation
        loaded = await load()
        self.put(key, loaded, generation)
        return loaded

    async def watch(self, read_log_size: Callable[[], Awaitable[int]], interval: float) -> None:
        """Poll the log size forever, clearing on change; on a read error clear too (fail closed)."""
        while True:
            try:
                self.observe_log_size(await read_log_size())
            except asyncio.CancelledError:
                raise
            except Exception:  # a poll failure must not stop invalidation
                logger.warning("could not read the log size; public cache cleared", exc_info=True)
                self.log_size = None
                self.clear()
            await asyncio.sleep(interval)


def matches_validator(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 §13.1.2: weak comparison of the validators listed in If-None-Match, for
    the public answers served with a strong ETag (badges, blacklist snapshots)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(
        candidate.strip().removeprefix("W/") == opaque for candidate in if_none_match.split(",")
    )
