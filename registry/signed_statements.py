"""Opening signed statements: the checks every signed submission shares.

Applications, key rotations, attestations and audits all arrive as DSSE envelopes
around in-toto statements with an `issued_at` in the predicate. This module turns the
library's errors into registry errors and applies the registry's clock rules once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from attestations.envelope import Envelope
from attestations.errors import AttestationError
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
