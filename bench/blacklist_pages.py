"""Throughput of the public blacklist pages against a plain-text endpoint of the same server.

Runs `registry demo` into a scratch directory, starts `registry serve`, then loads /ping
(plain text), the list `/blacklist`, a search with a filter, and a listing's record one
after the other with the same load (wrk when installed, else the asyncio client of
bench/badges.py). The pages are not cached: each request reads the listings (or one
case with its steps, appeals and repairs) in one read transaction. Target (issue 15):

    every blacklist page >= 100 requests/s at 64 connections on 2 workers,
    so that a news story linking the list does not take the site down.

A non-2xx answer or a socket error is a MISS whatever the rate, and a miss exits
non-zero. On PostgreSQL when `REGISTRY_DATABASE_URL` names one (bench/harness.py).

    .venv/bin/python bench/blacklist_pages.py [--seconds 10] [--connections 64] [--workers 2]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.badges import PageLoad, get, serve_demo_and_measure  # noqa: E402
from bench.harness import Outcome, run  # noqa: E402

PAGE_RPS_TARGET = 100.0


def main() -> list[Outcome]:
    """Serve the demo on a scratch database and load the blacklist pages beside /ping."""
    return serve_demo_and_measure("blacklist-pages", __doc__ or "", _measure)


def _measure(server: PageLoad) -> list[Outcome]:
    """Load /ping, the list, a search and a record in turn; the figures against the target."""
    listed = re.findall(r'href="(/blacklist/BL-[0-9-]+)"', get(server.base + "/blacklist").decode())
    paths = ["/ping", "/blacklist", "/blacklist?q=%E7%A7%91%E6%8A%80&tier=general", listed[0]]
    results = server.load(paths, "", warm=20)
    plain = results["/ping"]
    names = {paths[1]: "list page", paths[2]: "search page", paths[3]: "record page"}
    return [
        Outcome(
            name,
            f"{results[path].rps:.0f} req/s, {results[path].rps / plain.rps:.0%} of /ping "
            f"(target >= {PAGE_RPS_TARGET:.0f} req/s)",
            results[path].rps >= PAGE_RPS_TARGET,
            results[path].errors,
        )
        for path, name in names.items()
    ]


if __name__ == "__main__":
    run(main)
