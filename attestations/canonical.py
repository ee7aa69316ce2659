"""RFC 8785 JSON Canonicalization Scheme: the one byte form we sign and hash."""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from attestations.errors import CanonicalJSONError


def canonicalize(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON-compatible value."""
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise CanonicalJSONError(f"value cannot be canonicalised as JSON: {exc}") from exc


def parse_json(data: bytes | str) -> Any:
    """Parse JSON strictly: no NaN/Infinity, no duplicate object keys."""

    def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, item in pairs:
            if key in result:
                raise CanonicalJSONError(f"duplicate key {key!r} in JSON object")
            result[key] = item
        return result

    def _no_constants(name: str) -> Any:
        raise CanonicalJSONError(f"{name} is not valid JSON")

    try:
        return json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except CanonicalJSONError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CanonicalJSONError(f"not valid JSON: {exc}") from exc
