"""Fixtures of the browser tests: the demo federation served by `registry serve`, and a
headless chromium. Each test module gets its own server and data directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.demo_site import CHROMIUM, CHROMIUM_ARGS, get

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`registry demo` then `registry serve` in a scratch directory; yields the base URL."""
    data_dir = tmp_path_factory.mktemp("browser-site")
    env = {**os.environ, "REGISTRY_DATA_DIR": str(data_dir), "REGISTRY_SCHEDULER": "0"}
    registry = str(Path(sys.executable).with_name("registry"))
    subprocess.run([registry, "demo"], env=env, check=True, stdout=subprocess.DEVNULL)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [registry, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                get(f"{base}/readyz")
                break
            except OSError:
                assert server.poll() is None, "registry serve exited"
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian chromium; Playwright's own browser downloads are never used."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
