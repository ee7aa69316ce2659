"""What the `registry` command says to a person: refusals as the registry's own
sentences, `keys list`, the demo on a database that holds data and its reset, and the
start-up line naming the driver really in use."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bench.serving import REGISTRY, free_port, registry_env
from registry.blacklist.demo import STORIES
from registry.kernel.clock import ManualClock, SystemClock
from registry.membership.models import Vendor
from registry.services import Services
from tests import conftest
from tests.cli import operator_env, run_cli
from tests.factories import member_vendor


async def _vendor_slugs(services: Services) -> set[str]:
    async with services.ctx.db.read() as session:
        return set((await session.execute(select(Vendor.slug))).scalars())


async def test_refusals_read_as_the_registrys_sentence(api: httpx.AsyncClient) -> None:
    """No "HTTP 404:" in front: the problem's detail, and the fields it names."""
    url = ["--url", str(api.base_url)]
    unknown = await run_cli(["certificate", "no-such-vendor", *url])
    assert unknown.exit_code == 1
    assert unknown.output.strip() == "error: no member vendor with slug 'no-such-vendor'"

    revoke = await run_cli(["keys", "revoke", "ab" * 32, "--reason", "x", "--token", "nope", *url])
    assert revoke.exit_code == 1
    assert revoke.output.startswith("error: ")
    assert "HTTP" not in revoke.output
    assert "token" in revoke.output


async def test_a_refusal_names_the_fields_at_fault(
    api: httpx.AsyncClient, association: str, clock: ManualClock, tmp_path: Path
) -> None:
    """An application with a wrong check character: the sentence, then the field."""
    # The CLI signs with the wall clock, so the server's clock starts there too.
    clock.set(SystemClock().now())
    key = tmp_path / "vendor.key"
    assert (await run_cli(["keys", "generate", "--out", str(key)])).exit_code == 0
    applied = await run_cli(
        [
            "apply",
            "--key",
            str(key),
            "--association",
            association,
            "--credit-code",
            "91110108MA01XY7K2Q",
            "--slug",
            "wrong-code",
            "--name-zh",
            "错码",
            "--name-en",
            "Wrong Code",
            "--url",
            str(api.base_url),
        ]
    )
    assert applied.exit_code == 1
    assert applied.output.startswith("error: ")
    assert "HTTP" not in applied.output
    assert "(credit_code: " in applied.output


async def test_an_unreachable_registry_is_named() -> None:
    """No traceback: which registry could not be reached, and what to do."""
    url = f"http://127.0.0.1:{free_port()}"
    result = await run_cli(["keys", "list", "--vendor", "acme-cloud", "--url", url])
    assert result.exit_code == 1
    assert f"cannot reach the registry at {url}" in result.output
    assert "Traceback" not in result.output


async def test_keys_list_shows_a_vendors_keys(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """Oldest first with their state; `--ids-only` prints just the ids for a variable."""
    vendor = await member_vendor(services, association, "listed-vendor")
    url = ["--url", str(api.base_url)]
    shown = await run_cli(["keys", "list", "--vendor", vendor.slug, *url])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.split()[:2] == [vendor.key.key_id, "active"]

    ids = await run_cli(["keys", "list", "--vendor", vendor.slug, "--ids-only", *url])
    assert ids.stdout == f"{vendor.key.key_id}\n"
    revoked = await run_cli(
        ["keys", "list", "--vendor", vendor.slug, "--status", "revoked", "--ids-only", *url]
    )
    assert (revoked.exit_code, revoked.stdout) == (0, "")


async def test_demo_on_a_database_with_data_says_so(services: Services, association: str) -> None:
    """Not "this public key is already registered": the database holds data, and how to
    start again; nothing is loaded."""
    await member_vendor(services, association, "already-here")
    result = await run_cli(["demo"], operator_env(services))
    assert result.exit_code == 1
    assert "the database already holds data (1 vendors)" in result.output
    assert "registry demo --reset" in result.output
    assert "public key" not in result.output
    assert await _vendor_slugs(services) == {"already-here"}


@pytest.mark.slow
async def test_demo_reset_asks_then_rebuilds_the_demo(services: Services, association: str) -> None:
    """`--reset` asks first (no answer keeps everything); confirmed, or with `--yes`, the
    database is emptied and the whole demo loaded again."""
    await member_vendor(services, association, "before-reset")
    env = operator_env(services)

    declined = await run_cli(["demo", "--reset"], env)
    assert declined.exit_code == 1
    assert "deletes every vendor" in declined.output
    assert await _vendor_slugs(services) == {"before-reset"}

    reset = await run_cli(["demo", "--reset", "--yes"], env)
    assert reset.exit_code == 0, reset.output
    assert "demo loaded: 2 associations, 24 vendors" in reset.output
    slugs = await _vendor_slugs(services)
    assert "before-reset" not in slugs
    assert {"yunzhan-cloud", "shanhe-health"} <= slugs
    async with services.ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Vendor)) == 24 + len(STORIES)


def _start_up_line(env: dict[str, str]) -> str:
    """The first line `registry serve` prints, then the server is stopped."""
    with subprocess.Popen(
        [REGISTRY, "serve", "--port", str(free_port())],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as server:
        try:
            assert server.stdout is not None
            return server.stdout.readline()
        finally:
            server.terminate()
            server.wait(timeout=30)


async def test_the_start_up_line_names_the_driver_in_use(
    test_database: conftest.TestDatabase,
) -> None:
    """SQLite runs on the inline sqlite3 connections, not aiosqlite; PostgreSQL on asyncpg."""
    settings = test_database.settings
    env = registry_env(settings.data_dir)
    if settings.database_url:
        env["REGISTRY_DATABASE_URL"] = settings.database_url
    banner = await asyncio.to_thread(_start_up_line, env)
    assert banner.startswith("Trust Registry on http://127.0.0.1:")
    if test_database.kind == "sqlite":
        assert "SQLite" in banner
        assert "driver: sqlite3 on the event loop" in banner
        assert "aiosqlite" not in banner
    else:
        assert "postgresql+asyncpg://postgres@" in banner
        assert "driver: asyncpg" in banner
