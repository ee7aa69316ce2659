"""Complaint hot paths: filing through the HTTP API, and the SLA scan over 1M open complaints.

    .venv/bin/python bench/complaints.py                 # 100k filings, 1M-row scan
    .venv/bin/python bench/complaints.py --filings 20000 --open 1000000 --due 1000

Filing: a real `registry serve` (one uvicorn worker, SQLite, demo vendors, default rate
limits) and httpx clients with concurrent requests, each a distinct consumer and each
batch from its own loopback address (127.x.y.z) within the per-IP limit, so every filing
is checked, sealed, rate-limited, stored with its thread entries and forwarded (outbox
row) for real.
Target: sustained throughput, reported as filings/s (no fixed target in the issue).

SLA scan: 1M open complaints inserted straight into a migrated SQLite file (their due
times spread over the coming week, `--due` of them already past), then the scheduler
job escalates what is due. Target: the job finishes in at most 2 s.

Both run on PostgreSQL when `REGISTRY_DATABASE_URL` names one (bench/harness.py); a
failed filing or a scan that escalates fewer than were due is a MISS, and a miss exits
non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from attestations.keys import SigningKey  # noqa: E402
from bench.harness import (  # noqa: E402
    Outcome,
    bench_settings,
    database_label,
    print_setting,
    run,
)
from bench.serving import registry_server  # noqa: E402
from registry.context import RegistryContext  # noqa: E402
from registry.db.migrate import upgrade  # noqa: E402
from registry.db.session import Database, create_engine  # noqa: E402
from registry.kernel.clock import ManualClock  # noqa: E402
from registry.services import Services  # noqa: E402
from registry.settings import Settings  # noqa: E402

SCAN_TARGET_SECONDS = 2.0


def _client_address(batch: int) -> str:
    """A distinct loopback address (127.0.0.0/8) per batch, so each "consumer network"
    stays within the per-IP limit as real traffic from many addresses would."""
    return f"127.{1 + batch // 65_000 % 250}.{batch // 250 % 250}.{1 + batch % 250}"


async def _file_all(
    base_url: str, vendors: list[str], count: int, concurrency: int, per_address: int
) -> tuple[float, int]:
    batches: asyncio.Queue[int] = asyncio.Queue()
    for batch in range((count + per_address - 1) // per_address):
        batches.put_nowait(batch)
    failures: list[str] = []

    async def file_batch(batch: int) -> None:
        transport = httpx.AsyncHTTPTransport(local_address=_client_address(batch))
        async with httpx.AsyncClient(base_url=base_url, timeout=60, transport=transport) as client:
            for index in range(batch * per_address, min(count, (batch + 1) * per_address)):
                body = {
                    "vendor": vendors[index % len(vendors)],
                    "product": "会员服务",
                    "category": "billing_refund",
                    "description": f"第 {index} 号测试投诉：取消订阅后仍被扣费。",
                    "desired_remedy": "退款",
                    "region": "310000",
                    "occurred_on": "2026-11-01",
                    "contact_name": "测试用户",
                    "contact_phone": f"+86 1{index:010d}",
                    "consent_to_share": True,
                }
                response = await client.post("/api/v1/complaints/", json=body)
                if response.status_code != 201:
                    failures.append(f"{response.status_code} {response.text[:200]}")

    async def worker() -> None:
        while True:
            try:
                batch = batches.get_nowait()
            except asyncio.QueueEmpty:
                return
            await file_batch(batch)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    if failures:
        print(f"  {len(failures)} filings failed, first: {failures[0]}")
    return elapsed, len(failures)


def bench_filing(count: int, concurrency: int) -> Outcome:
    """Start `registry serve` on a fresh database and file `count` complaints."""
    with bench_settings("complaints") as settings:
        print_setting(settings)
        with registry_server(
            settings.data_dir, demo=True, database_url=settings.database_url
        ) as base_url:
            vendors = [
                v["slug"]
                for v in httpx.get(base_url + "/api/v1/vendors/?page_size=100").json()["items"]
            ]
            per_address = settings.complaint_ip_limit
            elapsed, failures = asyncio.run(
                _file_all(base_url, vendors, count, concurrency, per_address)
            )
    return Outcome(
        "filing",
        f"{count} complaints in {elapsed:.1f} s = {count / elapsed:.0f} filings/s "
        f"({database_label(settings)}, 1 worker, {concurrency} concurrent clients, default "
        f"rate limits on, {per_address} filings per client address; no fixed target)",
        target_met=True,
        failures=failures,
    )


def _scan(open_count: int, due: int) -> Outcome:
    with bench_settings("sla") as settings:
        print_setting(settings)
        return asyncio.run(
            _scan_on(
                replace(settings, log_origin="bench.trust-registry.example/log"), open_count, due
            )
        )


async def _scan_on(settings: Settings, open_count: int, due: int) -> Outcome:
    start = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    clock = ManualClock(start)
    ctx = RegistryContext(settings, Database(create_engine(settings)), clock, SigningKey.generate())
    services = Services(ctx)
    try:
        await upgrade(ctx.db)
        await services.federation.ensure_association("csia", "中国软件行业协会", "CSIA")
        from registry.demo import load_membership_demo

        vendors = await load_membership_demo(services)
        await _insert_open_complaints(ctx, start, open_count, due, len(vendors))
        scan = ComplaintScan(services)
        # What the scheduler pays on every tick when nothing is due yet ...
        idle = await scan.timed()
        # ... and a day later, when the oldest complaints' first-response clocks ran out.
        clock.set(start + timedelta(hours=24))
        busy = await scan.timed()
    finally:
        await ctx.db.dispose()
    return Outcome(
        "SLA scan",
        f"over {open_count} open complaints ({database_label(settings)}): nothing due "
        f"{idle.seconds:.3f} s; {busy.escalated} of {due} due escalated (breach, thread "
        f"entry, log leaf, webhook each) in {busy.seconds:.3f} s (target <= "
        f"{SCAN_TARGET_SECONDS:.0f} s)",
        busy.seconds <= SCAN_TARGET_SECONDS,
        failures=due - busy.escalated,
    )


class ComplaintScan:
    """Runs the scheduler job and times it."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def timed(self) -> ScanTiming:
        """One run of the SLA job."""
        from registry.complaints.jobs import escalate_complaint_breaches_job

        before = await self._escalated()
        started = time.perf_counter()
        await escalate_complaint_breaches_job(self.services)
        seconds = time.perf_counter() - started
        return ScanTiming(seconds, await self._escalated() - before)

    async def _escalated(self) -> int:
        from sqlalchemy import func, select

        from registry.complaints.models import Complaint

        async with self.services.ctx.db.read() as session:
            return (
                await session.scalar(
                    select(func.count())
                    .select_from(Complaint)
                    .where(Complaint.escalated_at.is_not(None))
                )
                or 0
            )


