"""Wire shapes shared by several areas: DSSE envelopes, pages, plain messages."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException

from attestations.canonical import parse_json
from attestations.envelope import Envelope
from attestations.errors import AttestationError
from registry.signed_statements import envelope_from_json


class EnvelopeSignatureIn(msgspec.Struct, forbid_unknown_fields=True):
    """One DSSE signature: the key id and the base64 Ed25519 signature over PAE."""

    keyid: str
    sig: str


class EnvelopeIn(msgspec.Struct, forbid_unknown_fields=True):
    """A DSSE envelope (https://github.com/secure-systems-lab/dsse/blob/master/envelope.md)."""

    payload: str
    payloadType: str  # noqa: N815 - the DSSE field name
    signatures: list[EnvelopeSignatureIn]

    def to_envelope(self) -> Envelope:
        """Parse into the library type, with the library's precise error messages."""
        return envelope_from_json(msgspec.to_builtins(self))


async def strict_json_body(request: Request[Any, Any, Any]) -> None:
    """`before_request` of every route that takes signed envelopes: refuse duplicate keys
    and NaN, as `Envelope.from_json` does. msgspec keeps the last of two equal keys, so a
    body could show one value to a reviewer and another to the registry."""
    try:
        parse_json(await request.body())
    except AttestationError as exc:
        raise ValidationException(
            detail=exc.reason, extra=[{"key": "body", "message": exc.reason}]
        ) from exc


class PageOut(msgspec.Struct):
    """Where a page sits in the full result."""

    page: int
    page_size: int
    total: int


def page_out(page: int, page_size: int, total: int) -> PageOut:
    """The page metadata of a list response."""
    return PageOut(page=page, page_size=page_size, total=total)
