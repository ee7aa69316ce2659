"""Offline verification: signed checkpoint + Merkle proof, with the exact reason for a refusal."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from attestations.checkpoint import Checkpoint, sign_checkpoint, verifier_key
from attestations.errors import AttestationError, CheckpointError, ProofError
from attestations.keys import SigningKey
from attestations.merkle import NodeID, TreeBuilder, consistency_plan, inclusion_plan, leaf_hash
from attestations.verify import verify_consistency_between, verify_inclusion_in_checkpoint

ORIGIN = "registry.example.org/log"
KEY_NAME = "registry.example.org"


@dataclass
class Log:
    """A small log with checkpoints signed at every size, built the way the registry builds it."""

    key: SigningKey
    leaves: list[bytes]
    nodes: dict[NodeID, bytes]
    notes: list[str]

    @property
    def vkey(self) -> str:
        return verifier_key(KEY_NAME, self.key.public_key)

    def inclusion(self, index: int, size: int) -> list[bytes]:
        plan = inclusion_plan(index, size)
        return plan.rehash([self.nodes[node] for node in plan.node_ids])

    def consistency(self, size1: int, size2: int) -> list[bytes]:
        plan = consistency_plan(size1, size2)
        return plan.rehash([self.nodes[node] for node in plan.node_ids])


def make_log(size: int = 11, seed: int = 1) -> Log:
    key = SigningKey(bytes([seed]) * 32)
    builder = TreeBuilder()
    log = Log(key, [], {}, [])
    log.notes.append(sign_checkpoint(Checkpoint(ORIGIN, 0, builder.root()), key, KEY_NAME))
    for number in range(size):
        leaf = f"decision {number}".encode()
        log.leaves.append(leaf)
        log.nodes.update(builder.append(leaf_hash(leaf)))
        checkpoint = Checkpoint(ORIGIN, builder.size, builder.root())
        log.notes.append(sign_checkpoint(checkpoint, key, KEY_NAME))
    return log


LOG = make_log()


def test_inclusion_in_a_signed_checkpoint() -> None:
    for size in range(1, 12):
        for index in range(size):
            checkpoint = verify_inclusion_in_checkpoint(
                LOG.vkey,
                LOG.notes[size],
                LOG.leaves[index],
                index,
                size,
                LOG.inclusion(index, size),
            )
            assert (checkpoint.origin, checkpoint.size) == (ORIGIN, size)


def test_inclusion_rejects_a_proof_for_another_tree_size() -> None:
    with pytest.raises(ProofError) as caught:
        verify_inclusion_in_checkpoint(
            LOG.vkey, LOG.notes[11], LOG.leaves[3], 3, 10, LOG.inclusion(3, 10)
        )
    assert (
        caught.value.reason == "proof is for a tree of size 10, the checkpoint commits to size 11"
    )


def test_inclusion_rejects_the_wrong_leaf() -> None:
    with pytest.raises(ProofError, match=r"^calculated root [0-9a-f]{16}… does not match"):
        verify_inclusion_in_checkpoint(
            LOG.vkey, LOG.notes[11], b"forged decision", 3, 11, LOG.inclusion(3, 11)
        )


def test_inclusion_rejects_a_checkpoint_signed_by_another_key() -> None:
    other = make_log(seed=2)
    with pytest.raises(CheckpointError, match=r"^note is not signed by registry\.example\.org"):
        verify_inclusion_in_checkpoint(
            LOG.vkey, other.notes[11], LOG.leaves[3], 3, 11, LOG.inclusion(3, 11)
        )


def test_inclusion_rejects_a_checkpoint_of_another_origin() -> None:
    with pytest.raises(CheckpointError, match="is not the expected 'elsewhere/log'"):
        verify_inclusion_in_checkpoint(
            LOG.vkey,
            LOG.notes[11],
            LOG.leaves[3],
            3,
            11,
            LOG.inclusion(3, 11),
            origin="elsewhere/log",
        )


def test_consistency_between_every_pair_of_checkpoints() -> None:
    for size1 in range(12):
        for size2 in range(size1, 12):
            old, new = verify_consistency_between(
                LOG.vkey, LOG.notes[size1], LOG.notes[size2], LOG.consistency(size1, size2)
            )
            assert (old.size, new.size) == (size1, size2)


def test_consistency_detects_a_rollback() -> None:
    with pytest.raises(ProofError) as caught:
        verify_consistency_between(LOG.vkey, LOG.notes[9], LOG.notes[4], [])
    assert caught.value.reason == (
        "new checkpoint has size 4, smaller than the old checkpoint's 9: the log rolled back"
    )


def test_consistency_detects_a_fork() -> None:
    # The same key signing a different history of the same size is a split view.
    forked_key = LOG.key
    forked = Checkpoint(ORIGIN, 6, leaf_hash(b"other history"))
    note = sign_checkpoint(forked, forked_key, KEY_NAME)
    with pytest.raises(ProofError) as caught:
        verify_consistency_between(LOG.vkey, LOG.notes[6], note, [])
    assert caught.value.reason == "both checkpoints have size 6 but different roots: the log forked"


def test_consistency_detects_a_rewritten_history() -> None:
    rewritten_builder = TreeBuilder()
    for number in range(11):
        leaf = b"rewritten" if number == 2 else LOG.leaves[number]
        rewritten_builder.append(leaf_hash(leaf))
    note = sign_checkpoint(Checkpoint(ORIGIN, 11, rewritten_builder.root()), LOG.key, KEY_NAME)
    with pytest.raises(ProofError, match=r"^calculated root2 [0-9a-f]{16}… does not match"):
        verify_consistency_between(LOG.vkey, LOG.notes[5], note, LOG.consistency(5, 11))


def test_consistency_needs_the_same_log() -> None:
    other_origin = sign_checkpoint(
        Checkpoint("other.example/log", 11, leaf_hash(b"x")), LOG.key, KEY_NAME
    )
    with pytest.raises(CheckpointError) as caught:
        verify_consistency_between(LOG.vkey, LOG.notes[5], other_origin, LOG.consistency(5, 11))
    assert caught.value.reason == (
        "checkpoints come from different logs: 'registry.example.org/log' and 'other.example/log'"
    )


def test_consistency_rejects_a_truncated_proof() -> None:
    proof = LOG.consistency(5, 11)
    with pytest.raises(ProofError) as caught:
        verify_consistency_between(LOG.vkey, LOG.notes[5], LOG.notes[11], proof[:-1])
    assert (
        caught.value.reason
        == f"proof has {len(proof) - 1} hashes, trees of sizes 5 and 11 need {len(proof)}"
    )


def test_every_refusal_is_an_attestation_error_with_a_reason() -> None:
    with pytest.raises(AttestationError) as caught:
        verify_inclusion_in_checkpoint(LOG.vkey, "garbage", b"", 0, 1, [])
    assert caught.value.reason
