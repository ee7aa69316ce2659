"""Badge and profile-page throughput against a plain-text endpoint of the same server.

Runs `registry demo` into a scratch directory, starts `registry serve`, then loads
/ping (plain text), /badges/{slug}.svg and /vendors/{slug} one after the other with the
same load: wrk when it is installed (apt-get install wrk), else a small asyncio HTTP/1.1
keep-alive load generator in this file. Targets (issue 5):

    badge throughput >= 75 % of /ping's, badge p99 <= 20 ms at 64 connections,
    vendor profile page >= 500 requests/s.

A non-2xx answer or a socket error on any endpoint is a MISS whatever the rate, and a
miss exits non-zero. On PostgreSQL when `REGISTRY_DATABASE_URL` names one
(bench/harness.py).

    .venv/bin/python bench/badges.py [--seconds 10] [--connections 64] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    Outcome,
    bench_settings,
    database_label,
    print_setting,
    run,
)
from bench.serving import registry_server  # noqa: E402

BADGE_SHARE_TARGET = 0.75
BADGE_P99_TARGET_MS = 20.0
PROFILE_RPS_TARGET = 500.0


@dataclass(frozen=True)
class Result:
    """Throughput and latency of one endpoint under load."""

    path: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - loopback only
        return bytes(answer.read())


def certified_demo_vendor(base: str) -> str:
    """A demo vendor whose badge reads certified (the badge path then does real work)."""
    vendors = json.loads(get(f"{base}/api/v1/vendors/?page_size=100"))["items"]
    for vendor in vendors:
        shields = json.loads(get(f"{base}/badges/{vendor['slug']}.json"))
        if not shields["isError"]:
            return str(vendor["slug"])
    return str(vendors[0]["slug"])


# --- wrk --------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(url: str, path: str, seconds: int, connections: int) -> Result:
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            url + path,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    errors_match = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = int(errors_match.group(1)) if errors_match else 0
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if sockets:
        errors += sum(int(count) for count in sockets.groups())
    return Result(path, rps, p50, p99, errors)


# --- asyncio fallback -------------------------------------------------------------------


async def _connection(
    port: int, request: bytes, stop_at: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(1)
    finally:
        writer.close()


def run_python(port: int, path: str, seconds: int, connections: int) -> Result:
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    latencies: list[float] = []
    errors: list[int] = []

    async def main() -> None:
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(
            *(_connection(port, request, stop_at, latencies, errors) for _ in range(connections))
        )

    started = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - started
    latencies.sort()
    return Result(
        path,
        len(latencies) / elapsed,
        latencies[len(latencies) // 2] * 1000,
        latencies[int(len(latencies) * 0.99)] * 1000,
        len(errors),
    )


# --- the run ----------------------------------------------------------------------------


def serve_demo_and_measure(
    name: str, description: str, measure: Callable[[PageLoad], list[Outcome]]
) -> list[Outcome]:
    """Parse the page benches' options, serve the demo on a scratch database with them,
    and hand the running server to `measure`."""
    parser = argparse.ArgumentParser(description=description.split("\n", maxsplit=1)[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--python-client", action="store_true", help="do not use wrk")
    options = parser.parse_args()
    use_wrk = shutil.which("wrk") is not None and not options.python_client

    with bench_settings(name) as settings:
        print_setting(settings)
        with registry_server(
            settings.data_dir,
            "--workers",
            str(options.workers),
            demo=True,
            database_url=settings.database_url,
        ) as base:
            return measure(PageLoad(base, options, use_wrk, database_label(settings)))


@dataclass(frozen=True)
class PageLoad:
    """A running demo server and how to load it."""

    base: str
    options: argparse.Namespace
    use_wrk: bool
    database: str

    def load(self, paths: list[str], what: str, warm: int) -> dict[str, Result]:
        """Warm every worker (`warm` requests a path), then load each path in turn with the
        same load and print its figures."""
        port = int(self.base.rsplit(":", 1)[1])
        for path in paths:
            for _ in range(warm):
                get(self.base + path)
        print(
            f"load: {'wrk' if self.use_wrk else 'python asyncio client'}, "
            f"{self.options.connections} connections, {self.options.seconds} s per endpoint, "
            f"{self.options.workers} worker(s), {os.cpu_count()} CPUs, {what}{self.database}"
        )
        results = {}
        for path in paths:
            if self.use_wrk:
                result = run_wrk(self.base, path, self.options.seconds, self.options.connections)
            else:
                result = run_python(port, path, self.options.seconds, self.options.connections)
            results[path] = result
            print(
                f"  {path:<48} {result.rps:9.0f} req/s   p50 {result.p50_ms:6.2f} ms   "
                f"p99 {result.p99_ms:6.2f} ms   errors {result.errors}"
            )
        return results


def main() -> list[Outcome]:
    """Serve the demo on a scratch database and load the three endpoints."""
    return serve_demo_and_measure("badges", __doc__ or "", _measure)


def _measure(server: PageLoad) -> list[Outcome]:
    """Load /ping, a badge and a profile page in turn; the figures against the targets."""
    slug = certified_demo_vendor(server.base)
    paths = ["/ping", f"/badges/{slug}.svg", f"/vendors/{slug}"]
    results = server.load(paths, f"vendor {slug}, ", warm=50)

    plain, badge, profile = (results[p] for p in paths)
    share = badge.rps / plain.rps
    return [
        Outcome(
            "badge share",
            f"{share:.0%} of plain (target >= 75%)",
            share >= BADGE_SHARE_TARGET,
            plain.errors + badge.errors,
        ),
        Outcome(
            "badge p99",
            f"{badge.p99_ms:.1f} ms (target <= 20 ms)",
            badge.p99_ms <= BADGE_P99_TARGET_MS,
            badge.errors,
        ),
        Outcome(
            "profile page",
            f"{profile.rps:.0f} req/s (target >= 500)",
            profile.rps >= PROFILE_RPS_TARGET,
            profile.errors,
        ),
    ]


if __name__ == "__main__":
    run(main)
