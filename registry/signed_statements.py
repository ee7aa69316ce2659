"""Opening signed statements: the checks every signed submission shares.

Applications, key rotations, attestations and audits all arrive as DSSE envelopes
around in-toto statements with an `issued_at` in the predicate. This module turns the
library's errors into registry errors and applies the registry's clock rules once.

The registry's own signed publications (the monthly report snapshots, the blacklist
snapshots) go the other way: `sign_by_federation` signs a statement with the federation
key, and `open_by_federation` verifies one offline against the federation's public key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from attestations.canonical import canonicalize, parse_json
from attestations.envelope import Envelope, sign_envelope, verify_envelope
from attestations.errors import AttestationError
from attestations.keys import PublicKey, SigningKey
from attestations.statement import Statement, open_statement_envelope
from registry.errors import InvalidInput, InvalidSignature
from registry.kernel.clock import parse_iso
from registry.settings import Settings


def envelope_from_json(data: Mapping[str, Any]) -> Envelope:
    """Parse a DSSE envelope given as a JSON object, as an InvalidInput on failure."""
    try:
        return Envelope.from_dict(dict(data))
    except AttestationError as exc:
        raise InvalidInput(f"envelope: {exc.reason}", fields={"envelope": exc.reason}) from exc


def open_statement(envelope: Envelope, predicate_type: str) -> Statement:
    """The in-toto statement inside `envelope`, which must carry `predicate_type`."""
    try:
        statement = open_statement_envelope(envelope)
    except AttestationError as exc:
        raise InvalidInput(f"statement: {exc.reason}") from exc
    if statement.predicate_type != predicate_type:
        raise InvalidInput(
            f"predicateType must be {predicate_type!r} here, not {statement.predicate_type!r}",
            fields={"predicateType": "unexpected predicate type"},
        )
    return statement


T = TypeVar("T")


def decode_predicate(statement: Statement, schema: type[T]) -> T:
    """Validate the predicate against a msgspec schema, naming the first offending field."""
    try:
        return msgspec.convert(statement.predicate, schema, strict=True)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"predicate: {exc}") from exc


def check_issued_at(issued_at: str, now: datetime, settings: Settings) -> datetime:
    """Refuse statements dated too far in the future or too long ago (replays, stale)."""
    try:
        moment = parse_iso(issued_at)
    except ValueError as exc:
        raise InvalidInput(
            "predicate.issued_at must be an ISO 8601 time with a zone, e.g. 2026-01-31T08:00:00Z",
            fields={"issued_at": "not an ISO 8601 time with zone"},
        ) from exc
    if moment > now + settings.signature_clock_skew:
        raise InvalidInput(
            f"predicate.issued_at lies in the future beyond the allowed clock skew of "
            f"{settings.signature_clock_skew}",
            fields={"issued_at": "in the future"},
        )
    if moment < now - settings.statement_max_age:
        raise InvalidInput(
            f"predicate.issued_at is older than {settings.statement_max_age.days} days; "
            "sign a fresh statement",
            fields={"issued_at": "too old"},
        )
    return moment


def signature_error(exc: AttestationError) -> InvalidSignature:
    """Wrap a library verification failure."""
    return InvalidSignature(exc.reason)


class SnapshotInvalid(Exception):
    """A federation-signed document that does not verify; `reason` says what failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FederationSigned:
    """A statement signed by the federation key, in the forms it is stored and logged."""

    envelope: Envelope
    envelope_bytes: bytes
    """RFC 8785 JSON of the DSSE envelope: the exact bytes served and stored."""

    @property
    def envelope_digest(self) -> str:
        """Hex SHA-256 of `envelope_bytes`."""
        return hashlib.sha256(self.envelope_bytes).hexdigest()

    @property
    def payload_digest(self) -> str:
        """Hex SHA-256 of the signed payload bytes (independent of the envelope's layout)."""
        return hashlib.sha256(self.envelope.payload).hexdigest()

    def log_body(self) -> dict[str, Any]:
        """The transparency-log leaf body: the whole envelope, so the signed bytes survive."""
        return {"envelope": self.envelope.to_dict()}


def sign_by_federation(
    statement: Mapping[str, Any], key: SigningKey, payload_type: str
) -> FederationSigned:
    """Sign the RFC 8785 form of `statement` as a DSSE envelope of `payload_type`."""
    envelope = sign_envelope(canonicalize(dict(statement)), [key], payload_type)
    return FederationSigned(envelope, canonicalize(envelope.to_dict()))


def open_by_federation(
    envelope_json: Any, public_key: PublicKey, payload_type: str, what: str
) -> tuple[Envelope, dict[str, Any]]:
    """Verify a DSSE envelope (a parsed JSON object) signed by the federation key and
    return it with its parsed payload; SnapshotInvalid names what failed. `what` names
    the document in messages ("report snapshot")."""
    try:
        envelope = Envelope.from_dict(envelope_json)
    except (AttestationError, KeyError, TypeError, AttributeError) as exc:
        reason = exc.reason if isinstance(exc, AttestationError) else str(exc)
        raise SnapshotInvalid(f"not a {what}: {reason}") from exc
    if envelope.payload_type != payload_type:
        raise SnapshotInvalid(
            f"payloadType is {envelope.payload_type!r}, not {payload_type!r} (a {what})"
        )
    try:
        verify_envelope(envelope, {public_key.key_id: public_key})
        statement = parse_json(envelope.payload)
    except AttestationError as exc:
        raise SnapshotInvalid(exc.reason) from exc
    if not isinstance(statement, dict):
        raise SnapshotInvalid(f"the signed payload of the {what} is not a JSON object")
    return envelope, statement
