"""The Merkle tree: shared vectors (Python, and the Solidity library on Anvil) and properties."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3

from offchain.chain.client import Chain
from offchain.common import merkle
from offchain.common.hashing import keccak

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


@cache
def vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / "merkle.json").read_text())
    return data


def b(h: str) -> bytes:
    return bytes.fromhex(h[2:])


def _ids(t: dict[str, Any]) -> str:
    return f"{t['size']}-leaves"


# ----------------------------------------------------------- reference model
def ref_root(items: list[bytes]) -> bytes:
    """Independent model of docs/spec.md (eth-hash keccak via web3, recursive halves)."""
    if not items:
        return b"\x00" * 32
    level = [
        bytes(Web3.solidity_keccak(["bytes1", "uint256", "bytes32"], [b"\x00", i, it]))
        for i, it in enumerate(items)
    ]
    while len(level) > 1:
        if len(level) % 2:
            level.append(b"\x00" * 32)
        level = [bytes(Web3.keccak(level[i] + level[i + 1])) for i in range(0, len(level), 2)]
    return level[0]


# ------------------------------------------------------------------- vectors
def test_vectors_file_is_current() -> None:
    gen = subprocess.run(
        [sys.executable, str(VECTORS / "gen_merkle.py"), "--check"], capture_output=True, text=True
    )
    assert gen.returncode == 0, gen.stdout + gen.stderr


def test_vectors_cover_the_required_shapes() -> None:
    sizes = {t["size"]: t for t in vectors()["trees"]}
    assert {1, 2, 3, 1000} <= set(sizes)
    big = {p["index"] for p in sizes[1000]["proofs"]}
    assert {0, 999} <= big and any(i % 2 for i in big)
    assert sizes[1000]["depth"] == 10


def test_worked_example_in_spec() -> None:
    """docs/spec.md's worked example is the 3-leaf vector."""
    three = next(t for t in vectors()["trees"] if t["size"] == 3)
    spec = (Path(__file__).resolve().parents[2] / "docs" / "spec.md").read_text()
    assert three["root"] in spec
    for p in three["proofs"]:
        assert p["leaf"] in spec


@pytest.mark.parametrize("tree", vectors()["trees"], ids=_ids)
def test_python_matches_vectors(tree: dict[str, Any]) -> None:
    items = [b(x) for x in tree["items"]]
    assert merkle.root(items) == b(tree["root"]) == ref_root(items)
    t = merkle.MerkleTree(items)
    assert t.root == b(tree["root"])
    for p in tree["proofs"]:
        i, item, proof = p["index"], b(p["item"]), [b(x) for x in p["proof"]]
        assert merkle.leaf_hash(i, item) == b(p["leaf"])
        assert t.proof(i) == proof
        assert merkle.verify(b(tree["root"]), i, item, proof)
        assert len(proof) == tree["depth"]
    assert merkle.root([]) == b(vectors()["empty_root"])


@pytest.fixture(scope="module")
def harness(chain: Chain) -> Any:
    from offchain.chain.accounts import dev_account

    # Deployed once per module, before the per-test snapshot, so it survives the reverts.
    return chain.sender(dev_account(5)).deploy("MerkleHarness")


@pytest.mark.parametrize("tree", vectors()["trees"], ids=_ids)
def test_solidity_on_anvil_matches_vectors(
    chain: Chain, harness: Any, tree: dict[str, Any]
) -> None:
    root = b(tree["root"])
    items = [b(x) for x in tree["items"]]
    assert harness.functions.rootOf(items).call() == root
    for p in tree["proofs"]:
        i, item, proof = p["index"], b(p["item"]), [b(x) for x in p["proof"]]
        assert harness.functions.leafHash(i, item).call() == b(p["leaf"])
        assert harness.functions.verify(root, i, item, proof).call() is True
        # The same proof must not verify another index, another item or another root.
        if tree["size"] > 1:
            assert harness.functions.verify(root, i ^ 1, item, proof).call() is False
        assert harness.functions.verify(root, i, keccak(item), proof).call() is False
        assert harness.functions.verify(keccak(root), i, item, proof).call() is False


def test_solidity_rejects_index_beyond_proof(chain: Chain, harness: Any) -> None:
    tree = next(t for t in vectors()["trees"] if t["size"] == 2)
    p = tree["proofs"][1]
    proof = [b(x) for x in p["proof"]]
    assert harness.functions.verify(b(tree["root"]), 3, b(p["item"]), proof).call() is False
    with pytest.raises(ValueError):
        merkle.compute_root(3, b(p["item"]), proof)


# ---------------------------------------------------------------- properties
hashes = st.binary(min_size=32, max_size=32)
trees = st.lists(hashes, min_size=1, max_size=70)


@settings(max_examples=150, deadline=None)
@given(items=trees, data=st.data())
def test_every_leaf_verifies_and_matches_the_model(items: list[bytes], data: st.DataObject) -> None:
    t = merkle.MerkleTree(items)
    assert t.root == merkle.root(items) == ref_root(items)
    i = data.draw(st.integers(0, len(items) - 1))
    proof = t.proof(i)
    assert len(proof) == (len(items) - 1).bit_length()
    assert merkle.verify(t.root, i, items[i], proof)


@settings(max_examples=150, deadline=None)
@given(items=trees, data=st.data())
def test_wrong_index_item_or_sibling_fails(items: list[bytes], data: st.DataObject) -> None:
    t = merkle.MerkleTree(items)
    i = data.draw(st.integers(0, len(items) - 1))
    proof = t.proof(i)
    other = data.draw(hashes.filter(lambda h: h != items[i]))
    assert not merkle.verify(t.root, i, other, proof)
    if len(items) > 1:
        j = data.draw(st.integers(0, (1 << len(proof)) - 1).filter(lambda j: j != i))
        assert not merkle.verify(t.root, j, items[i], proof)
        k = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[k] = keccak(bad[k])
        assert not merkle.verify(t.root, i, items[i], bad)


@settings(max_examples=100, deadline=None)
@given(items=st.lists(hashes, min_size=2, max_size=40, unique=True), data=st.data())
def test_leaves_are_bound_to_their_index(items: list[bytes], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(items) - 1))
    j = data.draw(st.integers(0, len(items) - 1).filter(lambda j: j != i))
    swapped = list(items)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    assert merkle.root(swapped) != merkle.root(items)
    # Appending a zero item is not the same tree as the zero padding.
    assert merkle.root([*items, b"\x00" * 32]) != merkle.root(items)


def test_items_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        merkle.root([b"short"])
    with pytest.raises(IndexError):
        merkle.MerkleTree([keccak(b"a")]).proof(1)
