"""Whose request it is: the peer's address, or what trusted proxies say the client was.

Every per-client limit (complaint filing, applications, login challenges) keys on the
address this resolves, once per request, before any handler runs. `X-Forwarded-For` and
`Forwarded` (RFC 7239) are only read when the peer is a configured proxy
(`Settings.trusted_proxies`, none by default): anyone else could write any address there
and start a fresh limit with each request. Behind proxies, the hops are read from the
nearest outward and the first one that is not itself a trusted proxy is the client, so an
address a client prepends is never reached (RFC 7239 §7.4 warns of exactly that).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # settings import this module; only the middleware speaks ASGI
    from litestar.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

UNKNOWN_CLIENT = "unknown"
"""The address of a request whose peer the server did not report (a Unix socket)."""


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses and CIDR blocks (`10.0.0.0/8`, `::1`); ValueError names a bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not an IP address or CIDR block") from exc
    return tuple(networks)


def client_address(
    peer: str | None, headers: Iterable[tuple[bytes, bytes]], trusted: Sequence[Network]
) -> str:
    """The client's address as far as it can be trusted.

    The peer itself unless it is a trusted proxy; then each hop the proxies reported,
    nearest first, until one is not a trusted proxy. A hop that is no address (obfuscated,
    `unknown`, garbage) stops the walk at the proxy that reported it, so that a client
    cannot pick a new bucket with every request.
    """
    if peer is None:
        return UNKNOWN_CLIENT
    if not _is_trusted(peer, trusted):
        return peer
    current = peer
    for hop in reversed(_reported_hops(headers)):
        if hop is None:
            return current
        current = hop
        if not _is_trusted(hop, trusted):
            return hop
    return current


class ClientAddressMiddleware:
    """Sets the ASGI scope's client to `client_address`, for every handler after it."""

    def __init__(self, app: ASGIApp, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Resolve the address, then hand the request on."""
        # Litestar runs its middleware for HTTP and WebSocket scopes only.
        client = scope["client"]
        peer = client[0] if client else None
        resolved = client_address(peer, scope["headers"], self.trusted)
        if resolved != peer:
            scope["client"] = (resolved, 0)
        await self.app(scope, receive, send)


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def _reported_hops(headers: Iterable[tuple[bytes, bytes]]) -> list[str | None]:
    """The client-side-first chain of `Forwarded` `for=` values, else of `X-Forwarded-For`.

    Several header lines count as one list in order (RFC 9110 §5.3).
    """
    forwarded: list[str] = []
    x_forwarded_for: list[str] = []
    for name, value in headers:
        if name == b"forwarded":
            forwarded.append(value.decode("latin-1"))
        elif name == b"x-forwarded-for":
            x_forwarded_for.append(value.decode("latin-1"))
    if forwarded:
        return [_forwarded_for(element) for element in ",".join(forwarded).split(",")]
    return [_address(item.strip()) for item in ",".join(x_forwarded_for).split(",")]


def _forwarded_for(element: str) -> str | None:
    """The `for=` node of one RFC 7239 forwarded-element, or None."""
    for pair in element.split(";"):
        name, _, value = pair.strip().partition("=")
        if name.strip().lower() == "for":
            return _address(value.strip().strip('"'))
    return None


def _address(node: str) -> str | None:
    """The IP of a node (`192.0.2.1`, `192.0.2.1:80`, `[2001:db8::1]:443`, `2001:db8::1`)."""
    if node.startswith("["):
        node = node[1 : node.find("]")] if "]" in node else ""
    elif node.count(":") == 1:
        node = node.partition(":")[0]
    try:
        return str(ipaddress.ip_address(node))
    except ValueError:
        return None
