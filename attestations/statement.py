"""in-toto Statement v1: what an attestation is about and which predicate it carries.

Follows in-toto/attestation spec/v1 (statement.md, resource_descriptor.md,
digest_set.md, field_types.md). Parsing is strict about the fields the registry relies
on and, per the spec's parsing rules, ignores fields it does not recognise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from attestations.canonical import canonicalize, parse_json
from attestations.envelope import PAYLOAD_TYPE_INTOTO, Envelope
from attestations.errors import CanonicalJSONError, StatementError

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
# digest_set.md: consumers MUST only accept algorithms they consider secure and MUST
# ignore the rest. Values are lowercase hex of the algorithm's full output length.
ACCEPTED_DIGESTS: Mapping[str, int] = {"sha256": 64, "sha512": 128}

_LOWER_HEX = re.compile(r"[0-9a-f]+")
# field_types.md, TypeURI: an RFC 3986 URI, case normalised (section 6.2.2.1), so the
# scheme and any authority are lowercase. Visible ASCII only, as RFC 3986 section 2.
_TYPE_URI = re.compile(r"[a-z][a-z0-9+.-]*:(?://(?P<authority>[^/?#]*))?[!-~]*")


@dataclass(frozen=True)
class Subject:
    """A statement subject (a ResourceDescriptor with `name` and `digest`).

    An empty `name` means unset, which the spec allows when the name is not meaningful.
    """

    name: str
    digest: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this subject; an unset name is omitted."""
        result: dict[str, Any] = {"digest": dict(self.digest)}
        if self.name:
            result["name"] = self.name
        return result

    def accepted_digests(self) -> dict[str, str]:
        """Only the digests of algorithms the registry accepts, the ones to match on."""
        return {alg: value for alg, value in self.digest.items() if alg in ACCEPTED_DIGESTS}


@dataclass(frozen=True)
class Statement:
    """An in-toto Statement v1; build one with `make_statement` or `parse_statement`."""

    subject: tuple[Subject, ...]
    predicate_type: str
    predicate: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The statement's JSON object (statement.md, Schema)."""
        return {
            "_type": STATEMENT_TYPE,
            "subject": [subject.to_dict() for subject in self.subject],
            "predicateType": self.predicate_type,
            "predicate": self.predicate,
        }

    def to_bytes(self) -> bytes:
        """RFC 8785 canonical bytes: the payload to put in a DSSE envelope."""
        try:
            return canonicalize(self.to_dict())
        except CanonicalJSONError as exc:
            raise StatementError(f"statement is not JSON-serialisable: {exc.reason}") from exc


def make_statement(
    subject: Sequence[Subject], predicate_type: str, predicate: Mapping[str, Any]
) -> Statement:
    """Build a statement and validate it with the same rules a consumer applies.

    Going through the canonical bytes also deep-copies `predicate` and proves it is JSON.
    """
    draft = Statement(tuple(subject), predicate_type, dict(predicate))
    return parse_statement(draft.to_bytes())


def parse_statement(payload: bytes) -> Statement:
    """Parse and validate a Statement v1; StatementError names the offending field."""
    try:
        obj = parse_json(payload)
    except CanonicalJSONError as exc:
        raise StatementError(f"statement is not valid JSON: {exc.reason}") from exc
    if not isinstance(obj, dict):
        raise StatementError("statement must be a JSON object")
    if obj.get("_type") != STATEMENT_TYPE:
        raise StatementError(f"'_type' must be {STATEMENT_TYPE!r}, got {obj.get('_type')!r}")
    return Statement(
        subject=_parse_subjects(obj.get("subject")),
        predicate_type=_parse_predicate_type(obj.get("predicateType")),
        predicate=_parse_predicate(obj.get("predicate", {})),
    )


def open_statement_envelope(envelope: Envelope) -> Statement:
    """Parse the statement inside an envelope, after checking its payloadType.

    Call this only after `verify_envelope`: the payloadType is signed, so checking it
    here stops a payload signed as another type being read as a statement.
    """
    if envelope.payload_type != PAYLOAD_TYPE_INTOTO:
        raise StatementError(
            f"envelope payloadType is {envelope.payload_type!r}; "
            f"an in-toto statement needs {PAYLOAD_TYPE_INTOTO!r}"
        )
    return parse_statement(envelope.payload)


def _parse_subjects(value: object) -> tuple[Subject, ...]:
    if value is None:
        raise StatementError("'subject' is required")
    if not isinstance(value, list):
        raise StatementError("'subject' must be an array of resource descriptors")
    if not value:
        raise StatementError("'subject' must list at least one artifact")
    return tuple(_parse_subject(item, f"subject[{index}]") for index, item in enumerate(value))


def _parse_subject(value: object, where: str) -> Subject:
    if not isinstance(value, dict):
        raise StatementError(f"'{where}' must be an object")
    name = value.get("name", "")
    if not isinstance(name, str):
        raise StatementError(f"'{where}.name' must be a string")
    # statement.md: "Each element MUST have `digest` set."
    if "digest" not in value:
        raise StatementError(f"'{where}.digest' is required")
    return Subject(name=name, digest=_parse_digest_set(value["digest"], f"{where}.digest"))


def _parse_digest_set(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise StatementError(f"'{where}' must be a non-empty object of algorithm to digest")
    for algorithm, digest in value.items():
        if not isinstance(digest, str):
            raise StatementError(f"'{where}.{algorithm}' must be a string")
        expected = ACCEPTED_DIGESTS.get(algorithm)
        if expected is not None and not _is_lower_hex(digest, expected):
            raise StatementError(
                f"'{where}.{algorithm}' must be {expected} lowercase hex characters"
            )
    if not any(algorithm in ACCEPTED_DIGESTS for algorithm in value):
        raise StatementError(
            f"'{where}' has no accepted algorithm; use one of {', '.join(ACCEPTED_DIGESTS)}"
        )
    return dict(value)


def _is_lower_hex(text: str, length: int) -> bool:
    return len(text) == length and _LOWER_HEX.fullmatch(text) is not None


def _parse_predicate_type(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise StatementError("'predicateType' must be a non-empty URI string")
    match = _TYPE_URI.fullmatch(value)
    if match is None or value.endswith(":"):
        raise StatementError(
            f"'predicateType' {value!r} is not a URI with a lowercase scheme (RFC 3986)"
        )
    authority = match.group("authority")
    if authority is not None and authority != authority.lower():
        raise StatementError(f"'predicateType' {value!r} must have a lowercase authority")
    return value


def _parse_predicate(value: object) -> dict[str, Any]:
    # statement.md: predicate is optional and "unset is treated the same as set-but-empty".
    if not isinstance(value, dict):
        raise StatementError("'predicate' must be a JSON object")
    return value
