"""Requests the registry makes to addresses that members give it, kept off the operator's
network.

Webhook endpoints and domain proofs are URLs chosen by vendors. Without care, a vendor
could aim them at the loopback interface, the cloud metadata service (169.254.169.254)
or private ranges, and read from the delivery log which internal ports are open: a
server-side request forgery. Every such request goes through this module:

1. `parse_target` reads the URL and its host. An IPv4 literal is read the way the C
   resolver reads it (`inet_aton`: 2130706433, 0x7f.1 and 017700000001 are all
   127.0.0.1), an IPv6 literal with its embedded IPv4 unwrapped (IPv4-mapped, NAT64,
   6to4); a name must end in a suffix of the Public Suffix List, so `localhost`,
   `metadata.google.internal` or `printer.lan` never qualify.
2. `resolve_public` asks the resolver at the moment of the request and refuses if ANY
   address is not globally routable (a name with one public and one private address
   could otherwise be steered to the private one).
3. `send` connects to the address it just vetted, with the original name as `Host` and
   TLS server name (so the certificate is still checked against the name), follows no
   redirect and ignores proxy variables. A name cannot be re-pointed between the check
   and the connection (DNS rebinding), because the connection never asks DNS again.

`outbound_allow_loopback` admits loopback addresses (and the name `localhost`), for
tests that run the receiving server on 127.0.0.1; nothing else private is ever admitted.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import certifi
import httpx
from publicsuffixlist import PSLFILE, PublicSuffixList

from registry.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Special-use names the Public Suffix List still lists (RFC 8375 home.arpa, RFC 7686 .onion).
_SPECIAL_USE_SUFFIXES = ("arpa", "onion")
LOOPBACK_NAME = "localhost"


class OutboundRefused(Exception):
    """The target is not a public https:// address the registry may contact.

    `reason` is for the person who registered the URL; deliveries do not show it.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unresolvable(OutboundRefused):
    """The name has no address right now (it may have one later)."""


@dataclass(frozen=True)
class Target:
    """A parsed outbound URL: its host is either an address or a checked name."""

    url: httpx.URL
    host: str
    """The host as written (lower case, no trailing dot), for `Host` and TLS."""
    address: IPAddress | None
    """Set when the URL names an address instead of a name."""


@cache
def _public_suffixes() -> PublicSuffixList:
    # The list ships inside the package (no download at run time); unknown TLDs are not
    # public suffixes, so a name under one is refused.
    return PublicSuffixList(accept_unknown=False)


def is_public_suffix(domain: str) -> bool:
    """True for a suffix under which the public registers names (`com.cn`, `github.io`),
    or a name under a TLD the list does not know: nobody can prove control of these."""
    return _public_suffixes().privatesuffix(domain) is None


def registrable_domain(domain: str) -> str | None:
    """The name a registrant holds for `domain` (the public suffix plus one label:
    `example.com.cn` for `shop.example.com.cn`), or None for a public suffix itself."""
    registrable: str | None = _public_suffixes().privatesuffix(domain)
    return registrable


@cache
def _names_with_rules_below() -> frozenset[str]:
    """Every name the Public Suffix List has a rule strictly below (`amazonaws.com` for
    `s3.amazonaws.com`, `kawasaki.jp` for `*.kawasaki.jp`), read from the list the
    package ships, in its own and in `xn--` spelling."""
    names: set[str] = set()
    for line in Path(PSLFILE).read_text(encoding="utf-8").splitlines():
        rule = line.split(" ", 1)[0].strip().lower()
        if not rule or rule.startswith("//"):
            continue
        wildcard = rule.startswith("*.")
        base = rule.removeprefix("!").removeprefix("*.")
        for spelling in {base, base.encode("idna").decode("ascii")}:
            labels = spelling.split(".")
            names.update(".".join(labels[i:]) for i in range(1, len(labels)))
            if wildcard:
                names.add(spelling)
    return frozenset(names)


def subdomains_share_registrable(domain: str) -> bool:
    """True when every name under `domain` has the registrable domain `domain` has: the
    domain is itself registrable (or below) and the list has no rule under it. Then a
    name under it needs no look-up of its own (the blacklist check's parent domains)."""
    return registrable_domain(domain) is not None and domain not in _names_with_rules_below()


def ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host spells in any notation the C resolver accepts, or None
    when the host is a name. A host whose last label is numeric but is no valid address
    is refused, as the WHATWG URL standard does (no TLD is numeric)."""
    last = host.rsplit(".", 1)[-1]
    if not _NUMERIC_LABEL.match(last):
        return None
    try:
        packed = socket.inet_aton(host)
    except OSError:
        raise OutboundRefused(f"{host!r} is neither an address nor a host name") from None
    return ipaddress.IPv4Address(packed)


def effective_address(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4), else itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def address_allowed(address: IPAddress, *, allow_loopback: bool) -> bool:
    """Only globally routable addresses; loopback too where the setting admits it."""
    inner = effective_address(address)
    return inner.is_global or (allow_loopback and inner.is_loopback)


def _check_name(host: str, *, allow_loopback: bool) -> None:
    if allow_loopback and host == LOOPBACK_NAME:
        return
    labels = host.split(".")
    if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise OutboundRefused(f"{host!r} is not a valid host name")
    suffix = _public_suffixes().publicsuffix(host)
    if suffix is None or labels[-1] in _SPECIAL_USE_SUFFIXES or suffix == host:
        raise OutboundRefused(
            f"{host!r} is not a public internet name; use a name under a public domain"
        )


def parse_target(url: str, settings: Settings, *, allow_http_loopback: bool = False) -> Target:
    """Check a URL before it is stored or used: https://, no credentials, a public host.

    `allow_http_loopback` admits http:// where loopback is admitted (local test servers).
    """
    parts = urlsplit(url)
    try:
        raw_host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        raise OutboundRefused("the URL's host or port is malformed") from None
    if not raw_host or parts.username is not None or parts.password is not None:
        raise OutboundRefused("give an absolute https:// URL without credentials")
    host = raw_host.lower().rstrip(".")
    allow_loopback = settings.outbound_allow_loopback
    address: IPAddress | None
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        address = ipv4_literal(host)
    if address is not None:
        if not address_allowed(address, allow_loopback=allow_loopback):
            raise OutboundRefused(f"{raw_host} is not a public internet address")
    else:
        _check_name(host, allow_loopback=allow_loopback)
    loopback = allow_loopback and (
        host == LOOPBACK_NAME or (address is not None and effective_address(address).is_loopback)
    )
    if parts.scheme != "https" and not (
        parts.scheme == "http" and allow_http_loopback and loopback
    ):
        raise OutboundRefused("the URL must use https://")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise OutboundRefused("the URL is malformed") from None
    if address is None and parsed.host.lower().rstrip(".") != host:
        # Both parsers must see the same host, or the check and the request could differ.
        raise OutboundRefused("the URL is malformed")
    return Target(parsed, host, address)


@dataclass(frozen=True)
class Destination:
    """Where a vetted request connects: the checked address, and the port."""

    address: IPAddress
    port: int


def _override(value: str) -> tuple[IPAddress, int | None]:
    """An `outbound_host_overrides` answer: `address` or `address:port` (`[v6]:port`)."""
    parts = urlsplit(f"//{value}")
    return ipaddress.ip_address(parts.hostname or ""), parts.port


async def _lookup(host: str, port: int) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    # getaddrinfo runs in the loop's thread pool, so a slow resolver blocks no other request.
    answers = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in answers:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


async def resolve_public(target: Target, settings: Settings) -> Destination:
    """Where to connect, resolved now; refused unless every address found is public."""
    port = target.url.port or (443 if target.url.scheme == "https" else 80)
    overrides = dict(settings.outbound_host_overrides)
    if target.address is not None:
        addresses = [target.address]
    elif target.host in overrides:
        # Tests only, like curl's --connect-to: the answer may name a port too.
        address, override_port = _override(overrides[target.host])
        addresses, port = [address], override_port or port
    else:
        try:
            addresses = await _lookup(target.host, port)
        except OSError as exc:
            raise Unresolvable(f"{target.host} does not resolve") from exc
    allow = settings.outbound_allow_loopback
    if not addresses or not all(address_allowed(a, allow_loopback=allow) for a in addresses):
        raise OutboundRefused(f"{target.host} resolves to an address that is not public")
    return Destination(addresses[0], port)


def tls_context(settings: Settings) -> ssl.SSLContext:
    """The public CA bundle, plus `outbound_ca_file` where set (a private CA, or a test's)."""
    context = ssl.create_default_context(cafile=certifi.where())
    if settings.outbound_ca_file:
        context.load_verify_locations(cafile=settings.outbound_ca_file)
    return context


def outbound_client(settings: Settings, timeout_seconds: float) -> httpx.AsyncClient:
    """A client for vetted targets: no redirects, no proxies from the environment.

    Use one client per target host: connections are pooled by address, and a pooled TLS
    connection carries the server name it was opened for.
    """
    return httpx.AsyncClient(
        verify=tls_context(settings),
        timeout=httpx.Timeout(timeout_seconds),
        follow_redirects=False,
        trust_env=False,
    )


async def send(
    client: httpx.AsyncClient,
    method: str,
    target: Target,
    settings: Settings,
    *,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    max_body_bytes: int = 65_536,
) -> tuple[httpx.Response, bytes]:
    """Resolve, vet and send one request to the vetted address; returns the response and
    at most `max_body_bytes` of its body. Raises OutboundRefused or httpx.HTTPError."""
    destination = await resolve_public(target, settings)
    request_headers = dict(headers or {})
    request_headers["Host"] = target.url.netloc.decode("ascii")
    extensions = {} if target.address is not None else {"sni_hostname": target.host}
    request = client.build_request(
        method,
        target.url.copy_with(host=str(destination.address), port=destination.port),
        content=content,
        headers=request_headers,
        extensions=extensions,
    )
    response = await client.send(request, stream=True)
    body = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) >= max_body_bytes:
                break
    finally:
        await response.aclose()
    return response, bytes(body[:max_body_bytes])
