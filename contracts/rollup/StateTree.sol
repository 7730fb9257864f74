// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title StateTree
/// @notice Inclusion/exclusion proofs and single-key updates of the L2 state tree: an indexed
///         Merkle tree of depth 32 (docs/spec.md, "State and state root"); twin of
///         offchain/rollup/ledger/state.py.
/// @dev    Leaves `(key, value, nextKey)` form a linked list sorted by key, stored append-only;
///         leafHash = keccak256(abi.encode(key, value, nextKey)); an empty slot is bytes32(0);
///         node(a, b) = 0 if a == b == 0, else keccak256(a ‖ b) (so empty subtrees cost nothing). A witness proves a key present
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
    /// @dev    The preimage is written at the free memory pointer without moving it (scratch
    ///         use): abi.encode would allocate 96 new bytes on each of the calls of a proof.
    function leafHash(uint256 key, uint256 value, uint256 nextKey) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, key)
            mstore(add(m, 0x20), value)
            mstore(add(m, 0x40), nextKey)
            h := keccak256(m, 0x60)
        }
    }

    /// @notice Root implied by `leaf` (a leaf hash, or 0 for an empty slot) at `index`.
    /// @dev    Reverts {StateTreeInvalidProof}(0, index) unless there are exactly {DEPTH}
    ///         siblings. The walk is in assembly: it is most of a fraud proof's execution (14
    ///         walks of 32 levels for a token transfer), about 300 gas a level in Solidity
    ///         (checked index, bounds-checked calldata read, a call per node) against a third
    ///         of that here. Each level hashes in the scratch space (0x00-0x3f), our node at
    ///         0x20 when bit k of the index says it is the right child; two empty children give
    ///         an empty node, unhashed.
    function computeRoot(uint256 index, bytes32 leaf, bytes32[] calldata siblings) internal pure returns (bytes32 node) {
        if (siblings.length != DEPTH) revert StateTreeInvalidProof(0, index);
        assembly ("memory-safe") {
            node := leaf
            let i := index
            let p := siblings.offset
            // Two levels an iteration (DEPTH is even): half the loop overhead.
            for { let end := add(p, shl(5, DEPTH)) } lt(p, end) { p := add(p, 0x40) } {
                {
                    let sibling := calldataload(p)
                    if or(node, sibling) {
                        let right := shl(5, and(i, 1))
                        mstore(right, node)
                        mstore(xor(right, 0x20), sibling)
                        node := keccak256(0x00, 0x40)
                    }
                }
                {
                    let sibling := calldataload(add(p, 0x20))
                    if or(node, sibling) {
                        let right := shl(5, and(shr(1, i), 1))
                        mstore(right, node)
                        mstore(xor(right, 0x20), sibling)
                        node := keccak256(0x00, 0x40)
                    }
                }
                i := shr(2, i)
            }
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
}
