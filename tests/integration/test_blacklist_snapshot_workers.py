"""Two `registry serve` workers on one SQLite file: a new blacklist snapshot shows on every
worker within 2 seconds of its commit, although each worker memoises snapshots in memory
(the same log-watched cache as the badges, `registry/public_cache.py`)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from bench.serving import registry_server
from registry.app import build_context
from registry.db.migrate import upgrade
from registry.kernel.clock import SystemClock
from registry.services import Services
from registry.settings import Settings

pytestmark = pytest.mark.slow
PROPAGATION_LIMIT = 2.0


@pytest.fixture
async def shared_services(tmp_path: Path) -> AsyncIterator[Services]:
    """Services on the SQLite file the workers will share, on the wall clock."""
    settings = Settings(data_dir=tmp_path / "var", scheduler_enabled=False)
    ctx = build_context(settings, SystemClock())
    await upgrade(ctx.db)
    yield Services(ctx)
    await ctx.db.dispose()


@pytest.fixture
def two_workers(shared_services: Services) -> Iterator[str]:
    """`registry serve --workers 2` on the shared file; yields its base URL."""
    with registry_server(shared_services.ctx.settings.data_dir, "--workers", "2") as base:
        yield base


async def served_serials(base: str, count: int) -> list[tuple[float, int]]:
    """`count` (time, serial) answers, each on a new connection so both workers get asked."""
    answers = []
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=5, limits=no_reuse) as client:
        for _ in range(count):
            envelope = (await client.get("/api/v1/blacklist/snapshot")).json()
            statement = json.loads(base64.b64decode(envelope["payload"]))
            answers.append((time.monotonic(), int(statement["predicate"]["serial"])))
    return answers


async def test_a_new_snapshot_reaches_every_worker_within_two_seconds(
    shared_services: Services, two_workers: str
) -> None:
    """Warm both workers' caches with snapshot 1, sign snapshot 2, time the change."""
    snapshots = shared_services.blacklist_snapshots
    first = await snapshots.make()
    assert first is not None
    warm = await served_serials(two_workers, 40)
    assert {serial for _, serial in warm} == {first.serial}

    second = await snapshots.make()
    committed = time.monotonic()
    assert second is not None
    assert second.serial == first.serial + 1
    answers = []
    while time.monotonic() - committed < PROPAGATION_LIMIT + 1:
        answers += await served_serials(two_workers, 10)
    stale = [at - committed for at, serial in answers if serial != second.serial]
    assert {serial for _, serial in answers} <= {first.serial, second.serial}
    assert max(stale, default=0.0) <= PROPAGATION_LIMIT, f"old one shown {max(stale):.2f} s after"
    assert {serial for _, serial in await served_serials(two_workers, 40)} == {second.serial}
