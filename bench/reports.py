"""Reports at national scale: rollup reads against the naive GROUP BY, in the same run.

    .venv/bin/python bench/reports.py                       # 1,000,000 complaints, SQLite
    .venv/bin/python bench/reports.py --complaints 200000   # a quicker look
    registry demo --complaints 1000000 --months 36 && .venv/bin/python bench/reports.py --demo-data
    REGISTRY_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/reports.py --complaints 10000000

Inserts `--complaints` complaints spread over 36 months, 2 associations, every province
(and some prefectures and counties), every category, with first responses, resolutions,
escalations and ratings, in bulk (sqlite3 executemany; on PostgreSQL the server draws them
itself with generate_series), then fills the rollups with `registry reports rebuild`'s
code and times, as the median of 7 runs each:

- one month × province × category through `ReportService.report` (labels, suppression
  and all): target <= 50 ms, and >= 20x faster than the naive GROUP BY over the
  complaint table for the same figures;
- 36 months × province through `ReportService.report`: target <= 200 ms.

A missed target prints MISSED and exits 1. On SQLite a scratch directory is used; with a
PostgreSQL REGISTRY_DATABASE_URL the bench creates a database of its own on that server
(migrated on start) and drops it at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from sqlalchemy import func, make_url, select, text  # noqa: E402

from attestations.keys import SigningKey  # noqa: E402
from registry.complaints.models import Complaint, ComplaintCategory  # noqa: E402
from registry.context import RegistryContext  # noqa: E402
from registry.db.migrate import upgrade  # noqa: E402
from registry.db.session import Database, create_engine  # noqa: E402
from registry.kernel import regions  # noqa: E402
from registry.kernel.clock import ManualClock  # noqa: E402
from registry.reports.rollups import rebuild_complaints  # noqa: E402
from registry.reports.tables import (  # noqa: E402
    Audience,
    Dimension,
    Period,
    Scope,
    add_months,
    month_key,
)
from registry.services import Services  # noqa: E402
from registry.settings import Settings  # noqa: E402

MONTH_TARGET_MS = 50.0
SPEEDUP_TARGET = 20.0
YEARS_TARGET_MS = 200.0
RUNS = 7
LAST_MONTH = 202611
MONTHS = 36
BATCH = 50_000


def _codes(rng: random.Random) -> list[str]:
    """Every province, plus a few prefectures and counties of each (as filings carry)."""
    codes = [p.code for p in regions.provinces()]
    for province in regions.provinces():
        units = regions.prefectures(province.code)
        codes.extend(u.code for u in rng.sample(units, min(2, len(units))))
    return codes


def _rows(count: int, association_ids: list[int]) -> Iterator[dict[str, Any]]:
    """`count` complaints over the 36 months, every province, category and outcome."""
    rng = random.Random(16)
    codes = _codes(rng)
    categories = [c.value for c in ComplaintCategory]
    first_month = add_months(LAST_MONTH, -(MONTHS - 1))
    start = datetime(first_month // 100, first_month % 100, 1, tzinfo=UTC)
    span = (datetime(2026, 12, 1, tzinfo=UTC) - start).total_seconds()
    for index in range(count):
        filed = start + timedelta(seconds=rng.random() * span)
        answered = filed + timedelta(hours=rng.expovariate(1 / 14))
        outcome = rng.random()
        yield {
            "tracking_code": f"R{index:012d}",
            "secret_hash": "0" * 64,
            "association_id": association_ids[index % 2],
            "vendor_id": None,
            "subject_kind": "domain",
            "subject_value": "bench.example.cn",
            "product": "bench",
            "category": categories[rng.randrange(len(categories))],
            "description": "bench",
            "desired_remedy": "bench",
            "region": codes[rng.randrange(len(codes))],
            "occurred_on": date(2023, 1, 1),
            "language": "zh",
            "status": "closed",
            "ip_fingerprint": "0" * 64,
            "consent_to_share": False,
            "first_response_due_at": filed + timedelta(hours=24),
            "forwarded_at": filed,
            "first_response_at": answered if outcome < 0.95 else None,
            "resolved_at": answered if outcome < 0.6 else None,
            "escalated_at": answered if 0.6 <= outcome < 0.8 else None,
            "vendor_conceded": outcome < 0.3,
            "mediation_outcome": "upheld" if 0.6 <= outcome < 0.7 else None,
            "substantiated": outcome < 0.3 or 0.6 <= outcome < 0.7,
            "duplicates_merged": 0,
            "rating": rng.randint(1, 5) if outcome < 0.5 else None,
            "created_at": filed,
        }


COLUMNS = [
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
    "ip_fingerprint",
    "consent_to_share",
    "first_response_due_at",
    "forwarded_at",
    "first_response_at",
    "resolved_at",
    "escalated_at",
    "vendor_conceded",
    "mediation_outcome",
    "substantiated",
    "duplicates_merged",
    "rating",
    "created_at",
]


def _sqlite_value(value: Any) -> Any:
    """As SQLAlchemy stores it in SQLite: naive UTC text with microseconds."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


