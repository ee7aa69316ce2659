"""RFC 9162 §2.1 Merkle math against transparency-dev/merkle's vectors and the RFC's recursion."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attestations.errors import ProofError
from attestations.merkle import (
    EMPTY_ROOT,
    NodeID,
    ProofPlan,
    TreeBuilder,
    completed_hashes,
    consistency_plan,
    fold,
    inclusion_plan,
    leaf_hash,
    node_hash,
    nodes_completed_by_append,
    range_nodes,
    root_from_border,
    root_from_inclusion_proof,
    root_plan,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).parent.parent / "vectors" / "merkle"
TREE = json.loads((VECTORS / "tree-8-leaves.json").read_text(encoding="utf-8"))
LEAVES = [bytes.fromhex(leaf) for leaf in TREE["leaves"]]


# -- reference implementation: RFC 6962 §2.1 recursive definitions, O(n), tests only ------


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def reference_root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 6962 §2.1."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = _split(len(leaves))
    return node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


def reference_inclusion(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 §2.1.1."""
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*reference_inclusion(index, leaves[:k]), reference_root(leaves[k:])]
    return [*reference_inclusion(index - k, leaves[k:]), reference_root(leaves[:k])]


def reference_consistency(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 §2.1.2, for 0 < m <= n."""

    def subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
        n = len(leaves)
        if m == n:
            return [] if complete else [reference_root(leaves)]
        k = _split(n)
        if m <= k:
            return [*subproof(m, leaves[:k], complete), reference_root(leaves[k:])]
        return [*subproof(m - k, leaves[k:], False), reference_root(leaves[:k])]

    return subproof(m, leaves, True)


# -- a tree built with TreeBuilder, stored as perfect nodes the way the registry stores them


class StoredTree:
    """Leaves appended through TreeBuilder; only the perfect nodes are kept."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.nodes: dict[NodeID, bytes] = {}
        self.builder = TreeBuilder()
        self.roots = [self.builder.root()]
        for leaf in leaves:
            self.nodes.update(self.builder.append(leaf_hash(leaf)))
            self.roots.append(self.builder.root())

    def prove(self, plan: ProofPlan) -> list[bytes]:
        return plan.rehash([self.nodes[node] for node in plan.node_ids])

    def root(self, size: int) -> bytes:
        hashes = root_plan(size).rehash([self.nodes[node] for node in root_plan(size).node_ids])
        return hashes[0] if hashes else EMPTY_ROOT


def _hexes(hashes: Sequence[bytes]) -> list[str]:
    return [value.hex() for value in hashes]


STORED_8 = StoredTree(LEAVES)


def test_leaf_and_node_hashes_match_upstream_node_hashes() -> None:
    for level, row in enumerate(TREE["node_hashes"]):
        for index, expected in enumerate(row):
            assert STORED_8.nodes[NodeID(level, index)].hex() == expected
    assert len(STORED_8.nodes) == sum(len(row) for row in TREE["node_hashes"])


@pytest.mark.parametrize("size", range(9))
def test_roots_match_upstream(size: int) -> None:
    expected = TREE["roots"][size]
    assert STORED_8.roots[size].hex() == expected
    assert STORED_8.root(size).hex() == expected
    assert reference_root(LEAVES[:size]).hex() == expected


@pytest.mark.parametrize(
    "vector", TREE["inclusion_proofs"], ids=lambda v: f"{v['index']}-of-{v['size']}"
)
def test_inclusion_plans_produce_upstream_proofs(vector: dict[str, Any]) -> None:
    index, size = vector["index"], vector["size"]
    proof = STORED_8.prove(inclusion_plan(index, size))
    assert _hexes(proof) == vector["proof"]
    verify_inclusion(leaf_hash(LEAVES[index]), index, size, proof, STORED_8.roots[size])


@pytest.mark.parametrize(
    "vector", TREE["consistency_proofs"], ids=lambda v: f"{v['size1']}-to-{v['size2']}"
)
def test_consistency_plans_produce_upstream_proofs(vector: dict[str, Any]) -> None:
    size1, size2 = vector["size1"], vector["size2"]
    proof = STORED_8.prove(consistency_plan(size1, size2))
    assert _hexes(proof) == vector["proof"]
    verify_consistency(size1, size2, proof, STORED_8.roots[size1], STORED_8.roots[size2])


# -- transparency-dev/merkle testdata: happy paths and named mutations ------------------


def _vector_files(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).glob("*/*.json"))


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _vector_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


