"""Wire shapes shared by several areas: DSSE envelopes, pages, plain messages."""

from __future__ import annotations

import msgspec

from attestations.envelope import Envelope
from registry.signed_statements import envelope_from_json


class EnvelopeSignatureIn(msgspec.Struct):
    """One DSSE signature: the key id and the base64 Ed25519 signature over PAE."""

    keyid: str
    sig: str


class EnvelopeIn(msgspec.Struct):
    """A DSSE envelope (https://github.com/secure-systems-lab/dsse/blob/master/envelope.md)."""

    payload: str
    payloadType: str  # noqa: N815 - the DSSE field name
    signatures: list[EnvelopeSignatureIn]

    def to_envelope(self) -> Envelope:
        """Parse into the library type, with the library's precise error messages."""
        return envelope_from_json(msgspec.to_builtins(self))


class PageOut(msgspec.Struct):
    """Where a page sits in the full result."""

    page: int
    page_size: int
    total: int


def page_out(page: int, page_size: int, total: int) -> PageOut:
    """The page metadata of a list response."""
    return PageOut(page=page, page_size=page_size, total=total)
