"""An independent verifier of blacklist snapshots, written from the README alone
("Blacklist snapshots", "Verifying without the registry's code"): PyNaCl, hashlib, json
and base64, and no module of this project. The tests run it against real snapshots
fetched over HTTP, so the README's algorithm is what they check."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from datetime import datetime
from typing import Any

import nacl.exceptions
import nacl.signing

PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE_TYPE = "https://trust-registry.dev/attestations/blacklist-snapshot/v1"


class Rejected(Exception):
    """The snapshot, or the chain of snapshots, does not verify."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def canonical(value: Any) -> bytes:
    """RFC 8785 for the values a snapshot holds (strings, integers, null, lists, objects):
    keys sorted by UTF-16 code units, no whitespace, UTF-8."""
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda item: item[0].encode("utf-16-be"))
        return b"{" + b",".join(canonical(k) + b":" + canonical(v) for k, v in items) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(canonical(v) for v in value) + b"]"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def open_snapshot(document: bytes, public_key_b64: str) -> tuple[dict[str, Any], str]:
    """Check one envelope; return its predicate and the hex SHA-256 of its payload."""
    envelope = json.loads(document)
    if envelope["payloadType"] != PAYLOAD_TYPE:
        raise Rejected(f"payloadType {envelope['payloadType']!r}")
    payload = base64.b64decode(envelope["payload"], validate=True)
    key = nacl.signing.VerifyKey(base64.b64decode(public_key_b64))
    key_id = hashlib.sha256(bytes(key)).hexdigest()
    signatures = [s for s in envelope["signatures"] if s["keyid"] == key_id]
    if not signatures:
        raise Rejected("no signature by the federation key")
    for signature in signatures:
        try:
            key.verify(pae(PAYLOAD_TYPE, payload), base64.b64decode(signature["sig"]))
        except nacl.exceptions.BadSignatureError as exc:
            raise Rejected("bad signature") from exc
    statement = json.loads(payload)
    if statement["_type"] != "https://in-toto.io/Statement/v1":
        raise Rejected("not an in-toto statement")
    if statement["predicateType"] != PREDICATE_TYPE:
        raise Rejected("not a blacklist snapshot")
    predicate = statement["predicate"]
    entries_digest = hashlib.sha256(canonical(predicate["entries"])).hexdigest()
    if statement["subject"][0]["digest"]["sha256"] != entries_digest:
        raise Rejected("entries do not match the subject digest")
    return predicate, hashlib.sha256(payload).hexdigest()


def verify(latest: bytes, earlier: list[bytes], public_key_b64: str, now: datetime) -> list[int]:
    """The README's checks over `latest` and `earlier`; returns the serials in order."""
    opened = [open_snapshot(doc, public_key_b64) for doc in [*earlier, latest]]
    by_serial: dict[int, tuple[dict[str, Any], str]] = {}
    for predicate, digest in opened:
        serial = predicate["serial"]
        if serial in by_serial and by_serial[serial][1] != digest:
            raise Rejected(f"serial {serial} reused")
        by_serial[serial] = (predicate, digest)
    head_serial = opened[-1][0]["serial"]
    if max(by_serial) != head_serial:
        raise Rejected("the latest snapshot is not the newest")
    serials = sorted(by_serial)
    for before, after in itertools.pairwise(serials):
        if after == before + 1 and by_serial[after][0]["previous"] != by_serial[before][1]:
            raise Rejected(f"chain broken between {before} and {after}")
    if serials[0] == 1 and by_serial[1][0]["previous"] is not None:
        raise Rejected("serial 1 names a previous snapshot")
    next_update = datetime.fromisoformat(opened[-1][0]["next_update"].replace("Z", "+00:00"))
    if now >= next_update:
        raise Rejected("stale")
    return serials
