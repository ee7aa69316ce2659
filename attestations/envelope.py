"""DSSE v1 envelopes: the signed wrapper around every attestation and audit result.

Follows the DSSE protocol (secure-systems-lab/dsse, protocol.md v1.0.0) and its JSON
envelope (envelope.md). Signatures are Ed25519 over PAE(payloadType, payload) and every
signature names its key by the registry key id (hex SHA-256 of the raw public key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from attestations.canonical import PLAIN_STRING, canonicalize, parse_json
from attestations.errors import CanonicalJSONError, EnvelopeError, SignatureError
from attestations.keys import SIGNATURE_SIZE, PublicKey, SigningKey, b64encode

PAYLOAD_TYPE_INTOTO = "application/vnd.in-toto+json"
PAE_PREFIX = b"DSSEv1"

_ENVELOPE_FIELDS = frozenset({"payload", "payloadType", "signatures"})
_SIGNATURE_FIELDS = frozenset({"keyid", "sig"})
# RFC 4648 section 5 (URL-safe) alphabet, padded; the standard one (section 4) is checked
# by `binascii`'s strict mode. One string must use one alphabet: the reference decoder
# would accept a mix, which no encoder emits.
_B64_URLSAFE = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def pae(payload_type: str, payload: bytes) -> bytes:
    """Pre-Authentication Encoding, the exact bytes that are signed (protocol.md, PAE).

    LEN is the byte length of the UTF-8 type, so a non-ASCII type cannot shift the body.
    """
    type_bytes = payload_type.encode("utf-8")
    return b" ".join(
        (PAE_PREFIX, b"%d" % len(type_bytes), type_bytes, b"%d" % len(payload), payload)
    )


@dataclass(frozen=True)
class EnvelopeSignature:
    """One (keyid, sig) entry of an envelope's `signatures` list."""

    keyid: str
    sig: bytes

    def to_dict(self) -> dict[str, str]:
        """The JSON object of this signature, with `sig` in standard base64."""
        return {"keyid": self.keyid, "sig": b64encode(self.sig)}


@dataclass(frozen=True)
class Envelope:
    """A DSSE JSON envelope; construction enforces every structural rule below.

    Checked here rather than only in `from_dict`, so an `Envelope` in hand is always
    one the registry would accept on the wire.
    """

    payload_type: str
    payload: bytes
    signatures: tuple[EnvelopeSignature, ...]

    def __post_init__(self) -> None:
        _check_payload_type(self.payload_type)
        if not self.payload:
            raise EnvelopeError("envelope payload is empty: there is nothing signed")
        _check_signatures(self.signatures)

    @property
    def keyids(self) -> tuple[str, ...]:
        """The key ids of the signatures, in envelope order."""
        return tuple(signature.keyid for signature in self.signatures)

    def to_dict(self) -> dict[str, Any]:
        """The JSON envelope (envelope.md), binary fields in standard base64."""
        return {
            "payload": b64encode(self.payload),
            "payloadType": self.payload_type,
            "signatures": [signature.to_dict() for signature in self.signatures],
        }

    def to_json(self) -> bytes:
        """RFC 8785 canonical bytes of `to_dict()`.

        Written directly when every string is printable ASCII without quote or
        backslash, which RFC 8785 emits as is (base64 and hex always are); the member
        order is fixed by the names. Any other string goes through `canonicalize`.
        Every envelope the registry receives is serialised this way, so it matters.
        """
        if PLAIN_STRING.fullmatch(self.payload_type) and all(
            PLAIN_STRING.fullmatch(signature.keyid) for signature in self.signatures
        ):
            signatures = b",".join(
                b'{"keyid":"%s","sig":"%s"}' % (s.keyid.encode(), base64.b64encode(s.sig))
                for s in self.signatures
            )
            return b'{"payload":"%s","payloadType":"%s","signatures":[%s]}' % (
                base64.b64encode(self.payload),
                self.payload_type.encode(),
                signatures,
            )
        return canonicalize(self.to_dict())

    def digest(self) -> str:
        """Hex SHA-256 of the canonical JSON: the registry's idempotency key.

        Base64 is re-encoded in the standard alphabet first, so the same signed content
        sent as URL-safe base64 or with reordered members has the same digest.
        """
        return hashlib.sha256(self.to_json()).hexdigest()

    @classmethod
    def from_dict(cls, obj: object) -> Envelope:
        """Validate a decoded JSON value as a DSSE envelope; EnvelopeError says what is wrong."""
        if not isinstance(obj, dict):
            raise EnvelopeError(f"envelope must be a JSON object, got {_json_kind(obj)}")
        _check_fields(obj, _ENVELOPE_FIELDS, "envelope")
        payload_type = _required_string(obj, "payloadType", "envelope")
        payload = _decode_base64(_required_string(obj, "payload", "envelope"), "payload")
        raw_signatures = obj.get("signatures")
        if raw_signatures is None:
            raise EnvelopeError("envelope has no 'signatures' field")
        if not isinstance(raw_signatures, list):
            raise EnvelopeError(
                f"envelope 'signatures' must be an array, got {_json_kind(raw_signatures)}"
            )
        signatures = tuple(
            _signature_from_dict(item, index) for index, item in enumerate(raw_signatures)
        )
        return cls(payload_type=payload_type, payload=payload, signatures=signatures)

    @classmethod
    def from_json(cls, data: bytes) -> Envelope:
        """Parse envelope JSON strictly (no duplicate keys, no NaN) and validate it."""
        try:
            obj = parse_json(data)
        except CanonicalJSONError as exc:
            raise EnvelopeError(f"envelope is not valid JSON: {exc.reason}") from exc
        return cls.from_dict(obj)


