"""in-toto Statement v1: building, parsing, and one diagnostic per invalid field."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest

from attestations.envelope import sign_envelope
from attestations.errors import StatementError
from attestations.keys import SigningKey
from attestations.statement import (
    STATEMENT_TYPE,
    Statement,
    Subject,
    make_statement,
    open_statement_envelope,
    parse_statement,
)

SHA256 = hashlib.sha256(b"artifact").hexdigest()
SHA512 = hashlib.sha512(b"artifact").hexdigest()
PREDICATE_TYPE = "https://trust-registry.example/attestation/v1"
MISSING = object()  # a parametrized value meaning "remove this field"


def _valid() -> dict[str, Any]:
    """A valid statement object, fresh for each test to mutate."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": "vendor-app", "digest": {"sha256": SHA256}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"scheme": "default", "claims": [{"id": "C1", "met": True}]},
    }


def _bytes(obj: object) -> bytes:
    """JSON bytes of `obj`, not canonical on purpose: parsing must not need that."""
    return json.dumps(obj, indent=1).encode()


def test_make_statement_round_trips_through_canonical_bytes() -> None:
    """parse_statement(to_bytes()) gives back the same statement."""
    statement = make_statement(
        [Subject("vendor-app", {"sha256": SHA256})], PREDICATE_TYPE, {"period": "2025-Q1"}
    )
    assert parse_statement(statement.to_bytes()) == statement
    assert statement.to_dict() == {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": "vendor-app", "digest": {"sha256": SHA256}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"period": "2025-Q1"},
    }


def test_to_bytes_is_canonical() -> None:
    """RFC 8785: members sorted, no whitespace."""
    statement = make_statement([Subject("a", {"sha256": SHA256})], PREDICATE_TYPE, {"b": 1, "a": 2})
    assert statement.to_bytes() == (
        b'{"_type":"https://in-toto.io/Statement/v1","predicate":{"a":2,"b":1},'
        b'"predicateType":"https://trust-registry.example/attestation/v1",'
        b'"subject":[{"digest":{"sha256":"' + SHA256.encode() + b'"},"name":"a"}]}'
    )


def test_make_statement_copies_the_predicate() -> None:
    """Later changes to the caller's dict cannot alter a built statement."""
    predicate: dict[str, Any] = {"claims": [1]}
    statement = make_statement([Subject("a", {"sha256": SHA256})], PREDICATE_TYPE, predicate)
    predicate["claims"].append(2)
    assert statement.predicate == {"claims": [1]}


def test_make_statement_applies_the_parse_rules() -> None:
    """A statement the registry builds is one it would accept."""
    with pytest.raises(StatementError, match="'subject' must list at least one artifact"):
        make_statement([], PREDICATE_TYPE, {})
    with pytest.raises(StatementError, match="not JSON-serialisable"):
        make_statement([Subject("a", {"sha256": SHA256})], PREDICATE_TYPE, {"x": float("nan")})


def test_valid_variants_are_accepted() -> None:
    """Several subjects, sha512, unnamed subjects and extra digests are all valid."""
    obj = _valid()
    obj["subject"] = [
        {"name": "a", "digest": {"sha256": SHA256, "sha512": SHA512}},
        {"digest": {"sha512": SHA512}},
        {"name": "_", "digest": {"sha256": SHA256, "gitCommit": "abc"}},
    ]
    statement = parse_statement(_bytes(obj))
    assert [s.name for s in statement.subject] == ["a", "", "_"]
    assert statement.subject[2].accepted_digests() == {"sha256": SHA256}


def test_missing_predicate_means_empty() -> None:
    """statement.md: an unset predicate is treated the same as set-but-empty."""
    obj = _valid()
    del obj["predicate"]
    assert parse_statement(_bytes(obj)).predicate == {}


def test_unrecognised_fields_are_ignored() -> None:
    """Parsing rules: consumers MUST ignore unrecognised fields."""
    obj = _valid()
    obj["extension"] = {"x": 1}
    obj["subject"][0]["uri"] = "pkg:generic/vendor-app"
    statement = parse_statement(_bytes(obj))
    assert statement == parse_statement(_bytes(_valid()))


