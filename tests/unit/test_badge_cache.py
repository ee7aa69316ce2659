"""The per-worker public cache: hits, invalidation by log size, races and bounds."""

from __future__ import annotations

import asyncio

from registry.public_cache import MISSING, LogWatchedCache


def cache(max_entries: int = 10, max_age: float = 60.0) -> LogWatchedCache[object]:
    """A fresh cache."""
    return LogWatchedCache(max_entries=max_entries, max_age_seconds=max_age)


async def test_hit_does_not_load_again() -> None:
    """The second ask is answered from memory, including a remembered None."""
    memo = cache()
    calls: list[str] = []

    async def load() -> object:
        calls.append("load")
        return None

    assert await memo.get_or_load("a", load) is None
    assert await memo.get_or_load("a", load) is None
    assert calls == ["load"]


async def test_log_growth_clears_everything() -> None:
    """A new log size empties the cache; the same size keeps it."""
    memo = cache()
    memo.observe_log_size(5)
    memo.put("a", 1, memo.generation)
    assert not memo.observe_log_size(5)
    assert memo.get("a") == 1
    assert memo.observe_log_size(6)
    assert memo.get("a") is MISSING


async def test_a_miss_raced_by_a_clear_is_not_stored() -> None:
    """An answer read before a change must not outlive the clear that change caused."""
    memo = cache()
    started, release = asyncio.Event(), asyncio.Event()

    async def slow_old_answer() -> object:
        started.set()
        await release.wait()
        return "old"

    pending = asyncio.create_task(memo.get_or_load("a", slow_old_answer))
    await started.wait()
    memo.observe_log_size(7)  # the change commits and the poller clears meanwhile
    release.set()
    assert await pending == "old"
    assert memo.get("a") is MISSING


async def test_entries_are_bounded_and_age_out() -> None:
    """A full cache starts over; a zero max age keeps nothing."""
    memo = cache(max_entries=2)
    for key in ("a", "b", "c"):
        memo.put(key, key, memo.generation)
    assert len(memo) == 1
    assert memo.get("c") == "c"
    ageless = cache(max_age=-1.0)
    ageless.put("a", 1, ageless.generation)
    assert ageless.get("a") is MISSING


async def test_watch_clears_on_change_and_on_failure() -> None:
    """The poller clears when the size moves and, failing closed, when it cannot read it."""
    memo = cache()
    sizes: list[int | Exception] = [3, 3, 4, RuntimeError("database gone"), 4]
    seen = asyncio.Event()

    async def read() -> int:
        item = sizes.pop(0)
        if not sizes:
            seen.set()
        if isinstance(item, Exception):
            raise item
        return item

    task = asyncio.create_task(memo.watch(read, 0))
    await seen.wait()
    task.cancel()
    assert memo.generation == 4  # first size, growth, failure, size seen again
    assert memo.log_size == 4