def sign_envelope(
    payload: bytes, keys: Sequence[SigningKey], payload_type: str = PAYLOAD_TYPE_INTOTO
) -> Envelope:
    """Sign PAE(payload_type, payload) once per key (protocol.md, "To sign")."""
    if not keys:
        raise EnvelopeError("at least one signing key is needed to sign an envelope")
    message = pae(payload_type, payload)
    signatures = tuple(EnvelopeSignature(key.key_id, key.sign(message)) for key in keys)
    return Envelope(payload_type=payload_type, payload=payload, signatures=signatures)


def verify_envelope(
    envelope: Envelope,
    trusted: Mapping[str, PublicKey],
    *,
    require: Collection[str] | None = None,
) -> tuple[str, ...]:
    """Verify the signatures by trusted keys and return their key ids, in envelope order.

    The keyid only selects the key to try (protocol.md, KEYID): the decision is the
    signature verifying under the trusted key. Signatures by unknown keys are skipped,
    as multi-signature verification allows, but a failing signature by a trusted key
    rejects the envelope: it means tampering, never a harmless extra.
    """
    message = pae(envelope.payload_type, envelope.payload)
    verified: list[str] = []
    for signature in envelope.signatures:
        key = trusted.get(signature.keyid)
        if key is None:
            continue
        _check_trusted_entry(signature.keyid, key)
        try:
            key.verify(message, signature.sig)
        except SignatureError as exc:
            raise EnvelopeError(
                f"signature by key {signature.keyid} does not verify over this payload and "
                f"payloadType ({exc.reason})"
            ) from exc
        verified.append(signature.keyid)
    if not verified:
        raise EnvelopeError(
            "envelope is not signed by any key the registry knows: keyids "
            + ", ".join(envelope.keyids)
        )
    missing = sorted(set(require or ()) - set(verified))
    if missing:
        raise EnvelopeError(
            "envelope lacks a valid signature by required key(s): " + ", ".join(missing)
        )
    return tuple(verified)


def _check_trusted_entry(keyid: str, key: PublicKey) -> None:
    # A mapping entry filed under another key's id would let one key vouch as another.
    if key.key_id != keyid:
        raise ValueError(f"trusted key map files key {key.key_id} under keyid {keyid}")


def _check_payload_type(payload_type: str) -> None:
    if not payload_type:
        raise EnvelopeError("envelope 'payloadType' is empty; DSSE requires a payload type")


def _check_signatures(signatures: tuple[EnvelopeSignature, ...]) -> None:
    if not signatures:
        raise EnvelopeError("envelope has no signatures")
    seen: set[str] = set()
    for index, signature in enumerate(signatures):
        if not signature.keyid:
            raise EnvelopeError(
                f"signatures[{index}] has an empty 'keyid'; the registry needs it to find the key"
            )
        if signature.keyid in seen:
            raise EnvelopeError(f"signatures[{index}] repeats keyid {signature.keyid}")
        seen.add(signature.keyid)
        if len(signature.sig) != SIGNATURE_SIZE:
            raise EnvelopeError(
                f"signatures[{index}] 'sig' is {len(signature.sig)} bytes; "
                f"an Ed25519 signature is {SIGNATURE_SIZE}"
            )


def _signature_from_dict(item: object, index: int) -> EnvelopeSignature:
    where = f"signatures[{index}]"
    if not isinstance(item, dict):
        raise EnvelopeError(f"{where} must be a JSON object, got {_json_kind(item)}")
    _check_fields(item, _SIGNATURE_FIELDS, where)
    keyid = _required_string(item, "keyid", where)
    sig = _decode_base64(_required_string(item, "sig", where), f"{where} 'sig'")
    return EnvelopeSignature(keyid=keyid, sig=sig)


def _check_fields(obj: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    # Unknown members would be dropped by `to_dict`, so the digest would not cover them.
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise EnvelopeError(f"{where} has unknown field(s): {', '.join(unknown)}")


def _required_string(obj: dict[str, Any], name: str, where: str) -> str:
    if name not in obj:
        raise EnvelopeError(f"{where} has no '{name}' field")
    value = obj[name]
    if not isinstance(value, str):
        raise EnvelopeError(f"{where} '{name}' must be a string, got {_json_kind(value)}")
    return value


def _decode_base64(text: str, what: str) -> bytes:
    """Decode padded standard or URL-safe base64; DSSE verifiers MUST accept either."""
    if len(text) % 4 == 0 and not text.endswith("==="):
        try:
            # Strict mode admits only the standard alphabet with padding at the end only,
            # in C: a regex over the payload first cost as much as the decoding.
            return binascii.a2b_base64(text, strict_mode=True)
        except (binascii.Error, ValueError):
            pass
        if _B64_URLSAFE.fullmatch(text):
            return base64.urlsafe_b64decode(text)
    raise EnvelopeError(f"{what} is not valid base64 (standard or URL-safe, padded)")


def _json_kind(value: object) -> str:
    kinds: tuple[tuple[type, str], ...] = (
        (bool, "a boolean"),
        (int, "a number"),
        (float, "a number"),
        (str, "a string"),
        (list, "an array"),
        (dict, "an object"),
    )
    if value is None:
        return "null"
    for kind, name in kinds:
        if isinstance(value, kind):
            return name
    return type(value).__name__
