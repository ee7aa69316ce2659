"""Offline verification of log proofs against signed checkpoints (`registry verify`).

Everything here needs only the log's verifier key and bytes a user already holds, so a
vendor or auditor can check the registry without trusting the registry's servers.
"""

from __future__ import annotations

from collections.abc import Sequence

from attestations.checkpoint import Checkpoint, open_checkpoint
from attestations.errors import CheckpointError, ProofError
from attestations.merkle import leaf_hash, verify_consistency, verify_inclusion


# The six positional arguments mirror the CLI `registry verify` contract in the order a user
# reads them off a proof bundle; every one is required, so keywords would only add noise.
def verify_inclusion_in_checkpoint(  # noqa: PLR0917
    verifier_key: str,
    checkpoint_note: str | bytes,
    leaf: bytes,
    leaf_index: int,
    tree_size: int,
    proof: Sequence[bytes],
    *,
    origin: str | None = None,
) -> Checkpoint:
    """Check that raw `leaf` sits at `leaf_index` of the tree the signed checkpoint commits to.

    The proof's tree size must be the checkpoint's: a proof against any other size says
    nothing about what the log signed (RFC 9162 §2.1.3.2, C2SP tlog-checkpoint).
    """
    checkpoint = open_checkpoint(checkpoint_note, verifier_key, origin=origin)
    if tree_size != checkpoint.size:
        raise ProofError(
            f"proof is for a tree of size {tree_size}, the checkpoint commits to size "
            f"{checkpoint.size}"
        )
    verify_inclusion(leaf_hash(leaf), leaf_index, tree_size, proof, checkpoint.root_hash)
    return checkpoint


def verify_consistency_between(
    verifier_key: str,
    old_note: str | bytes,
    new_note: str | bytes,
    proof: Sequence[bytes],
    *,
    origin: str | None = None,
) -> tuple[Checkpoint, Checkpoint]:
    """Check that the newer signed checkpoint only appends to the older one (RFC 9162 §2.1.4.2).

    Two signed checkpoints of one size with different roots, or a newer one that is smaller,
    are proof that the log forked or rolled back, so both are reported as such.
    """
    old = open_checkpoint(old_note, verifier_key, origin=origin)
    new = open_checkpoint(new_note, verifier_key, origin=origin)
    if old.origin != new.origin:
        raise CheckpointError(
            f"checkpoints come from different logs: {old.origin!r} and {new.origin!r}"
        )
    if new.size < old.size:
        raise ProofError(
            f"new checkpoint has size {new.size}, smaller than the old checkpoint's {old.size}: "
            "the log rolled back"
        )
    if new.size == old.size and new.root_hash != old.root_hash:
        raise ProofError(
            f"both checkpoints have size {old.size} but different roots: the log forked"
        )
    verify_consistency(old.size, new.size, proof, old.root_hash, new.root_hash)
    return old, new