@pytest.mark.parametrize("path", _vector_files("inclusion"), ids=_vector_id)
def test_inclusion_vectors(path: Path) -> None:
    vector = json.loads(path.read_text(encoding="utf-8"))
    proof = [_b64(value) for value in vector["proof"] or []]
    args = (_b64(vector["leafHash"]), vector["leafIdx"], vector["treeSize"], proof)
    if not vector["wantErr"]:
        verify_inclusion(*args, _b64(vector["root"]))
        index, size = vector["leafIdx"], vector["treeSize"]
        assert STORED_8.prove(inclusion_plan(index, size)) == proof
        return
    with pytest.raises(ProofError) as caught:
        verify_inclusion(*args, _b64(vector["root"]))
    assert caught.value.reason == vector["expected_error"], vector["description"]


@pytest.mark.parametrize("path", _vector_files("consistency"), ids=_vector_id)
def test_consistency_vectors(path: Path) -> None:
    vector = json.loads(path.read_text(encoding="utf-8"))
    proof = [_b64(value) for value in vector["proof"] or []]
    size1, size2 = vector["size1"], vector["size2"]
    roots = (_b64(vector["root1"]), _b64(vector["root2"]))
    if not vector["wantErr"]:
        verify_consistency(size1, size2, proof, *roots)
        assert STORED_8.prove(consistency_plan(size1, size2)) == proof
        return
    with pytest.raises(ProofError) as caught:
        verify_consistency(size1, size2, proof, *roots)
    assert caught.value.reason == vector["expected_error"], vector["description"]


def test_every_vector_names_its_source_and_outcome() -> None:
    for path in _vector_files("inclusion") + _vector_files("consistency"):
        vector = json.loads(path.read_text(encoding="utf-8"))
        assert vector["source"]["repository"] == "https://github.com/transparency-dev/merkle"
        assert len(vector["source"]["commit"]) == 40
        assert (vector["expected_error"] is not None) == vector["wantErr"], path


# -- edge cases the RFC spells out -----------------------------------------------------


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert TreeBuilder().root() == EMPTY_ROOT == bytes.fromhex(TREE["roots"][0])
    assert root_plan(0).node_ids == ()


def test_inclusion_index_beyond_size_is_rejected() -> None:
    with pytest.raises(ProofError, match=r"^index 9 is beyond tree size 8$"):
        inclusion_plan(9, 8)
    with pytest.raises(ProofError, match=r"^index 0 is beyond tree size 0$"):
        verify_inclusion(EMPTY_ROOT, 0, 0, [], EMPTY_ROOT)


def test_inclusion_proof_length_is_explained() -> None:
    tree = StoredTree(LEAVES[:7])
    proof = tree.prove(inclusion_plan(4, 7))
    with pytest.raises(ProofError) as caught:
        verify_inclusion(leaf_hash(LEAVES[4]), 4, 7, [*proof, *proof[:2]], tree.roots[7])
    assert caught.value.reason == "proof has 5 hashes, a tree of size 7 needs 3 for index 4"


def test_wrong_leaf_of_the_right_size_names_both_roots() -> None:
    proof = STORED_8.prove(inclusion_plan(3, 8))
    root = STORED_8.roots[8]
    calculated = root_from_inclusion_proof(leaf_hash(b"forged"), 3, 8, proof)
    with pytest.raises(ProofError) as caught:
        verify_inclusion(leaf_hash(b"forged"), 3, 8, proof, root)
    assert caught.value.reason == (
        f"calculated root {calculated.hex()[:16]}… does not match expected root {root.hex()[:16]}…"
    )


def test_single_leaf_tree_root_is_the_leaf_hash() -> None:
    leaf = leaf_hash(b"data")
    verify_inclusion(leaf, 0, 1, [], leaf)
    with pytest.raises(ProofError, match="leaf hash is 0 bytes"):
        verify_inclusion(b"", 0, 1, [], leaf)
    with pytest.raises(ProofError, match="root is 0 bytes"):
        verify_inclusion(leaf, 0, 1, [], b"")


def test_trivial_consistency() -> None:
    root = STORED_8.roots[5]
    verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    verify_consistency(0, 5, [], EMPTY_ROOT, root)
    verify_consistency(5, 5, [], root, root)
    with pytest.raises(ProofError, match=r"^two trees of size 5 have different roots$"):
        verify_consistency(5, 5, [], root, STORED_8.roots[6])
    with pytest.raises(ProofError, match=r"^proof has 1 hashes, trees of sizes 5 and 5 need 0$"):
        verify_consistency(5, 5, [root], root, root)
    with pytest.raises(ProofError, match=r"^calculated root1 e3b0c44298fc1c14… does not match"):
        verify_consistency(0, 5, [], root, root)
    with pytest.raises(ProofError, match=r"^old tree size 6 is larger than new tree size 5$"):
        verify_consistency(6, 5, [], root, root)


def test_range_nodes_form_the_compact_range() -> None:
    assert range_nodes(0, 7) == [NodeID(2, 0), NodeID(1, 2), NodeID(0, 6)]
    assert range_nodes(3, 13) == [NodeID(0, 3), NodeID(2, 1), NodeID(2, 2), NodeID(0, 12)]
    assert range_nodes(5, 5) == []


