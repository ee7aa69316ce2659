"""Per-client limits key on the connecting address unless a configured proxy says more.

Against a real `registry serve` (on each database): from a peer that is not a configured
proxy, `X-Forwarded-For` and `Forwarded` change nothing, so they cannot start a fresh
per-IP limit; from the configured proxy, its headers name the client, and an address the
client wrote in front of the proxy's own is ignored.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from itertools import count
from typing import Any

import httpx
import pytest

from bench.serving import REGISTRY, free_port, registry_env, wait_until_ready
from tests import conftest
from tests.integration.test_complaints_api import complaint_body

IP_LIMIT = 2
_phones = count(13900000001)


PROXY = "127.0.0.2"
"""The loopback address the test's "proxy" connects from; plain clients use 127.0.0.1."""


@pytest.fixture
def registry(test_database: conftest.TestDatabase) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """`registry serve` on the test's database trusting `PROXY` and 10.0.0.0/8, with a
    client connecting directly and one connecting from the proxy's address."""
    settings = test_database.settings
    port = free_port()
    environment = {
        **registry_env(settings.data_dir),
        "REGISTRY_DATABASE_URL": settings.database_url,
        "REGISTRY_COMPLAINT_IP_LIMIT": str(IP_LIMIT),
        "REGISTRY_TRUSTED_PROXIES": f"10.0.0.0/8, {PROXY}",
    }
    process = subprocess.Popen(
        [REGISTRY, "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base_url, process)
        proxy = httpx.HTTPTransport(local_address=PROXY)
        with (
            httpx.Client(base_url=base_url, timeout=30) as direct,
            httpx.Client(base_url=base_url, timeout=30, transport=proxy) as proxied,
        ):
            yield direct, proxied
    finally:
        process.terminate()
        process.wait(timeout=30)


def file(client: httpx.Client, headers: dict[str, str] | None = None) -> httpx.Response:
    """File a complaint about an unregistered shop from a new contact."""
    body: dict[str, Any] = complaint_body(
        "",
        subject_kind="domain",
        subject_value="shady-shop.example.com",
        contact_phone=str(next(_phones)),
    )
    return client.post("/api/v1/complaints/", json=body, headers=headers)


def test_only_a_trusted_proxy_names_the_client(
    registry: tuple[httpx.Client, httpx.Client],
) -> None:
    direct, proxied = registry
    # From a peer that is no proxy, forwarding headers change nothing: they cannot start
    # a fresh per-IP limit.
    for _ in range(IP_LIMIT):
        assert file(direct).status_code == 201
    for n, headers in enumerate(
        [
            {"X-Forwarded-For": "198.51.100.1"},
            {"X-Forwarded-For": "198.51.100.2, 198.51.100.3"},
            {"Forwarded": "for=198.51.100.4"},
            {"Forwarded": 'for="[2001:db8::5]:4711"', "X-Forwarded-For": "198.51.100.5"},
        ]
    ):
        limited = file(direct, headers)
        assert limited.status_code == 429, (n, limited.text)
        assert limited.headers["content-type"].startswith("application/problem+json")

    # The proxy appends the address it saw; whatever the
    # client sent in front of it is not trusted, nor is a hop of another proxy skipped.
    alice = {"X-Forwarded-For": "198.51.100.7, 10.1.2.3"}
    for _ in range(IP_LIMIT):
        assert file(proxied, alice).status_code == 201
    spoofed = {"X-Forwarded-For": "203.0.113.99, 198.51.100.7, 10.1.2.3"}
    assert file(proxied, spoofed).status_code == 429
    as_forwarded = {"Forwarded": 'for=203.0.113.98, for="198.51.100.7:5512";proto=https'}
    assert file(proxied, as_forwarded).status_code == 429
    # Another client behind the same proxy has its own limit, named either way.
    assert file(proxied, {"Forwarded": 'for="[2001:db8::8]:4711"'}).status_code == 201
    assert file(proxied, {"X-Forwarded-For": "2001:db8::8"}).status_code == 201
    assert file(proxied, {"X-Forwarded-For": "2001:db8::8"}).status_code == 429
    # Garbage in the hop a client controls falls back to the proxy that reported it.
    for _ in range(IP_LIMIT):
        assert file(proxied, {"X-Forwarded-For": "not-an-address"}).status_code == 201
    assert file(proxied, {"X-Forwarded-For": "unknown"}).status_code == 429
    assert file(proxied).status_code == 429
    # The direct client's limit was never touched by any of these.
    assert file(direct).status_code == 429
