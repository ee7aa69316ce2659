"""Two `registry serve` workers on one SQLite file: a suspension shows on every worker's
badges within 2 seconds of its commit, although each worker caches badges in memory."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from bench.serving import registry_server
from registry.app import build_context
from registry.certification.machine import Trigger
from registry.db.migrate import upgrade
from registry.kernel.clock import SystemClock
from registry.services import Services
from registry.settings import Settings
from tests.factories import admin_caller, vendor_in_state

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


async def badge_texts(base: str, slug: str, count: int) -> list[tuple[float, str]]:
    """`count` (time, badge) answers, each on a new connection so both workers get asked."""
    answers = []
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=5, limits=no_reuse) as client:
        for _ in range(count):
            text = (await client.get(f"/badges/{slug}.svg")).text
            answers.append((time.monotonic(), text))
    return answers


async def test_suspension_reaches_every_worker_within_two_seconds(
    shared_services: Services, two_workers: str
) -> None:
    """Warm both workers' caches with the certified badge, suspend, time the change."""
    services = shared_services
    await services.federation.ensure_association("csia", "中国软件行业协会", "CSIA")
    slug = await vendor_in_state(services, "csia", "two-worker-vendor", "active")
    warm = await badge_texts(two_workers, slug, 40)
    assert all("已认证 L1" in text for _, text in warm)

    await services.certification.decide_by_admin(
        await admin_caller(services), slug, Trigger.SUSPEND, "confirmed information leak"
    )
    committed = time.monotonic()
    answers = []
    while time.monotonic() - committed < PROPAGATION_LIMIT + 1:
        answers += await badge_texts(two_workers, slug, 10)
    stale = [at - committed for at, text in answers if "已暂停" not in text]
    assert all("已认证 L1" in text for _, text in answers if "已暂停" not in text)
    assert max(stale, default=0.0) <= PROPAGATION_LIMIT, f"certified shown {max(stale):.2f} s after"
    assert all("已暂停" in text for _, text in await badge_texts(two_workers, slug, 40))
