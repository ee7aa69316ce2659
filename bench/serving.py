"""A real `registry serve` for benches and tests: a free loopback port, a start that is
waited for, a stop. Shared so that every caller waits and fails the same way.

It lives with the benches, which must run from a checkout without the test suite's
fixtures; the tests that start servers import it from here."""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

REGISTRY = Path(sys.executable).with_name("registry")
"""The console script installed beside the running interpreter."""


STARTUP_TIMEOUT_S = 180.0
"""How long a server beside a test may take to start. Generous: on a busy two-core
machine a start takes 30-60 s; this only bounds how long a broken start hangs."""


def registry_env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    """This environment with the registry's data under `data_dir` and no scheduler: what
    a `registry` process started beside a test needs. With `database_url` the process
    uses exactly that database ("" for the SQLite file in `data_dir`), whatever this
    environment names, so a server and the setup that filled its database agree."""
    env = {**os.environ, "REGISTRY_DATA_DIR": str(data_dir), "REGISTRY_SCHEDULER": "0"}
    if database_url is not None:
        env["REGISTRY_DATABASE_URL"] = database_url
    return env


PORT_BLOCK_START, PORT_BLOCK_SIZE, PORT_BLOCKS = 20000, 1500, 8
"""Where `free_port` looks: below Linux's ephemeral range (32768-60999), so no outgoing
connection can take a port between the moment it is chosen and the moment the server
binds it (a start takes up to a minute on a busy machine), in one block of 1,500 ports
per pytest-xdist worker (gw0, gw1, ...), so that two workers never pick the same one."""
_handed_out: set[int] = set()


def _port_block() -> range:
    """This process's block: the xdist worker's own, the first outside xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) % PORT_BLOCKS if worker.isdigit() else 0
    start = PORT_BLOCK_START + index * PORT_BLOCK_SIZE
    return range(start, start + PORT_BLOCK_SIZE)


def free_port() -> int:
    """A loopback port nobody listens on right now, in this process's block and not yet
    handed out by this process (a server given the last one may not have bound it yet)."""
    block = _port_block()
    # A random start: another checkout's suite on the same machine uses the same blocks.
    offset = random.randrange(len(block))
    for step in range(len(block)):
        port = block[(offset + step) % len(block)]
        if port in _handed_out:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free loopback port in {block.start}-{block.stop - 1}")


def wait_until_ready(
    base_url: str,
    server: subprocess.Popen[bytes],
    *,
    path: str = "/readyz",
    timeout_s: float = STARTUP_TIMEOUT_S,
) -> None:
    """Poll `path` until it answers 200; raise if the server exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited during startup (code {server.returncode})")
        try:
            if httpx.get(base_url + path, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        # Waiting for another process to bind its port; no clock is being simulated.
        time.sleep(0.05)
    raise TimeoutError(f"{base_url}{path} did not answer 200 within {timeout_s:.0f} s")


ESTABLISHED, LISTEN = "01", "0A"
"""TCP states as /proc/net/tcp writes them."""


def sockets_on(port: int, state: str) -> set[int]:
    """Inodes of this host's TCP sockets on local `port` in `state` (Linux /proc)."""
    found: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == state and int(fields[1].rsplit(":", 1)[1], 16) == port:
                found.add(int(fields[9]))
    return found


def wait_for_listeners(port: int, count: int, *, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
    """Until `count` sockets listen on `port`: with `registry serve --workers N` each
    worker listens on its own, and /readyz answers as soon as the first one does."""
    deadline = time.monotonic() + timeout_s
    while len(sockets_on(port, LISTEN)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{count} listeners on port {port} not seen in {timeout_s:.0f} s")
        # Waiting for other processes to start; no clock is being simulated.
        time.sleep(0.05)


@contextlib.contextmanager
def registry_server(
    data_dir: Path, *serve_args: str, demo: bool = False, database_url: str | None = None
) -> Iterator[str]:
    """`registry serve` (scheduler off) on `data_dir`, after `registry demo` if asked;
    yields the base URL once every worker listens and stops the server afterwards.
    `database_url` as in `registry_env`."""
    env = registry_env(data_dir, database_url)
    if demo:
        subprocess.run([REGISTRY, "demo"], env=env, check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    server = subprocess.Popen(
        [REGISTRY, "serve", "--port", str(port), *serve_args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    workers = int(serve_args[serve_args.index("--workers") + 1]) if "--workers" in serve_args else 1
    try:
        wait_until_ready(base_url, server)
        if workers > 1:
            wait_for_listeners(port, workers)
        yield base_url
    finally:
        server.terminate()
        server.wait(timeout=30)
