"""Offline checks of a saved entry response (`registry verify`): no server, no database.

An answer of GET /api/v1/log/entries/{index} is a self-contained proof bundle: the exact
leaf bytes, the audit path and the signed checkpoint. Given only the federation's
verifier key, anyone can check that the leaf is in the tree the federation signed and,
for a signed submission, that an envelope they hold is the one the registry logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from attestations.canonical import parse_json
from attestations.checkpoint import Checkpoint, parse_verifier_key
from attestations.envelope import Envelope, verify_envelope
from attestations.errors import AttestationError, CanonicalJSONError, EnvelopeError
from attestations.keys import PublicKey, b64decode_strict
from attestations.merkle import leaf_hash
from attestations.verify import verify_inclusion_in_checkpoint


class BundleError(AttestationError):
    """The saved entry response is malformed or contradicts its own leaf."""

    code = "bad-bundle"


@dataclass(frozen=True)
class VerifiedEntry:
    """What an offline check established, for the verifier to report."""

    index: int
    entry: dict[str, Any]
    leaf_hash: bytes
    checkpoint: Checkpoint
    signer: str
    """`<key name>+<key hash>` of the checkpoint signature that verified."""
    proof_length: int
    envelope_digest: str | None = None
    envelope_signers: tuple[str, ...] = ()


def _field(document: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = document.get(name)
    # bool is an int in Python, never a valid index or size in JSON terms here.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BundleError(f"{where} has no {kind.__name__} field {name!r}")
    return value


def logged_envelope(entry: dict[str, Any], index: int) -> Envelope:
    """The DSSE envelope a leaf carries in its body, as the registry logged it."""
    body = entry.get("body")
    if not isinstance(body, dict) or "envelope" not in body:
        raise BundleError(
            f"entry {index} ({entry.get('type')}) carries no signed envelope; "
            "only submissions (applications, rotations, attestations, audits) do"
        )
    try:
        return Envelope.from_dict(body["envelope"])
    except EnvelopeError as exc:
        raise BundleError(
            f"the envelope logged in entry {index} is malformed: {exc.reason}"
        ) from exc


def verify_entry_bundle(
    bundle: object,
    verifier_key: str,
    *,
    origin: str | None = None,
    envelope: Envelope | None = None,
    signer_keys: Sequence[PublicKey] = (),
) -> VerifiedEntry:
    """Check a saved entry response against the verifier key; raise with the exact reason.

    With `envelope`, it must be the envelope logged in the leaf (same canonical bytes);
    with `signer_keys`, every one of them must have signed that envelope (or the logged
    one when no envelope is given).
    """
    if not isinstance(bundle, dict):
        raise BundleError(
            "the entry file must hold the JSON object GET /api/v1/log/entries/{i} returns"
        )
    index = _field(bundle, "index", int, "the entry file")
    leaf = b64decode_strict(_field(bundle, "leaf", str, "the entry file"), "leaf")
    proof = _field(bundle, "inclusion_proof", dict, "the entry file")
    leaf_index = _field(proof, "leaf_index", int, "inclusion_proof")
    tree_size = _field(proof, "tree_size", int, "inclusion_proof")
    encoded = _field(proof, "hashes", list, "inclusion_proof")
    note = _field(bundle, "checkpoint", str, "the entry file")
    if leaf_index != index:
        raise BundleError(f"the proof is for leaf {leaf_index}, the entry claims index {index}")
    hashes: list[bytes] = []
    for position, value in enumerate(encoded):
        if not isinstance(value, str):
            raise BundleError(f"inclusion_proof.hashes[{position}] is not a base64 string")
        hashes.append(b64decode_strict(value, f"inclusion_proof.hashes[{position}]"))
    checkpoint = verify_inclusion_in_checkpoint(
        verifier_key, note, leaf, leaf_index, tree_size, hashes, origin=origin
    )
    try:
        entry = parse_json(leaf)
    except CanonicalJSONError as exc:
        raise BundleError(f"the leaf bytes are not JSON: {exc.reason}") from exc
    if not isinstance(entry, dict):
        raise BundleError("the leaf is not a JSON object")
    if bundle.get("entry") != entry:
        raise BundleError(
            "the decoded 'entry' does not match the leaf bytes that were proven; "
            "someone edited the file: only the leaf is covered by the proof"
        )
    name, key_hash, _ = parse_verifier_key(verifier_key)
    verified = VerifiedEntry(
        index=index,
        entry=entry,
        leaf_hash=leaf_hash(leaf),
        checkpoint=checkpoint,
        signer=f"{name}+{key_hash.hex()}",
        proof_length=len(hashes),
    )
    if envelope is None and not signer_keys:
        return verified
    logged = logged_envelope(entry, index)
    if envelope is not None and envelope.to_json() != logged.to_json():
        raise BundleError(
            f"the envelope given (sha256 {envelope.digest()}) is not the one logged in "
            f"entry {index} (sha256 {logged.digest()})"
        )
    signers: tuple[str, ...] = ()
    if signer_keys:
        trusted = {key.key_id: key for key in signer_keys}
        unsigned = sorted(set(trusted) - set(logged.keyids))
        if unsigned:
            raise BundleError(
                f"the envelope logged in entry {index} has no signature by key(s) "
                f"{', '.join(unsigned)}; it is signed by {', '.join(logged.keyids)}"
            )
        signers = verify_envelope(logged, trusted, require=trusted.keys())
    return replace(verified, envelope_digest=logged.digest(), envelope_signers=signers)
