"""Transparency-log append rate: 100k entries through `LogAppender.append_many`.

On SQLite, or on PostgreSQL when `REGISTRY_DATABASE_URL` names one (bench/harness.py).
Each batch is one write transaction (BEGIN IMMEDIATE … COMMIT), as a batch ingestion of
attestations would be; every leaf carries a realistic signed DSSE envelope (~1.3 KB), so
the figure includes RFC 8785 canonicalisation, leaf and node hashing and the inserts.
Target: at least 5,000 appends/s, so appending is never what limits ingestion.

    .venv/bin/python bench/log_append.py [--entries 100000] [--batch 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from attestations.envelope import sign_envelope  # noqa: E402
from attestations.keys import SigningKey  # noqa: E402
from attestations.merkle import TreeBuilder, leaf_hash  # noqa: E402
from attestations.statement import Subject, make_statement  # noqa: E402
from bench.harness import Outcome, bench_settings, database_label, print_setting, run  # noqa: E402
from registry.context import RegistryContext  # noqa: E402
from registry.db.migrate import upgrade  # noqa: E402
from registry.db.session import Database, create_engine  # noqa: E402
from registry.kernel.clock import SystemClock  # noqa: E402
from registry.settings import Settings  # noqa: E402
from registry.transparency.entries import EntryType  # noqa: E402
from registry.transparency.models import LogEntry  # noqa: E402
from registry.transparency.services import LogAppender, PendingLeaf, TransparencyLogService  # noqa: E402

TARGET_APPENDS_PER_SECOND = 5_000


def sample_envelope() -> dict[str, Any]:
    """A signed attestation-sized envelope, as the leaves of real submissions carry."""
    key = SigningKey(bytes(range(32)))
    predicate = {
        "scheme": "csia-default",
        "scheme_version": "1",
        "period": {"from": "2026-01-01", "to": "2026-06-30"},
        "claims": [
            {
                "criterion": f"C{number:02d}",
                "met": True,
                "evidence": f"https://example.cn/e/{number}",
            }
            for number in range(12)
        ],
    }
    statement = make_statement(
        [Subject(name="vendor:bench", digest={"sha256": key.key_id})],
        "https://trust-registry.dev/attestations/self-assessment/v1",
        predicate,
    )
    return sign_envelope(statement.to_bytes(), [key]).to_dict()


async def measure(settings: Settings, entries: int, batch: int) -> float:
    clock = SystemClock()
    ctx = RegistryContext(settings, Database(create_engine(settings)), clock, SigningKey.generate())
    try:
        await upgrade(ctx.db)
        envelope = sample_envelope()
        started = time.perf_counter()
        for first in range(0, entries, batch):
            leaves = [
                PendingLeaf(EntryType.ATTESTATION, {"attestation_id": number, "envelope": envelope})
                for number in range(first, min(first + batch, entries))
            ]
            async with ctx.db.transaction() as session:
                await LogAppender(session, clock.now()).append_many(leaves)
        elapsed = time.perf_counter() - started
        await check(ctx, entries)
    finally:
        await ctx.db.dispose()
    return elapsed


async def check(ctx: RegistryContext, entries: int) -> None:
    """The stored root must equal a recomputation from the stored leaves."""
    log = TransparencyLogService(ctx)
    async with ctx.db.read() as session:
        assert await log.size(session) == entries
        builder = TreeBuilder()
        for leaf in (
            await session.execute(select(LogEntry.leaf).order_by(LogEntry.index))
        ).scalars():
            builder.append(leaf_hash(leaf))
        assert await log.root(session, entries) == builder.root(), "stored root differs"


def main() -> list[Outcome]:
    """Append the entries in batches and check the stored root afterwards."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000, help="appends per transaction")
    args = parser.parse_args()
    with bench_settings("log-append") as settings:
        print_setting(settings)
        elapsed = asyncio.run(measure(settings, args.entries, args.batch))
    rate = args.entries / elapsed
    return [
        Outcome(
            "log append",
            f"{rate:,.0f} appends/s in {elapsed:.1f} s ({database_label(settings)}, "
            f"{args.entries:,} entries, {args.batch:,} per transaction; target >= "
            f"{TARGET_APPENDS_PER_SECOND:,}/s)",
            rate >= TARGET_APPENDS_PER_SECOND,
        )
    ]


if __name__ == "__main__":
    run(main)
