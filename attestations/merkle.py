"""RFC 9162 §2.1 Merkle tree math for a log that stores only its perfect subtrees.

The registry keeps the hash of every perfect subtree as a node `(level, index)`; the
hashes of the incomplete ("ephemeral") subtrees on the right border are never stored but
folded on demand from the perfect nodes under them. A proof therefore costs O(log n)
node reads: a `ProofPlan` names the nodes to fetch and `rehash` turns their hashes into
the proof. The design follows transparency-dev/merkle's `proof` and `compact` packages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from attestations.errors import ProofError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256 of the empty string (RFC 9162 §2.1.1)."""


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d); the prefix keeps leaves and nodes apart (§2.1.1)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right), the interior node hash of RFC 9162 §2.1.1."""
    return hashlib.sha256(b"\x01" + left + right).digest()


@dataclass(frozen=True, order=True)
class NodeID:
    """A perfect subtree: level 0 holds leaves, and it covers [index·2^level, (index+1)·2^level)."""

    level: int
    index: int

    @property
    def begin(self) -> int:
        """First leaf under this node."""
        return self.index << self.level

    @property
    def end(self) -> int:
        """One past the last leaf under this node."""
        return (self.index + 1) << self.level


def range_nodes(begin: int, end: int) -> list[NodeID]:
    """The fewest perfect subtrees covering leaves [begin, end), left to right (a compact range)."""
    nodes: list[NodeID] = []
    while begin < end:
        # The biggest subtree that starts at `begin` (alignment) and still fits before `end`.
        level = (begin & -begin).bit_length() - 1 if begin else end.bit_length()
        while (1 << level) > end - begin:
            level -= 1
        nodes.append(NodeID(level, begin >> level))
        begin += 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """Hash a compact range's nodes (left to right) into the root of the subtree they form.

    RFC 9162 §2.1.1 splits at the largest power of two, so the rightmost nodes join first.
    """
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


root_from_border = fold
"""The root of a tree from the hashes of `root_plan(size).node_ids`, its perfect subtrees."""


@dataclass(frozen=True)
class ProofPlan:
    """The stored nodes a proof needs, and which consecutive run folds into one ephemeral hash."""

    node_ids: tuple[NodeID, ...]
    ephemeral: tuple[int, int] = (0, 0)
    """Positions [begin, end) in `node_ids` of the nodes under the ephemeral node, if any."""

    @property
    def proof_length(self) -> int:
        """How many hashes `rehash` returns, known without reading anything."""
        begin, end = self.ephemeral
        return len(self.node_ids) - max(0, end - begin - 1)

    def rehash(self, hashes: Sequence[bytes]) -> list[bytes]:
        """Turn the hashes of `node_ids` (same order) into the proof by folding the ephemeral run."""
        if len(hashes) != len(self.node_ids):
            raise ValueError(f"plan needs {len(self.node_ids)} hashes, got {len(hashes)}")
        begin, end = self.ephemeral
        if end - begin < 2:
            return list(hashes)
        return [*hashes[:begin], fold(hashes[begin:end]), *hashes[end:]]


def _path_plan(level: int, index: int, size: int, *, include_seed: bool) -> ProofPlan:
    """Siblings of the path from node (level, index) up to the root of a tree of `size` leaves.

    A sibling wholly inside the tree is a stored node; one starting past the end does not
    exist (the RFC promotes the node); one straddling the end is the single ephemeral
    node, replaced by the compact range under it.
    """
    ids: list[NodeID] = [NodeID(level, index)] if include_seed else []
    ephemeral = (0, 0)
    top = (size - 1).bit_length()
    while level < top:
        sibling = NodeID(level, index ^ 1)
        if sibling.end <= size:
            ids.append(sibling)
        elif sibling.begin < size:
            under = range_nodes(sibling.begin, size)
            ephemeral = (len(ids), len(ids) + len(under))
            ids.extend(under)
        level, index = level + 1, index >> 1
    return ProofPlan(tuple(ids), ephemeral)


def inclusion_plan(index: int, size: int) -> ProofPlan:
    """Nodes of the audit path PATH(index, D[size]) of RFC 9162 §2.1.3.1, leaf side first."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is beyond tree size {size}")
    return _path_plan(0, index, size, include_seed=False)


def consistency_plan(size1: int, size2: int) -> ProofPlan:
    """Nodes of PROOF(size1, D[size2]) of RFC 9162 §2.1.4.1.

    The proof starts at the biggest perfect subtree ending at size1, which is left out when
    size1 is a power of two because the verifier already holds it as the old root.
    """
    if not 0 <= size1 <= size2:
        raise ProofError(f"old tree size {size1} is larger than new tree size {size2}")
    if size1 in (0, size2):
        return ProofPlan(())
    level = (size1 & -size1).bit_length() - 1
    index = (size1 - 1) >> level
    return _path_plan(level, index, size2, include_seed=index != 0)


