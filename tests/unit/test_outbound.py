"""How outbound targets are read: every IPv4 notation the C resolver accepts, IPv4 inside
IPv6, and names that only a public suffix makes public."""

from __future__ import annotations

import ipaddress

import pytest

from registry.outbound import (
    OutboundRefused,
    address_allowed,
    ipv4_literal,
    is_public_suffix,
    parse_target,
)
from registry.settings import Settings

LOOPBACK = ipaddress.IPv4Address("127.0.0.1")


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", LOOPBACK),
        ("0x7f000001", LOOPBACK),
        ("0x7f.1", LOOPBACK),
        ("017700000001", LOOPBACK),
        ("0177.0.0.1", LOOPBACK),
        ("127.1", LOOPBACK),
        ("0", ipaddress.IPv4Address("0.0.0.0")),  # noqa: S104 - a value under test
        ("hooks.acme.com.cn", None),
    ],
)
def test_ipv4_in_any_notation_is_read_as_the_resolver_reads_it(
    host: str, address: ipaddress.IPv4Address | None
) -> None:
    assert ipv4_literal(host) == address


def test_a_numeric_last_label_that_is_no_address_is_refused() -> None:
    with pytest.raises(OutboundRefused):
        ipv4_literal("1.2.3.4.5")


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("::ffff:8.8.8.8", True),
        ("::ffff:127.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("64:ff9b::a00:1", False),
        ("2002:c0a8:101::", False),
        ("100.64.0.1", False),
        ("fc00::1", False),
    ],
)
def test_only_global_addresses_pass(address: str, allowed: bool) -> None:
    assert address_allowed(ipaddress.ip_address(address), allow_loopback=False) is allowed


def test_the_loopback_setting_admits_loopback_only() -> None:
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.2"):
        assert address_allowed(ipaddress.ip_address(address), allow_loopback=True)
    for address in ("10.0.0.1", "169.254.169.254", "0.0.0.0"):  # noqa: S104
        assert not address_allowed(ipaddress.ip_address(address), allow_loopback=True)
    tests = Settings(outbound_allow_loopback=True)
    assert parse_target("http://127.0.0.1:9/x", tests, allow_http_loopback=True).address
    with pytest.raises(OutboundRefused, match="https"):
        parse_target("http://hooks.acme.com.cn/x", tests, allow_http_loopback=True)


@pytest.mark.parametrize(
    ("domain", "public"),
    [
        ("com.cn", True),
        ("github.io", True),
        ("cn", True),
        ("some-retailer.com.cn", False),
        ("shop.some-retailer.com.cn", False),
        ("acme.github.io", False),
    ],
)
def test_public_suffixes_come_from_the_shipped_list(domain: str, public: bool) -> None:
    assert is_public_suffix(domain) is public