def test_unnamed_subject_omits_name_on_output() -> None:
    """An unset name stays unset rather than becoming an empty string."""
    subject = Subject("", {"sha256": SHA256})
    assert subject.to_dict() == {"digest": {"sha256": SHA256}}


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (["_type"], MISSING, "'_type' must be 'https://in-toto.io/Statement/v1', got None"),
        (["_type"], "https://in-toto.io/Statement/v0.1", "'_type' must be"),
        (["subject"], MISSING, "'subject' is required"),
        (["subject"], {}, "'subject' must be an array"),
        (["subject"], [], "'subject' must list at least one artifact"),
        (["subject", 0], "x", "'subject[0]' must be an object"),
        (["subject", 0, "name"], 7, "'subject[0].name' must be a string"),
        (["subject", 0, "digest"], MISSING, "'subject[0].digest' is required"),
        (["subject", 0, "digest"], {}, "'subject[0].digest' must be a non-empty object"),
        (["subject", 0, "digest"], "abc", "'subject[0].digest' must be a non-empty object"),
        (
            ["subject", 0, "digest", "sha256"],
            SHA256.upper(),
            "'subject[0].digest.sha256' must be 64 lowercase hex",
        ),
        (
            ["subject", 0, "digest", "sha256"],
            SHA256[:-1],
            "'subject[0].digest.sha256' must be 64 lowercase hex",
        ),
        (["subject", 0, "digest", "sha256"], 5, "'subject[0].digest.sha256' must be a string"),
        (
            ["subject", 0, "digest"],
            {"sha512": SHA256},
            "'subject[0].digest.sha512' must be 128 lowercase hex",
        ),
        (
            ["subject", 0, "digest"],
            {"md5": "0" * 32},
            "'subject[0].digest' has no accepted algorithm",
        ),
        (["predicateType"], MISSING, "'predicateType' must be a non-empty URI string"),
        (["predicateType"], "", "'predicateType' must be a non-empty URI string"),
        (["predicateType"], "attestation-v1", "is not a URI with a lowercase scheme"),
        (["predicateType"], "HTTPS://example.com/v1", "is not a URI with a lowercase scheme"),
        (["predicateType"], "https://example.com/a b", "is not a URI with a lowercase scheme"),
        (["predicateType"], "https:", "is not a URI with a lowercase scheme"),
        (["predicateType"], "https://Example.com/v1", "must have a lowercase authority"),
        (["predicate"], [], "'predicate' must be a JSON object"),
        (["predicate"], None, "'predicate' must be a JSON object"),
    ],
)
def test_invalid_field_is_named_in_the_error(path: list[Any], value: Any, reason: str) -> None:
    """Each rule of statement.md / digest_set.md / field_types.md has its own diagnostic."""
    obj = copy.deepcopy(_valid())
    target: Any = obj
    for step in path[:-1]:
        target = target[step]
    if value is MISSING:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    with pytest.raises(StatementError) as excinfo:
        parse_statement(_bytes(obj))
    assert reason in excinfo.value.reason


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"[]", "statement must be a JSON object"),
        (b"{", "statement is not valid JSON"),
        (b'{"_type":"a","_type":"b"}', "duplicate key '_type'"),
        (b'{"predicate":{"x":NaN}}', "NaN is not valid JSON"),
    ],
)
def test_invalid_json_is_rejected(payload: bytes, reason: str) -> None:
    """The payload must be strict JSON holding an object."""
    with pytest.raises(StatementError) as excinfo:
        parse_statement(payload)
    assert reason in excinfo.value.reason


def test_open_statement_envelope_reads_the_payload() -> None:
    """An in-toto envelope opens to its statement."""
    statement = make_statement([Subject("a", {"sha256": SHA256})], PREDICATE_TYPE, {})
    envelope = sign_envelope(statement.to_bytes(), [SigningKey(b"\1" * 32)])
    assert open_statement_envelope(envelope) == statement


def test_open_statement_envelope_checks_the_payload_type() -> None:
    """protocol.md: reject if PAYLOAD_TYPE is not a supported type."""
    statement = make_statement([Subject("a", {"sha256": SHA256})], PREDICATE_TYPE, {})
    envelope = sign_envelope(statement.to_bytes(), [SigningKey(b"\1" * 32)], "application/json")
    with pytest.raises(StatementError, match="payloadType is 'application/json'"):
        open_statement_envelope(envelope)


def test_statement_is_frozen() -> None:
    """Statements are values: fields cannot be reassigned."""
    statement: Statement = make_statement([Subject("a", {"sha256": SHA256})], PREDICATE_TYPE, {})
    with pytest.raises(AttributeError):
        statement.predicate_type = "x"  # type: ignore[misc]
