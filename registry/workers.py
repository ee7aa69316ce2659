"""Several server processes on one port, each accepting on a listening socket of its own.

uvicorn's `--workers` share one listening socket, and the worker that wakes first
accepts every connection waiting: keep-alive clients that connect together all land on
one worker while the other cores idle (the attestation bench saw 31 of 32 connections
on one worker, half the machine unused). Here each worker binds its own socket with
SO_REUSEPORT and the kernel spreads new connections over them evenly. The supervisor
replaces a worker that dies and stops them all on SIGINT or SIGTERM.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import sys
import time
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

logger = logging.getLogger(__name__)

_SPAWN = multiprocessing.get_context("spawn")
_POLL_SECONDS = 0.5
_STOP_SECONDS = 30.0


def reuse_port_available() -> bool:
    """SO_REUSEPORT spreads connections over sockets on Linux; elsewhere it may not."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) that other such sockets may share."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _worker(config: dict[str, Any]) -> None:
    """One server process: its own listening socket, then uvicorn until told to stop."""
    settings = uvicorn.Config(**config)
    sock = reuse_port_socket(settings.host, settings.port)
    uvicorn.Server(settings).run(sockets=[sock])


def serve_workers(workers: int, **config: Any) -> int:
    """Run `workers` uvicorn processes with `uvicorn.Config(**config)`; the exit status.

    The port is claimed here first (a bound socket that never listens, so it takes no
    connections): a port already taken by another program fails at once and clearly.
    """
    claim = reuse_port_socket(config["host"], config["port"])
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes = [_start(config) for _ in range(workers)]
    status = 0
    try:
        while not stopping:
            for slot, process in enumerate(processes):
                if process.is_alive():
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    logger.error("a worker could not start; stopping")
                    status = STARTUP_FAILURE
                    stopping = True
                    break
                logger.warning(
                    "worker %s exited with %s; starting another", process.pid, process.exitcode
                )
                processes[slot] = _start(config)
            time.sleep(_POLL_SECONDS)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + _STOP_SECONDS
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        claim.close()
    return status


def _start(config: dict[str, Any]) -> multiprocessing.process.BaseProcess:
    process = _SPAWN.Process(target=_worker, args=(config,), name="registry-worker")
    process.start()
    return process
