"""The one Merkle tree of l2kit (docs/spec.md, "Merkle tree").

Twin of contracts/common/MerkleTree.sol.

- ``leaf(i, item) = keccak256(0x00 ‖ uint256(i) ‖ item)`` (65 bytes: index-bound and never
  confused with an inner node, whose preimage is 64 bytes);
- ``node(l, r) = keccak256(l ‖ r)`` (ordered, not sorted);
- a level with an odd number of nodes is padded with ``bytes32(0)``;
- the root of 0 leaves is ``bytes32(0)``; of 1 leaf, that leaf's hash;
- a proof for index ``i`` is the list of siblings from the leaf level up; bit ``k`` of ``i``
  says whether the node at level ``k`` is a right child.
"""

from __future__ import annotations

from collections.abc import Sequence

from offchain.common.hashing import keccak, keccak_pair

ZERO = b"\x00" * 32


def leaf_hash(index: int, item: bytes) -> bytes:
    """Hash of leaf ``index`` whose content hash is ``item`` (32 bytes)."""
    if len(item) != 32:
        raise ValueError("a Merkle item must be 32 bytes (hash the encoded leaf first)")
    return keccak(b"\x00" + index.to_bytes(32, "big") + item)


def _next_level(level: list[bytes]) -> list[bytes]:
    if len(level) % 2:
        level = [*level, ZERO]
    return [keccak_pair(level[i], level[i + 1]) for i in range(0, len(level), 2)]


def root(items: Sequence[bytes]) -> bytes:
    """Root over ``items`` (each a 32-byte content hash), leaves bound to their index."""
    if not items:
        return ZERO
    level = [leaf_hash(i, it) for i, it in enumerate(items)]
    while len(level) > 1:
        level = _next_level(level)
    return level[0]


class MerkleTree:
    """All levels of a tree, for many proofs over the same items."""

    def __init__(self, items: Sequence[bytes]) -> None:
        self.size = len(items)
        self.levels: list[list[bytes]] = [[leaf_hash(i, it) for i, it in enumerate(items)]]
        while len(self.levels[-1]) > 1:
            self.levels.append(_next_level(self.levels[-1]))

    @property
    def root(self) -> bytes:
        return self.levels[-1][0] if self.size else ZERO

    def proof(self, index: int) -> list[bytes]:
        """Siblings of leaf ``index`` from the bottom up."""
        if not 0 <= index < self.size:
            raise IndexError(f"leaf {index} out of range (tree has {self.size})")
        out = []
        i = index
        for level in self.levels[:-1]:
            sib = i ^ 1
            out.append(level[sib] if sib < len(level) else ZERO)
            i >>= 1
        return out


def verify(root_: bytes, index: int, item: bytes, proof: Sequence[bytes]) -> bool:
    """True when ``item`` is leaf ``index`` of the tree with root ``root_``."""
    return compute_root(index, item, proof) == root_


def compute_root(index: int, item: bytes, proof: Sequence[bytes]) -> bytes:
    node = leaf_hash(index, item)
    i = index
    for sib in proof:
        node = keccak_pair(sib, node) if i & 1 else keccak_pair(node, sib)
        i >>= 1
    if i != 0:
        raise ValueError("index out of range for the proof length")
    return node