async def _insert(ctx: RegistryContext, count: int, association_ids: list[int]) -> float:
    """`count` complaints in bulk (sqlite3 executemany, or PostgreSQL COPY); seconds taken."""
    started = time.perf_counter()
    rows = _rows(count, association_ids)
    if ctx.db.dialect == "sqlite":
        path = ctx.settings.data_dir / "registry.db"
        connection = sqlite3.connect(path)
        connection.execute("PRAGMA synchronous=OFF")
        marks = ", ".join("?" for _ in COLUMNS)
        sql = f"INSERT INTO complaint ({', '.join(COLUMNS)}) VALUES ({marks})"  # noqa: S608
        while batch := list(itertools.islice(rows, BATCH)):
            connection.executemany(
                sql, [tuple(_sqlite_value(row[c]) for c in COLUMNS) for row in batch]
            )
            connection.commit()
            print(f"  inserted {batch[-1]['tracking_code'][1:]} ...", end="\r", flush=True)
        connection.close()
    else:
        # PostgreSQL draws the same distribution itself (generate_series, random()): no
        # row crosses the wire, so 10,000,000 complaints take minutes, not an hour.
        codes = _codes(random.Random(16))
        categories = [c.value for c in ComplaintCategory]
        first_month = add_months(LAST_MONTH, -(MONTHS - 1))
        start = datetime(first_month // 100, first_month % 100, 1, tzinfo=UTC)
        span = (datetime(2026, 12, 1, tzinfo=UTC) - start).total_seconds()
        async with ctx.db.engine.begin() as connection:
            # A bulk load's usual practice: the secondary indexes are built once at the
            # end rather than row by row, and the foreign keys (two association ids the
            # bench itself made) are not re-checked per row. The schema ends as migrated.
            indexes = (
                await connection.execute(
                    text(
                        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'complaint' "
                        "AND indexname NOT IN ('pk_complaint', 'uq_complaint_tracking_code')"
                    )
                )
            ).all()
            for name, _ in indexes:
                await connection.execute(text(f'DROP INDEX "{name}"'))
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
            await connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
            await connection.execute(text("SELECT setseed(0.16)"))
            for first in range(0, count, PG_BATCH):
                last = min(count, first + PG_BATCH) - 1
                await connection.execute(
                    text(_PG_INSERT),
                    {
                        "first": first,
                        "last": last,
                        "codes": codes,
                        "categories": categories,
                        "associations": association_ids,
                        "start": start,
                        "span": span,
                        "occurred": date(2023, 1, 1),
                    },
                )
                print(f"  inserted {last + 1:,} ...", end="\r", flush=True)
            print(f"\n  building {len(indexes)} indexes ...", end="", flush=True)
            for _, definition in indexes:
                await connection.execute(text(definition))
    print()
    return time.perf_counter() - started


PG_BATCH = 1_000_000
_PG_SELECT = """
SELECT 'R' || lpad(g::text, 12, '0'), repeat('0', 64),
       (CAST(:associations AS integer[]))[1 + g % 2], NULL, 'domain', 'bench.example.cn', 'bench',
       cat.list[1 + floor(random() * cardinality(cat.list))::int],
       'bench', 'bench',
       reg.list[1 + floor(random() * cardinality(reg.list))::int],
       CAST(:occurred AS date), 'zh', 'closed', repeat('0', 64), false,
       filed + interval '24 hours', filed,
       CASE WHEN outcome < 0.95 THEN answered END,
       CASE WHEN outcome < 0.6 THEN answered END,
       CASE WHEN outcome >= 0.6 AND outcome < 0.8 THEN answered END,
       outcome < 0.3,
       CASE WHEN outcome >= 0.6 AND outcome < 0.7 THEN 'upheld' END,
       outcome < 0.3 OR (outcome >= 0.6 AND outcome < 0.7),
       0,
       CASE WHEN outcome < 0.5 THEN 1 + floor(random() * 5)::int END,
       filed
FROM (
    SELECT g, filed, outcome,
           filed + make_interval(secs => -ln(1 - random()) * 14 * 3600) AS answered
    FROM (
        SELECT g,
               CAST(:start AS timestamptz)
                   + make_interval(secs => random() * CAST(:span AS float8)) AS filed,
               random() AS outcome
        FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS g
    ) AS drawn
) AS planned,
     (SELECT CAST(:categories AS text[]) AS list) AS cat,
     (SELECT CAST(:codes AS text[]) AS list) AS reg
"""
_PG_INSERT = f"INSERT INTO complaint ({', '.join(COLUMNS)})" + _PG_SELECT


def _naive_month_sql(dialect: str) -> str:
    """One month's complaints by province and category, straight from the complaint table."""
    province = "substr(region, 1, 2)"
    return (
        f"SELECT {province} AS province, category, count(*) FROM complaint "  # noqa: S608 - constants only
        "WHERE created_at >= :since AND created_at < :until AND duplicate_joined_at IS NULL "
        f"GROUP BY {province}, category"
    )


async def _median_ms(work: Callable[[], Awaitable[object]]) -> float:
    await work()  # warm the caches once, as a serving process would be
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await work()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


async def run(count: int, database_url: str) -> bool:
    scratch = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    settings = replace(Settings(data_dir=scratch), database_url=database_url)
    clock = ManualClock(datetime(2026, 12, 3, tzinfo=UTC))
    ctx = RegistryContext(settings, Database(create_engine(settings)), clock, SigningKey.generate())
    services = Services(ctx)
    dialect = ctx.db.dialect
    try:
        await upgrade(ctx.db)
        async with ctx.db.read() as session:
            existing = await session.scalar(select(func.count()).select_from(Complaint))
        if existing:
            raise SystemExit("the bench needs an empty database (it found complaints)")
        csia = await services.federation.ensure_association("csia", "中国软件行业协会", "CSIA")
        cfsa = await services.federation.ensure_association("cfsa", "金融软件协会", "CFSA")
        print(f"{dialect}: inserting {count:,} complaints over {MONTHS} months ...")
        inserted = await _insert(ctx, count, [csia.id, cfsa.id])
        print(f"inserted in {inserted:.1f} s ({count / inserted:,.0f}/s)")
        started = time.perf_counter()
        await rebuild_complaints(ctx.db, lambda done, total: None)
        rebuilt = time.perf_counter() - started
        print(f"rollups rebuilt from scratch in {rebuilt:.1f} s")
        return await _measure(services, count, LAST_MONTH)
    finally:
        await ctx.db.dispose()
        shutil.rmtree(scratch, ignore_errors=True)


async def run_on_demo_data() -> bool:
    """Measure the database REGISTRY_DATA_DIR / REGISTRY_DATABASE_URL name as it stands:
    the data of `registry demo --complaints 1000000 --months 36` (its rollups rebuilt at
    the end of the demo), up to the last full month."""
    settings = Settings.from_env()
    now = datetime.now(UTC)
    ctx = RegistryContext(
        settings, Database(create_engine(settings)), ManualClock(now), SigningKey.generate()
    )
    try:
        async with ctx.db.read() as session:
            count = int(await session.scalar(select(func.count()).select_from(Complaint)) or 0)
        if count == 0:
            raise SystemExit("no complaints: run `registry demo --complaints 1000000 --months 36`")
        return await _measure(Services(ctx), count, add_months(month_key(now), -1))
    finally:
        await ctx.db.dispose()


async def _measure(services: Services, count: int, last_month: int) -> bool:
    """Time the two reports and the naive GROUP BY over `last_month` and the 36 before."""
    ctx = services.ctx
    dialect = ctx.db.dialect
    if dialect == "postgresql":
        async with ctx.db.engine.begin() as connection:
            await connection.execute(text("ANALYZE"))

    async def month_report() -> object:
        return await services.reports.report(
            scope=Scope(),
            kpis=["complaints"],
            period=Period(last_month, last_month),
            dimensions=[Dimension.PROVINCE, Dimension.CATEGORY],
            audience=Audience.PUBLIC,
        )

    async def naive_month() -> object:
        since = datetime(last_month // 100, last_month % 100, 1, tzinfo=UTC)
        following = add_months(last_month, 1)
        until = datetime(following // 100, following % 100, 1, tzinfo=UTC)
        bind: dict[str, Any] = {"since": since, "until": until}
        if dialect == "sqlite":
            bind = {k: v.replace(tzinfo=None).isoformat(" ") for k, v in bind.items()}
        async with ctx.db.read() as session:
            return (await session.execute(text(_naive_month_sql(dialect)), bind)).all()

    async def years_report() -> object:
        return await services.reports.report(
            scope=Scope(),
            kpis=["complaints"],
            period=Period(add_months(last_month, -(MONTHS - 1)), last_month),
            dimensions=[Dimension.PERIOD, Dimension.PROVINCE],
            audience=Audience.PUBLIC,
        )

    month_ms = await _median_ms(month_report)
    naive_ms = await _median_ms(naive_month)
    years_ms = await _median_ms(years_report)
    speedup = naive_ms / month_ms
    month_ok = month_ms <= MONTH_TARGET_MS and speedup >= SPEEDUP_TARGET
    years_ok = years_ms <= YEARS_TARGET_MS
    print(
        f"one month x province x category ({dialect}, {count:,} complaints): "
        f"report {month_ms:.1f} ms (target <= {MONTH_TARGET_MS:.0f} ms), naive GROUP BY "
        f"{naive_ms:.1f} ms, {speedup:.0f}x faster (target >= {SPEEDUP_TARGET:.0f}x): "
        f"{'ok' if month_ok else 'MISSED'}"
    )
    print(
        f"36 months x province ({dialect}): report {years_ms:.1f} ms "
        f"(target <= {YEARS_TARGET_MS:.0f} ms): {'ok' if years_ok else 'MISSED'}"
    )
    return month_ok and years_ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument(
        "--demo-data",
        action="store_true",
        help="measure the registry's own database (REGISTRY_DATA_DIR, REGISTRY_DATABASE_URL) "
        "as `registry demo --complaints 1000000 --months 36` left it, inserting nothing",
    )
    args = parser.parse_args()
    if args.demo_data:
        ok = asyncio.run(run_on_demo_data())
    else:
        ok = asyncio.run(_in_scratch_database(args.complaints, Settings.from_env().database_url))
    if not ok:
        sys.exit(1)


async def _in_scratch_database(count: int, url: str) -> bool:
    """On PostgreSQL, run in a database of the bench's own on the server `url` names,
    dropped afterwards (10M complaints take several GB); on SQLite, `run` uses a scratch
    directory."""
    if not url.startswith("postgresql"):
        return await run(count, url)
    server = make_url(url)
    scratch = server.set(database=f"bench_reports_{os.getpid()}")
    admin = await asyncpg.connect(
        host=server.host,
        port=server.port,
        user=server.username,
        password=server.password,
        database=server.database,
    )
    try:
        await admin.execute(f'CREATE DATABASE "{scratch.database}"')
        print(f"scratch database {scratch.database} (dropped at the end)")
        try:
            return await run(count, scratch.render_as_string(hide_password=False))
        finally:
            await admin.execute(f'DROP DATABASE "{scratch.database}"')
    finally:
        await admin.close()


if __name__ == "__main__":
    main()
