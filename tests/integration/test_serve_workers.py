"""`registry serve --workers 2`: each worker accepts on its own socket (SO_REUSEPORT).

Keep-alive clients that connect together are spread over the workers instead of all
landing on the first one awake; a worker that dies is replaced; SIGTERM stops them all.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.serving import (
    ESTABLISHED,
    REGISTRY,
    free_port,
    registry_env,
    sockets_on,
    wait_for_listeners,
    wait_until_ready,
)
from registry.workers import reuse_port_available

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not reuse_port_available(), reason="SO_REUSEPORT spreading is Linux-only"),
]
CONNECTIONS = 32


def _children(pid: int) -> list[int]:
    """The worker processes of `pid` (not multiprocessing's resource tracker)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    children = [int(child) for child in path.read_text().split()]
    return [c for c in children if b"resource_tracker" not in _cmdline(c)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _connections_of(pid: int, port: int) -> int:
    """How many established connections to `port` the process `pid` holds."""
    inodes = sockets_on(port, ESTABLISHED)
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and int(target[8:-1]) in inodes:
            held += 1
    return held


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    process = subprocess.Popen(
        [REGISTRY, "serve", "--port", str(port), "--workers", "2"],
        env=registry_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}", process)
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


async def _hold_connections(port: int) -> list[asyncio.StreamWriter]:
    """`CONNECTIONS` keep-alive connections opened together, each answered once."""
    opened = await asyncio.gather(
        *(asyncio.open_connection("127.0.0.1", port) for _ in range(CONNECTIONS))
    )
    for _, writer in opened:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: registry\r\n\r\n")
    for reader, _ in opened:
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
    return [writer for _, writer in opened]


def test_connections_spread_dead_workers_replaced_and_sigterm_stops_all(
    server: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = server
    wait_for_listeners(port, 2)
    workers = _children(process.pid)
    assert len(workers) == 2

    async def hold_and_count() -> list[int]:
        writers = await _hold_connections(port)
        try:
            return [_connections_of(worker, port) for worker in workers]
        finally:
            for writer in writers:
                writer.close()

    held = asyncio.run(hold_and_count())
    assert sum(held) == CONNECTIONS
    # Kernel hashing gives both a share; all on one would be a chance of 2 ** -31.
    assert min(held) > 0, held

    os.kill(workers[0], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        current = _children(process.pid)
        if len(current) == 2 and workers[0] not in current:
            break
        # Waiting for the supervisor (another process) to start a worker.
        time.sleep(0.1)
    replacement = set(_children(process.pid)) - set(workers)
    assert len(replacement) == 1
    wait_for_listeners(port, 2)
    assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    for worker in [workers[1], *replacement]:
        assert not Path(f"/proc/{worker}").exists() or _is_zombie(worker)


def _is_zombie(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text()
    return "\nState:\tZ" in status


def test_a_port_taken_by_another_program_is_refused_clearly(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        answer = subprocess.run(
            [REGISTRY, "serve", "--port", str(port), "--workers", "2"],
            env=registry_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert answer.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in answer.stderr
    assert "Traceback" not in answer.stderr
