"""Blacklist snapshot throughput against /ping on the same server, and how fast a new
snapshot reaches every worker.

Runs `registry demo` into a scratch directory (its listings in every state make the
snapshots), starts `registry serve --workers N`, then loads /ping and
/api/v1/blacklist/snapshot side by side, in alternation (five rounds), with the badge
bench's load (wrk when installed, else its asyncio keep-alive client). Then it signs new
snapshots on the server's database (as a change on any worker, or the job, would) and
asks the server on fresh connections, from the commit on, until every answer carries the
new serial. Targets (issue 15):

    snapshot throughput >= 80 % of /ping's; a new snapshot served by every worker
    within 2 s of its signing.

A non-2xx answer or a socket error is a MISS whatever the rate, and a miss exits
non-zero. On PostgreSQL when `REGISTRY_DATABASE_URL` names one (bench/harness.py).

    .venv/bin/python bench/blacklist_snapshot.py [--seconds 6] [--connections 64] [--workers 2]
        [--rounds 5]

The share is the median over the rounds of the snapshot's rate over the /ping rate measured
just before it: on a shared machine a neighbour's burst spoils one round, not the figure.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.badges import Result, get, run_python, run_wrk  # noqa: E402
from bench.harness import (  # noqa: E402
    Outcome,
    bench_settings,
    database_label,
    print_setting,
    run,
)
from bench.serving import registry_server  # noqa: E402
from registry.app import build_context  # noqa: E402
from registry.kernel.clock import SystemClock  # noqa: E402
from registry.services import Services  # noqa: E402
from registry.settings import Settings  # noqa: E402

SNAPSHOT = "/api/v1/blacklist/snapshot"
SHARE_TARGET = 0.80
PROPAGATION_TARGET_S = 2.0
ROUNDS = 3
"""New snapshots signed to time the propagation; the slowest counts."""
CONFIRMING_ANSWERS = 20
"""Fresh-connection answers in a row that must all carry the new serial."""


async def served_serial(client: httpx.AsyncClient) -> int:
    """The serial of the snapshot the server answers with now."""
    answer = await client.get(SNAPSHOT)
    answer.raise_for_status()
    return int(json.loads(base64.b64decode(answer.json()["payload"]))["predicate"]["serial"])


async def propagation(base: str, settings: Settings) -> tuple[float, int]:
    """Seconds from a new snapshot's commit until every worker serves it, and the
    answers that failed on the way (the slowest of `ROUNDS`). The snapshot is signed in
    this process on the server's database, as a change on another worker or the job would
    sign it; the clock starts when its transaction has committed."""
    ctx = build_context(settings, SystemClock())
    services = Services(ctx)
    slowest, failures = 0.0, 0
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5, limits=no_reuse) as client:
            for _ in range(ROUNDS):
                head = await services.blacklist_snapshots.make()
                committed = time.monotonic()
                assert head is not None
                last_stale, streak = committed, 0
                deadline = committed + 10 * PROPAGATION_TARGET_S
                while streak < CONFIRMING_ANSWERS and time.monotonic() < deadline:
                    try:
                        seen = await served_serial(client)
                    except httpx.HTTPError:
                        failures += 1
                        seen = -1
                    if seen == head.serial:
                        streak += 1
                    else:
                        streak, last_stale = 0, time.monotonic()
                if streak < CONFIRMING_ANSWERS:
                    failures += 1
                slowest = max(slowest, last_stale - committed)
    finally:
        await ctx.db.dispose()
    return slowest, failures


def main() -> list[Outcome]:
    """Serve the demo on a scratch database, load both endpoints, time the propagation."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternations of /ping and the snapshot"
    )
    parser.add_argument("--python-client", action="store_true", help="do not use wrk")
    options = parser.parse_args()
    use_wrk = shutil.which("wrk") is not None and not options.python_client

    with bench_settings("blacklist-snapshot") as settings:
        print_setting(settings)
        with registry_server(
            settings.data_dir,
            "--workers",
            str(options.workers),
            demo=True,
            database_url=settings.database_url,
        ) as base:
            return _measure(base, settings, options, use_wrk)


def _measure(
    base: str, settings: Settings, options: argparse.Namespace, use_wrk: bool
) -> list[Outcome]:
    database = database_label(settings)
    port = int(base.rsplit(":", 1)[1])
    size = len(get(base + SNAPSHOT))
    for path in ("/ping", SNAPSHOT):  # warm every worker's cache
        for _ in range(50):
            get(base + path)
    print(
        f"load: {'wrk' if use_wrk else 'python asyncio client'}, {options.connections} "
        f"connections, {options.rounds} rounds of {options.seconds} s per endpoint, "
        f"{options.workers} "
        f"worker(s), {os.cpu_count()} CPUs, snapshot {size} bytes, {database}"
    )
    totals: dict[str, list[Result]] = {"/ping": [], SNAPSHOT: []}
    for _ in range(options.rounds):
        for path, results in totals.items():
            if use_wrk:
                result = run_wrk(base, path, options.seconds, options.connections)
            else:
                result = run_python(port, path, options.seconds, options.connections)
            results.append(result)
            print(
                f"  {path:<30} {result.rps:9.0f} req/s   p50 {result.p50_ms:6.2f} ms   "
                f"p99 {result.p99_ms:6.2f} ms   errors {result.errors}"
            )
    ratios = sorted(
        snapshot.rps / plain.rps
        for plain, snapshot in zip(totals["/ping"], totals[SNAPSHOT], strict=True)
    )
    share = statistics.median(ratios)
    errors = sum(r.errors for results in totals.values() for r in results)
    print(f"  snapshot / ping by round: {', '.join(f'{r:.0%}' for r in ratios)}")
    seconds, failed = asyncio.run(propagation(base, settings))
    print(f"  propagation to every worker: {seconds:.2f} s (slowest of {ROUNDS})")
    return [
        Outcome(
            "snapshot share",
            f"{share:.0%} of /ping (target >= 80%)",
            share >= SHARE_TARGET,
            errors,
        ),
        Outcome(
            "snapshot propagation",
            f"{seconds:.2f} s to every worker (target <= 2 s)",
            seconds <= PROPAGATION_TARGET_S,
            failed,
        ),
    ]


if __name__ == "__main__":
    run(main)