def test_nodes_completed_by_append() -> None:
    assert nodes_completed_by_append(0) == [NodeID(0, 0)]
    assert nodes_completed_by_append(6) == [NodeID(0, 6)]
    assert nodes_completed_by_append(7) == [NodeID(0, 7), NodeID(1, 3), NodeID(2, 1), NodeID(3, 0)]


def test_completed_hashes_from_stored_left_siblings() -> None:
    # Appending leaf 7 to a tree of 7 completes (0,7), (1,3), (2,1) and (3,0).
    completed = nodes_completed_by_append(7)
    siblings = [STORED_8.nodes[NodeID(node.level - 1, 2 * node.index)] for node in completed[1:]]
    hashes = completed_hashes(leaf_hash(LEAVES[7]), siblings)
    assert hashes == [STORED_8.nodes[node] for node in completed]
    border = [STORED_8.nodes[node] for node in root_plan(6).node_ids]
    assert root_from_border(border) == STORED_8.roots[6]


def test_tree_builder_resumes_from_a_stored_border() -> None:
    border = [STORED_8.nodes[node] for node in root_plan(5).node_ids]
    builder = TreeBuilder(5, border)
    stored = [pair for leaf in LEAVES[5:] for pair in builder.append(leaf_hash(leaf))]
    assert builder.size == 8
    assert builder.root() == STORED_8.roots[8]
    assert stored == [(node, STORED_8.nodes[node]) for node, _ in stored]
    assert {node for node, _ in stored} == {node for node in STORED_8.nodes if node.end > 5}
    with pytest.raises(ValueError, match="a tree of size 6 has 2 border nodes, got 1"):
        TreeBuilder(6, border[:1])


def test_rehash_checks_the_number_of_hashes() -> None:
    with pytest.raises(ValueError, match="plan needs 3 hashes, got 2"):
        inclusion_plan(0, 8).rehash([EMPTY_ROOT, EMPTY_ROOT])


def test_fold_of_nothing_is_the_empty_root() -> None:
    assert fold([]) == EMPTY_ROOT


def test_plans_cost_logarithmic_reads() -> None:
    size = (1 << 40) + 12345
    assert len(inclusion_plan(size - 1, size).node_ids) <= 2 * 41
    assert len(consistency_plan(size // 3, size).node_ids) <= 2 * 41
    assert len(root_plan(size).node_ids) == size.bit_count()


# -- property tests against the reference recursion -------------------------------------

MAX_SIZE = 300
BIG_TREE_LEAVES = [i.to_bytes(2, "big") for i in range(MAX_SIZE)]
BIG_TREE = StoredTree(BIG_TREE_LEAVES)


@settings(max_examples=200, deadline=None, database=None)
@given(st.integers(1, MAX_SIZE).flatmap(lambda n: st.tuples(st.integers(0, n - 1), st.just(n))))
def test_inclusion_plans_match_the_rfc_recursion(index_size: tuple[int, int]) -> None:
    index, size = index_size
    leaves = BIG_TREE_LEAVES[:size]
    plan = inclusion_plan(index, size)
    proof = BIG_TREE.prove(plan)
    assert proof == reference_inclusion(index, leaves)
    assert len(proof) == plan.proof_length
    assert BIG_TREE.root(size) == BIG_TREE.roots[size] == reference_root(leaves)
    verify_inclusion(leaf_hash(leaves[index]), index, size, proof, BIG_TREE.roots[size])


@settings(max_examples=100, deadline=None, database=None)
@given(st.integers(1, MAX_SIZE))
def test_consistency_plans_match_the_rfc_recursion_for_every_older_size(size: int) -> None:
    leaves = BIG_TREE_LEAVES[:size]
    for old in range(1, size + 1):
        plan = consistency_plan(old, size)
        proof = BIG_TREE.prove(plan)
        assert proof == reference_consistency(old, leaves)
        assert len(proof) == plan.proof_length
        verify_consistency(old, size, proof, BIG_TREE.roots[old], BIG_TREE.roots[size])


@settings(max_examples=100, deadline=None, database=None)
@given(
    st.integers(2, MAX_SIZE).flatmap(
        lambda n: st.tuples(st.integers(1, n - 1), st.just(n), st.integers(0, 63))
    )
)
def test_any_flipped_bit_breaks_a_consistency_proof(case: tuple[int, int, int]) -> None:
    old, size, bit = case
    proof = BIG_TREE.prove(consistency_plan(old, size))
    position = bit % len(proof)
    broken = [*proof]
    broken[position] = bytes([broken[position][0] ^ (1 << (bit % 8))]) + broken[position][1:]
    with pytest.raises(ProofError, match="does not match expected"):
        verify_consistency(old, size, broken, BIG_TREE.roots[old], BIG_TREE.roots[size])
