"""Which address a request is counted under, as `registry.client_address` reads it."""

from __future__ import annotations

import pytest

from registry.client_address import UNKNOWN_CLIENT, client_address, parse_networks

PROXIES = parse_networks(["10.0.0.0/8", "127.0.0.1", "2001:db8:ffff::/48"])


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        # Not from a proxy: headers are ignored.
        ("203.0.113.5", [("x-forwarded-for", "198.51.100.1")], "203.0.113.5"),
        ("203.0.113.5", [("forwarded", "for=198.51.100.1")], "203.0.113.5"),
        # From a proxy: the nearest hop that is no proxy.
        ("127.0.0.1", [("x-forwarded-for", "198.51.100.1")], "198.51.100.1"),
        ("127.0.0.1", [("x-forwarded-for", "203.0.113.9, 198.51.100.1, 10.2.3.4")], "198.51.100.1"),
        ("127.0.0.1", [("x-forwarded-for", "1.1.1.1"), ("x-forwarded-for", "10.0.0.2")], "1.1.1.1"),
        ("127.0.0.1", [("x-forwarded-for", "198.51.100.1:8443")], "198.51.100.1"),
        ("127.0.0.1", [("x-forwarded-for", "[2001:db8::1]:443")], "2001:db8::1"),
        ("127.0.0.1", [("x-forwarded-for", "2001:db8::1")], "2001:db8::1"),
        # Forwarded (RFC 7239) wins over X-Forwarded-For; quoted, ported, bracketed nodes.
        (
            "127.0.0.1",
            [("forwarded", 'for="[2001:db8::2]:4711";proto=https'), ("x-forwarded-for", "9.9.9.9")],
            "2001:db8::2",
        ),
        (
            "127.0.0.1",
            [("forwarded", "For=198.51.100.3, for=10.1.1.1;by=10.0.0.1")],
            "198.51.100.3",
        ),
        # Garbage or obfuscated hops stop at the proxy that reported them.
        ("127.0.0.1", [("x-forwarded-for", "not-an-ip")], "127.0.0.1"),
        ("127.0.0.1", [("x-forwarded-for", "198.51.100.1, garbage, 10.0.0.3")], "10.0.0.3"),
        ("127.0.0.1", [("forwarded", "for=_hidden")], "127.0.0.1"),
        ("127.0.0.1", [("forwarded", "proto=https")], "127.0.0.1"),
        # Every hop a proxy: the farthest one.
        ("127.0.0.1", [("x-forwarded-for", "10.0.0.9, 10.0.0.8")], "10.0.0.9"),
        ("127.0.0.1", [], "127.0.0.1"),
        (None, [("x-forwarded-for", "198.51.100.1")], UNKNOWN_CLIENT),
    ],
)
def test_client_address(peer: str | None, headers: list[tuple[str, str]], expected: str) -> None:
    raw = [(name.encode(), value.encode()) for name, value in headers]
    assert client_address(peer, raw, PROXIES) == expected


def test_no_proxy_configured_ignores_every_header() -> None:
    raw = [(b"x-forwarded-for", b"198.51.100.1"), (b"forwarded", b"for=198.51.100.2")]
    assert client_address("127.0.0.1", raw, ()) == "127.0.0.1"


def test_a_bad_proxy_setting_is_named() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.300'"):
        parse_networks(["10.0.0.0/8", "10.0.0.300"])