class ScanTiming:
    """How long a scan took and how many it escalated."""

    def __init__(self, seconds: float, escalated: int) -> None:
        self.seconds = seconds
        self.escalated = escalated


_COMPLAINT_COLUMNS = [
    "tracking_code",
    "secret_hash",
    "association_id",
    "vendor_id",
    "subject_kind",
    "subject_value",
    "product",
    "category",
    "description",
    "desired_remedy",
    "region",
    "occurred_on",
    "language",
    "status",
    "contact_sealed",
    "contact_fingerprint",
    "ip_fingerprint",
    "consent_to_share",
    "first_response_due_at",
    "resolution_due_at",
    "sla_due_at",
    "sla_clock",
    "forwarded_at",
    "vendor_conceded",
    "substantiated",
    "duplicates_merged",
    "created_at",
]
INSERT_CHUNK = 20_000


async def _insert_open_complaints(
    ctx: RegistryContext, start: datetime, count: int, due: int, vendors: int
) -> None:
    """`count` forwarded complaints; `due` of them reach their first-response deadline by
    +24 h. Inserted in large multi-row statements, on either database, outside the code
    under test (setup only)."""
    from sqlalchemy import insert, select, text

    from registry.complaints.models import Complaint
    from registry.membership.models import Vendor

    rng = random.Random(1)
    async with ctx.db.transaction() as session:
        vendor_rows = (await session.execute(select(Vendor.id, Vendor.association_id))).all()

    def row(index: int) -> dict[str, object]:
        vendor_id, association_id = vendor_rows[index % vendors]
        if index < due:
            filed = start - timedelta(minutes=rng.randint(1, 600))
        else:
            filed = start + timedelta(minutes=rng.randint(1, 60 * 24 * 6))
        deadline = filed + timedelta(hours=24)
        values = (
            f"B{index:011d}",
            "0" * 64,
            association_id,
            vendor_id,
            "vendor",
            "bench",
            "会员服务",
            "billing_refund",
            "bench",
            "bench",
            "310000",
            date(2026, 11, 1),
            "zh",
            "forwarded",
            b"sealed",
            f"{index:064x}",
            "f" * 64,
            True,
            deadline,
            filed + timedelta(days=7),
            deadline,
            "first_response",
            filed,
            False,
            False,
            0,
            filed,
        )
        return dict(zip(_COMPLAINT_COLUMNS, values, strict=True))

    statement = insert(Complaint.__table__)  # type: ignore[arg-type]
    for first in range(0, count, INSERT_CHUNK):
        async with ctx.db.transaction() as session:
            await session.execute(
                statement, [row(i) for i in range(first, min(count, first + INSERT_CHUNK))]
            )
    async with ctx.db.transaction() as session:
        await session.execute(text("ANALYZE"))


def main() -> list[Outcome]:
    """Run both benches with the sizes given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--filings", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--open", dest="open_count", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1_000)
    args = parser.parse_args()
    outcomes = []
    if args.open_count:
        outcomes.append(_scan(args.open_count, args.due))
    if args.filings:
        outcomes.append(bench_filing(args.filings, args.concurrency))
    return outcomes


if __name__ == "__main__":
    run(main)
