"""What every bench shares: a scratch database, member vendors to load, and one verdict.

Database. A bench runs on SQLite in a scratch directory, or on PostgreSQL when
`REGISTRY_DATABASE_URL` names a PostgreSQL server: it then creates a scratch database
beside the one named (dropped afterwards), so a run never meets an earlier run's rows.
The setup and any `registry serve` the bench starts get the same `Settings` and the same
URL (`bench_server_env`), so they cannot end up on different databases.

Verdict. A bench reports each phase as an `Outcome`; `report` prints one summary line
and gives the exit status. A phase with any failed request is MISSED whatever its
figure, and so is a bench that stops on an error (`run`), so no failure prints MET.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from attestations.keys import SigningKey
from bench.serving import registry_env
from registry.client import application_envelope
from registry.demo import demo_admin, demo_credit_code
from registry.kernel.caller import Role
from registry.services import Services
from registry.settings import Settings


@dataclass(frozen=True)
class Outcome:
    """One measured phase: its figure against its target, and the requests that failed."""

    name: str
    figure: str
    """What was measured and its target, as printed."""
    target_met: bool
    failures: int = 0

    @property
    def met(self) -> bool:
        """Met only when the figure reaches the target and nothing failed on the way."""
        return self.target_met and self.failures == 0

    def verdict(self) -> str:
        """`MET`, or `MISSED` with why."""
        if self.met:
            return "MET"
        if self.failures:
            return f"MISSED ({self.failures} failed)"
        return "MISSED"


def summary(outcomes: Sequence[Outcome]) -> str:
    """The last line of a bench: every phase's verdict; no phase at all is a miss."""
    if not outcomes:
        return "summary: MISSED (nothing was measured)"
    return "summary: " + " ; ".join(f"{o.name} {o.verdict()}" for o in outcomes)


def report(outcomes: Sequence[Outcome]) -> int:
    """Print each phase and the summary; the exit status is 1 unless every phase is MET."""
    for outcome in outcomes:
        print(f"{outcome.verdict():<8} {outcome.name}: {outcome.figure}")
    print(summary(outcomes))
    return 0 if outcomes and all(o.met for o in outcomes) else 1


def run(main: Callable[[], Sequence[Outcome]]) -> None:
    """Run a bench and exit with its verdict; an error on the way is a miss, not a crash
    that a script reading the last line could take for success."""
    try:
        outcomes = main()
    except (Exception, SystemExit) as error:
        if isinstance(error, SystemExit) and error.code in (0, None):
            raise
        traceback.print_exc()
        print(f"summary: MISSED (the bench stopped: {error})")
        sys.exit(1)
    sys.exit(report(outcomes))


def database_label(settings: Settings) -> str:
    """`PostgreSQL` or `SQLite`, for the figures."""
    return "SQLite" if settings.is_sqlite else "PostgreSQL"


@contextlib.contextmanager
def bench_settings(prefix: str) -> Iterator[Settings]:
    """Settings from the environment on a scratch data directory and a scratch database."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))
    base = replace(Settings.from_env(), data_dir=data_dir, scheduler_enabled=False)
    try:
        if base.database_url.startswith("postgresql"):
            with _scratch_postgres(base.database_url, prefix) as url:
                yield replace(base, database_url=url)
        else:
            yield replace(base, database_url="")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.contextmanager
def _scratch_postgres(url: str, prefix: str) -> Iterator[str]:
    """A fresh database on the server `url` names, dropped when the bench ends."""
    named = make_url(url)
    scratch = f"bench_{prefix.replace('-', '_')}_{secrets.token_hex(4)}"
    admin_dsn = named.set(drivername="postgresql").render_as_string(hide_password=False)

    async def execute(statement: str) -> None:
        connection = await asyncpg.connect(admin_dsn)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(execute(f'CREATE DATABASE "{scratch}"'))
    try:
        yield named.set(database=scratch).render_as_string(hide_password=False)
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))


def bench_server_env(settings: Settings) -> dict[str, str]:
    """The environment of a `registry` process on exactly the bench's data and database."""
    return registry_env(settings.data_dir, settings.database_url)


@dataclass(frozen=True)
class BenchVendor:
    """An admitted member vendor, the key it signs with and a vendor_admin token."""

    slug: str
    key: SigningKey
    token: str


async def admitted_vendors(services: Services, association: str, count: int) -> list[BenchVendor]:
    """`count` vendors that applied with a signed statement, were approved and logged in,
    through the same services the API calls."""
    admin = await demo_admin(services)
    rng = random.Random(5)
    vendors = []
    for index in range(count):
        slug = f"bench-vendor-{index}"
        key = SigningKey.generate()
        envelope = application_envelope(
            key,
            association=association,
            credit_code=demo_credit_code(rng, "110108"),
            slug=slug,
            name_zh=f"{slug}科技有限公司",
            name_en=f"{slug.title()} Technology Co., Ltd.",
            domains=[f"{slug}.example.cn"],
            issued_at=services.ctx.clock.now() - timedelta(seconds=5),
        )
        submitted = await services.membership.submit_application(envelope)
        await services.membership.approve(admin, submitted.application.id, "bench")
        issued = await services.accounts.create_principal_with_token(
            role=Role.VENDOR_ADMIN, display_name=slug, vendor_slug=slug
        )
        vendors.append(BenchVendor(slug, key, issued.token))
    return vendors


def print_setting(settings: Settings) -> None:
    """Say which database the figures are for, and the load on the machine."""
    load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    print(f"database: {database_label(settings)}; load average before: {load}")
