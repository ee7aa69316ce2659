"""Fixtures of the browser tests: the demo federation served by `registry serve`, and a
headless chromium. Each test module gets its own server and its own copy of the demo data
(`demo_data` in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bench.serving import registry_server
from tests.browser.demo_site import CHROMIUM, CHROMIUM_ARGS

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(scope="module")
def site_data(tmp_path_factory: pytest.TempPathFactory, demo_data: Callable[[Path], Path]) -> Path:
    """The data directory of the module's demo site (for CLI commands beside the server):
    the module's own copy of the demo federation."""
    return demo_data(tmp_path_factory.mktemp("browser-site"))


@pytest.fixture(scope="module")
def site(site_data: Path) -> Iterator[str]:
    """`registry serve` on the module's demo data; yields the base URL."""
    with registry_server(site_data) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian chromium; Playwright's own browser downloads are never used."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
