// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title StateTree
/// @notice Inclusion/exclusion proofs and single-key updates of the L2 state tree: an indexed
///         Merkle tree of depth 32 (docs/spec.md, "State and state root"); twin of
///         offchain/rollup/ledger/state.py.
/// @dev    Leaves `(key, value, nextKey)` form a linked list sorted by key, stored append-only;
///         leafHash = keccak256(abi.encode(key, value, nextKey)); an empty slot is bytes32(0);
///         node(a, b) = 0 if a == b == 0, else keccak256(a ‖ b). A witness proves a key present
///         (its own leaf) or absent (the "low leaf" whose key < k < nextKey, nextKey 0 = end).
library StateTree {
    /// @notice Height of the tree (2**32 leaf slots).
    uint256 internal constant DEPTH = 32;

    /// @notice Witness of one access to one key, against the tree before the access.
    /// @param index          leaf index of the key's leaf (inclusion) or of its low leaf (exclusion)
    /// @param leafKey        key of that leaf
    /// @param leafValue      value of that leaf
    /// @param leafNextKey    next key of that leaf (0 = last)
    /// @param siblings       32 siblings of that leaf, from the leaf level up
    /// @param insertSiblings for an insertion only: the 32 siblings of the empty slot `size`
    ///                       after the low leaf was updated; empty otherwise
    struct KeyWitness {
        uint256 index;
        uint256 leafKey;
        uint256 leafValue;
        uint256 leafNextKey;
        bytes32[] siblings;
        bytes32[] insertSiblings;
    }

    /// @notice The tree part of an L2 state: root and number of leaves.
    struct Tree {
        bytes32 root;
        uint256 size;
    }

    /// @notice The witness for `key` does not verify against the tree (or does not fit the key).
    error StateTreeInvalidProof(uint256 key, uint256 index);

    /// @notice keccak256(abi.encode(key, value, nextKey)).
    function leafHash(uint256 key, uint256 value, uint256 nextKey) internal pure returns (bytes32) {
        return keccak256(abi.encode(key, value, nextKey));
    }

    /// @notice Root implied by `leaf` (a leaf hash, or 0 for an empty slot) at `index`.
    function computeRoot(uint256 index, bytes32 leaf, bytes32[] calldata siblings) internal pure returns (bytes32 node) {
        node = leaf;
        uint256 i = index;
        // Walk up 32 levels: bit k of the index says whether our node is the right child.
        for (uint256 k = 0; k < DEPTH; k++) {
            node = (i & 1 == 1) ? _node(siblings[k], node) : _node(node, siblings[k]);
            i >>= 1;
        }
    }

    /// @notice Verify `w` for `key` against `t` and return the key's value (0 when absent).
    /// @return value   the stored value, or 0
    /// @return present true if the key has a leaf
    function read(Tree memory t, uint256 key, KeyWitness calldata w)
        internal
        pure
        returns (uint256 value, bool present)
    {
        if (w.siblings.length != DEPTH || w.index >= t.size) revert StateTreeInvalidProof(key, w.index);
        if (computeRoot(w.index, leafHash(w.leafKey, w.leafValue, w.leafNextKey), w.siblings) != t.root) {
            revert StateTreeInvalidProof(key, w.index);
        }
        if (w.leafKey == key) return (w.leafValue, true);
        // Exclusion: the low leaf must bracket the key.
        if (w.leafKey < key && (w.leafNextKey == 0 || w.leafNextKey > key)) return (0, false);
        revert StateTreeInvalidProof(key, w.index);
    }

    /// @notice Write `value` to `key`, using the witness `w` that {read} just verified against `t`.
    /// @dev    Present key: the leaf's value changes. Absent key and value 0: nothing changes.
    ///         Absent key and value != 0: insertion (low leaf points to the key, new leaf at `size`).
    /// @return ok false only when an insertion finds the tree full (2**32 leaves)
    function writeAfterRead(Tree memory t, uint256 key, KeyWitness calldata w, bool present, uint256 value)
        internal
        pure
        returns (bool ok)
    {
        if (present) {
            t.root = computeRoot(w.index, leafHash(key, value, w.leafNextKey), w.siblings);
            return true;
        }
        if (value == 0) return true;
        if (t.size >= (1 << DEPTH)) return false;
        // 1. The low leaf now points to the new key.
        bytes32 mid = computeRoot(w.index, leafHash(w.leafKey, w.leafValue, key), w.siblings);
        // 2. Slot `size` is empty in that tree; fill it with the new leaf.
        if (w.insertSiblings.length != DEPTH || computeRoot(t.size, bytes32(0), w.insertSiblings) != mid) {
            revert StateTreeInvalidProof(key, t.size);
        }
        t.root = computeRoot(t.size, leafHash(key, value, w.leafNextKey), w.insertSiblings);
        t.size += 1;
        return true;
    }

    /// @dev Inner node: two empty children give an empty node (so empty subtrees cost nothing).
    ///      keccak256(a ‖ b) is computed in the scratch space (0x00-0x3f) instead of
    ///      abi.encodePacked, which would allocate 64 new bytes of memory on each of the
    ///      hundreds of calls of one fraud proof (about a third of its execution gas).
    function _node(bytes32 a, bytes32 b) private pure returns (bytes32 h) {
        if (a == bytes32(0) && b == bytes32(0)) return bytes32(0);
        assembly ("memory-safe") {
            mstore(0x00, a)
            mstore(0x20, b)
            h := keccak256(0x00, 0x40)
        }
    }
}
