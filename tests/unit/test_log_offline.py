"""Offline bundle checks and the monitor's state file: malformed input gets a precise reason."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from attestations.canonical import canonicalize
from attestations.checkpoint import Checkpoint, sign_checkpoint, verifier_key
from attestations.envelope import sign_envelope
from attestations.errors import AttestationError
from attestations.keys import SigningKey
from attestations.merkle import TreeBuilder, inclusion_plan, leaf_hash
from registry.transparency.monitor import MonitorError, MonitorState
from registry.transparency.offline import BundleError, verify_entry_bundle

ORIGIN = "unit.trust-registry.example/log"
KEY = SigningKey(bytes([3]) * 32)
VENDOR_KEY = SigningKey(bytes([4]) * 32)
VKEY = verifier_key(ORIGIN, KEY.public_key)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def make_bundle(index: int = 1, size: int = 3) -> dict[str, Any]:
    """A bundle as the API serves it, built from scratch with the library alone."""
    envelope = sign_envelope(b'{"claim":"ok"}', [VENDOR_KEY]).to_dict()
    leaves = [
        canonicalize(
            {"v": 1, "type": "t", "recorded_at": "x", "body": {"n": n, "envelope": envelope}}
        )
        for n in range(size)
    ]
    builder = TreeBuilder()
    nodes = {}
    for leaf in leaves:
        nodes.update(builder.append(leaf_hash(leaf)))
    plan = inclusion_plan(index, size)
    proof = plan.rehash([nodes[node] for node in plan.node_ids])
    note = sign_checkpoint(Checkpoint(ORIGIN, size, builder.root()), KEY, ORIGIN)
    return {
        "index": index,
        "leaf": b64(leaves[index]),
        "entry": json.loads(leaves[index]),
        "inclusion_proof": {
            "leaf_index": index,
            "tree_size": size,
            "hashes": [b64(h) for h in proof],
        },
        "checkpoint": note,
    }


def test_a_well_formed_bundle_verifies_with_its_envelope_signer() -> None:
    verified = verify_entry_bundle(
        make_bundle(), VKEY, origin=ORIGIN, signer_keys=[VENDOR_KEY.public_key]
    )
    assert verified.index == 1
    assert verified.checkpoint.size == 3
    assert verified.envelope_signers == (VENDOR_KEY.key_id,)
    assert verified.signer.startswith(f"{ORIGIN}+")


def _set(path: tuple[str, ...], value: Any) -> Any:
    def change(bundle: dict[str, Any]) -> None:
        target = bundle
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


MALFORMED = [
    (_set(("index",), True), "has no int field 'index'"),
    (_set(("leaf",), "not base64!"), "leaf is not valid base64"),
    (_set(("inclusion_proof",), []), "has no dict field 'inclusion_proof'"),
    (_set(("inclusion_proof", "hashes", 0), 7), "inclusion_proof.hashes[0] is not a base64 string"),
    (
        _set(("inclusion_proof", "leaf_index"), 0),
        "the proof is for leaf 0, the entry claims index 1",
    ),
    (_set(("checkpoint",), None), "has no str field 'checkpoint'"),
    (_set(("entry", "body", "n"), 99), "decoded 'entry' does not match the leaf bytes"),
]


@pytest.mark.parametrize(("change", "reason"), MALFORMED)
def test_malformed_bundles_say_what_is_wrong(change: Any, reason: str) -> None:
    bundle = copy.deepcopy(make_bundle())
    change(bundle)
    with pytest.raises(AttestationError) as caught:
        verify_entry_bundle(bundle, VKEY)
    assert reason in caught.value.reason


def test_a_bundle_must_be_an_object() -> None:
    with pytest.raises(BundleError, match="must hold the JSON object"):
        verify_entry_bundle([1, 2], VKEY)


def test_an_entry_without_an_envelope_cannot_check_signers() -> None:
    leaf = canonicalize({"v": 1, "type": "key.revoked", "recorded_at": "x", "body": {}})
    builder = TreeBuilder()
    builder.append(leaf_hash(leaf))
    bundle = {
        "index": 0,
        "leaf": b64(leaf),
        "entry": json.loads(leaf),
        "inclusion_proof": {"leaf_index": 0, "tree_size": 1, "hashes": []},
        "checkpoint": sign_checkpoint(Checkpoint(ORIGIN, 1, builder.root()), KEY, ORIGIN),
    }
    with pytest.raises(BundleError, match=r"entry 0 \(key.revoked\) carries no signed envelope"):
        verify_entry_bundle(bundle, VKEY, signer_keys=[VENDOR_KEY.public_key])


def test_monitor_state_round_trips_and_rejects_foreign_files(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    assert MonitorState.load(path) is None
    state = MonitorState(VKEY, ORIGIN, make_bundle()["checkpoint"])
    state.save(path)
    assert MonitorState.load(path) == state
    assert not path.with_name("state.json.tmp").exists()
    path.write_text('{"format": "something else"}')
    with pytest.raises(MonitorError, match="is not a log monitor state file"):
        MonitorState.load(path)
    path.write_text("{not json")
    with pytest.raises(MonitorError, match="is not JSON"):
        MonitorState.load(path)
    path.write_text(json.dumps({"format": "trust-registry/log-monitor-state/v1", "origin": ORIGIN}))
    with pytest.raises(MonitorError, match="lacks verifier_key, origin or checkpoint"):
        MonitorState.load(path)
