"""Security headers on every response, chosen by what the response is.

Sent from a `before_send` hook so error answers (404 for unknown paths, 500s) carry
them as well. Pages get a strict Content-Security-Policy (W3C CSP Level 3): nothing
inline, scripts and styles only from this origin, no framing. Badge images and badge
JSON are meant to be embedded on vendors' own sites, so they carry no frame-ancestors
limit and allow cross-origin reads; their own CSP forbids any active content. The API
keeps `frame-ancestors 'none'`; its reference page (/api/docs) runs Swagger UI from
files this server serves, so its policy is as strict as the pages' (scripts, styles and
fetches from this origin only; `data:` images are Swagger UI's icons). A header a
handler set itself is never replaced.
When the registry is served over https (`REGISTRY_PUBLIC_BASE_URL`), every response
also carries Strict-Transport-Security (RFC 6797), so browsers never fall back to http.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final

from litestar.types import Message, Scope

PAGE_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
BADGE_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
API_CSP: Final = "default-src 'none'; frame-ancestors 'none'"
API_DOCS_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)

_COMMON: Final = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)
_PAGE: Final = (
    (b"content-security-policy", PAGE_CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
_BADGE: Final = (
    (b"content-security-policy", BADGE_CSP.encode()),
    (b"cross-origin-resource-policy", b"cross-origin"),
)
_API: Final = (
    (b"content-security-policy", API_CSP.encode()),
    (b"x-frame-options", b"DENY"),
)
_API_DOCS: Final = (
    (b"content-security-policy", API_DOCS_CSP.encode()),
    (b"x-frame-options", b"DENY"),
)


def headers_for(path: str) -> tuple[tuple[bytes, bytes], ...]:
    """The security headers a response to `path` carries."""
    if path.startswith("/badges/"):
        return _COMMON + _BADGE
    if path.startswith("/api/docs"):
        return _COMMON + _API_DOCS
    if path.startswith("/api/"):
        return _COMMON + _API
    return _COMMON + _PAGE


async def add_security_headers(message: Message, scope: Scope) -> None:
    """`before_send` hook: add the headers to the response start, keeping any already set."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers") or [])
    present = {name.lower() for name, _ in headers}
    headers.extend(item for item in headers_for(scope["path"]) if item[0] not in present)
    message["headers"] = headers


def hsts_hook(max_age: timedelta) -> Callable[[Message, Scope], Awaitable[None]]:
    """A `before_send` hook adding Strict-Transport-Security (RFC 6797 section 6.1)."""
    header = (b"strict-transport-security", f"max-age={int(max_age.total_seconds())}".encode())

    async def add_hsts(message: Message, _scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = list(message.get("headers") or [])
        if header[0] not in {name.lower() for name, _ in headers}:
            headers.append(header)
        message["headers"] = headers

    return add_hsts