def root_plan(size: int) -> ProofPlan:
    """The perfect subtrees whose hashes fold into the root of a tree of `size` leaves."""
    ids = tuple(range_nodes(0, size))
    return ProofPlan(ids, (0, len(ids)))


def nodes_completed_by_append(size_before: int) -> list[NodeID]:
    """The leaf node and every perfect parent that appending leaf number `size_before` completes.

    Each parent's left child, NodeID(level - 1, 2 * index), is a stored right-border node.
    """
    level, index = 0, size_before
    completed = [NodeID(0, index)]
    while index & 1:
        level, index = level + 1, index >> 1
        completed.append(NodeID(level, index))
    return completed


def completed_hashes(leaf: bytes, left_siblings: Sequence[bytes]) -> list[bytes]:
    """Hashes of `nodes_completed_by_append`, given the parents' left children, lowest first."""
    hashes = [leaf]
    for left in left_siblings:
        hashes.append(node_hash(left, hashes[-1]))
    return hashes


class TreeBuilder:
    """Appends leaves from the right border alone, yielding the perfect nodes to store.

    The border is the hashes of `root_plan(size).node_ids`; keeping it in memory makes a
    batch of appends cost O(1) hashes each on average, with no node reads.
    """

    def __init__(self, size: int = 0, border: Iterable[bytes] = ()) -> None:
        self._border = list(border)
        if len(self._border) != size.bit_count():
            raise ValueError(
                f"a tree of size {size} has {size.bit_count()} border nodes, got {len(self._border)}"
            )
        self._size = size

    @property
    def size(self) -> int:
        """Leaves appended so far, including those before the seed border."""
        return self._size

    @property
    def border(self) -> list[bytes]:
        """Hashes of the perfect subtrees covering the tree, in `root_plan(size)` order."""
        return list(self._border)

    def root(self) -> bytes:
        """The tree head MTH(D[size])."""
        return fold(self._border)

    def append(self, leaf: bytes) -> list[tuple[NodeID, bytes]]:
        """Add a leaf *hash*; return the new perfect nodes with their hashes, lowest first."""
        completed = nodes_completed_by_append(self._size)
        merged = len(completed) - 1
        siblings = self._border[len(self._border) - merged :][::-1]
        hashes = completed_hashes(leaf, siblings)
        self._border[len(self._border) - merged :] = hashes[-1:]
        self._size += 1
        return list(zip(completed, hashes, strict=True))


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, a SHA-256 hash is {HASH_SIZE}")


def _check_proof(proof: Sequence[bytes], expected: int, needs: str) -> None:
    """Check the length first: with it right, the RFC's "sn is 0" checks cannot fail."""
    if len(proof) != expected:
        raise ProofError(f"proof has {len(proof)} hashes, {needs}")
    for position, value in enumerate(proof):
        _check_hash(value, f"proof[{position}]")


def _mismatch(what: str, calculated: bytes, expected: bytes) -> ProofError:
    return ProofError(
        f"calculated {what} {calculated.hex()[:16]}… does not match expected {what} "
        f"{expected.hex()[:16]}…"
    )


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root implied by an audit path, per the verification steps of RFC 9162 §2.1.3.2."""
    plan = inclusion_plan(index, size)
    _check_hash(leaf, "leaf hash")
    needs = plan.proof_length
    _check_proof(proof, needs, f"a tree of size {size} needs {needs} for index {index}")
    fn, sn, result = index, size - 1, leaf
    for sibling in proof:
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    return result


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ProofError unless `proof` shows leaf hash `leaf` at `index` under `root` (§2.1.3.2)."""
    _check_hash(root, "root")
    calculated = root_from_inclusion_proof(leaf, index, size, proof)
    if calculated != root:
        raise _mismatch("root", calculated, root)


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Raise ProofError unless the tree (size2, root2) extends (size1, root1), RFC 9162 §2.1.4.2."""
    _check_hash(root1, "root1")
    _check_hash(root2, "root2")
    plan = consistency_plan(size1, size2)
    needs = plan.proof_length
    _check_proof(proof, needs, f"trees of sizes {size1} and {size2} need {needs}")
    if size1 == 0:
        if root1 != EMPTY_ROOT:
            raise _mismatch("root1", EMPTY_ROOT, root1)
        return
    if size1 == size2:
        if root1 != root2:
            raise ProofError(f"two trees of size {size1} have different roots")
        return
    # §2.1.4.2: prepend the old root when size1 is a power of two, then walk both paths.
    path = [root1, *proof] if size1 & (size1 - 1) == 0 else list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first = second = path[0]
    for sibling in path[1:]:
        if fn & 1 or fn == sn:
            first, second = node_hash(sibling, first), node_hash(sibling, second)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            second = node_hash(second, sibling)
        fn, sn = fn >> 1, sn >> 1
    if first != root1:
        raise _mismatch("root1", first, root1)
    if second != root2:
        raise _mismatch("root2", second, root2)
