"""RFC 8785 JSON Canonicalization Scheme: the one byte form we sign and hash."""

from __future__ import annotations

import json
import re
from typing import Any

import rfc8785

from attestations.errors import CanonicalJSONError

PLAIN_STRING = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")
"""Strings that RFC 8785 writes unchanged between quotes: printable ASCII but " and \\."""
_EXACT_INTEGERS = 2**53
"""RFC 8785 writes integers of smaller magnitude as their digits (I-JSON, RFC 7493)."""


class CanonicalJSON(bytes):
    """A value already in RFC 8785 form, placed into a larger document byte for byte.

    A log leaf embeds a signed envelope whose canonical bytes were computed on receipt;
    serialising it again as a value would only cost time.
    """


def canonicalize(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON-compatible value.

    Objects whose members hold a `CanonicalJSON` (at any depth of objects) are composed
    here: members sorted by their UTF-16 code units, as RFC 8785 section 3.2.3 orders
    them, each name and every other value written by the rfc8785 package. Objects of
    ASCII names and simple values (`_simple`) are written here whole.
    """
    try:
        if type(value) is dict:
            simple = _simple(value)
            if simple is not None:
                return simple
        if isinstance(value, dict) and _holds_canonical(value):
            return _compose(value)
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise CanonicalJSONError(f"value cannot be canonicalised as JSON: {exc}") from exc


def _holds_canonical(obj: dict[Any, Any]) -> bool:
    return any(
        isinstance(item, CanonicalJSON) or (isinstance(item, dict) and _holds_canonical(item))
        for item in obj.values()
    )


def _compose(obj: dict[Any, Any]) -> bytes:
    if all(type(name) is str and name.isascii() for name in obj):
        # UTF-16 code units of ASCII order as the characters do.
        names = sorted(obj)
    else:
        names = sorted(obj, key=_utf16_order)
    members = []
    for name in names:
        item = obj[name]
        if isinstance(item, CanonicalJSON):
            encoded = bytes(item)
        elif isinstance(item, dict) and _holds_canonical(item):
            encoded = _compose(item)
        else:
            encoded = _plain(item) or bytes(rfc8785.dumps(item))
        members.append(_member_name(name) + b":" + encoded)
    return b"{" + b",".join(members) + b"}"


_MEMBER_NAMES: dict[str, bytes] = {}
"""Encoded member names of composed objects: the few field names of log leaves."""
_MEMBER_NAMES_KEPT = 256


def _member_name(name: str) -> bytes:
    encoded = _MEMBER_NAMES.get(name)
    if encoded is None:
        encoded = _plain(name) or bytes(rfc8785.dumps(name))
        if len(_MEMBER_NAMES) < _MEMBER_NAMES_KEPT:
            _MEMBER_NAMES[name] = encoded
    return encoded


def _plain(item: object) -> bytes | None:
    """The RFC 8785 bytes of a printable-ASCII string or an exact integer, written here
    (every log leaf has several; the rfc8785 package costs more than the rest of a
    leaf); None for anything else."""
    if type(item) is str and PLAIN_STRING.fullmatch(item):
        return b'"' + item.encode() + b'"'
    if type(item) is int and -_EXACT_INTEGERS < item < _EXACT_INTEGERS:
        return b"%d" % item
    return None


_LITERALS: dict[object, bytes] = {True: b"true", False: b"false"}


def _simple(obj: dict[Any, Any]) -> bytes | None:
    """The RFC 8785 bytes of an object whose names are ASCII and whose values are plain
    strings, exact integers, booleans, null or such objects again (a log leaf of a
    complaint decision: the rfc8785 package would cost more than the rest of the leaf);
    None when anything else is in it, which then goes through the package."""
    members = []
    for name in sorted(obj) if all(type(n) is str and n.isascii() for n in obj) else ():
        item = obj[name]
        if item is None:
            encoded: bytes | None = b"null"
        elif type(item) is bool:
            encoded = _LITERALS[item]
        elif type(item) is dict:
            encoded = _simple(item)
        else:
            encoded = _plain(item)
        if encoded is None:
            return None
        members.append(_member_name(name) + b":" + encoded)
    if not members and obj:
        return None
    return b"{" + b",".join(members) + b"}"


def _utf16_order(name: object) -> bytes:
    if not isinstance(name, str):
        raise TypeError(f"object member names must be strings, not {type(name).__name__}")
    return name.encode("utf-16-be", "surrogatepass")


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
    except RecursionError as exc:
        raise CanonicalJSONError("not accepted JSON: arrays or objects nested too deeply") from exc
