// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title MerkleTree
/// @notice The one Merkle tree of l2kit (docs/spec.md, "Merkle tree"); twin of
///         offchain/common/merkle.py.
/// @dev    leaf(i, item) = keccak256(0x00 ‖ uint256(i) ‖ item)  — 65-byte preimage, index-bound;
///         node(l, r)    = keccak256(l ‖ r)                     — 64-byte preimage, ordered;
///         odd levels are padded with bytes32(0); the root of one leaf is its leaf hash.
///         A proof lists siblings from the leaf level up; bit k of the index tells whether
///         the node at level k is a right child.
library MerkleTree {
    /// @notice The proof is too short for `index` (index >= 2**proof.length).
    error MerkleTreeIndexOutOfRange(uint256 index, uint256 proofLength);

    /// @notice Hash of leaf `index` with content hash `item`.
    /// @dev    The 65-byte preimage is written at the free memory pointer without moving it
    ///         (scratch use, allowed for memory-safe assembly): abi.encodePacked would allocate
    ///         it anew on every call.
    function leafHash(uint256 index, bytes32 item) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0) // byte 0 stays 0x00
            mstore(add(m, 0x01), index)
            mstore(add(m, 0x21), item)
            h := keccak256(m, 0x41)
        }
    }

    /// @notice Root implied by `item` at `index` and its sibling path `proof`.
    function computeRoot(uint256 index, bytes32 item, bytes32[] memory proof) internal pure returns (bytes32 node) {
        if (proof.length < 256 && index >> proof.length != 0) {
            revert MerkleTreeIndexOutOfRange(index, proof.length);
        }
        node = leafHash(index, item);
        // Walk up: at each level the index bit says on which side our node sits. The pair is
        // hashed in the scratch space (0x00-0x3f): our node at 0x20 when it is the right child.
        assembly ("memory-safe") {
            let p := add(proof, 0x20)
            for { let end := add(p, shl(5, mload(proof))) } lt(p, end) { p := add(p, 0x20) } {
                let right := shl(5, and(index, 1))
                mstore(right, node)
                mstore(xor(right, 0x20), mload(p))
                node := keccak256(0x00, 0x40)
                index := shr(1, index)
            }
        }
    }

    /// @notice {computeRoot} of a proof in calldata (read in place, not copied to memory).
    function computeRootCalldata(uint256 index, bytes32 item, bytes32[] calldata proof)
        internal
        pure
        returns (bytes32 node)
    {
        if (proof.length < 256 && index >> proof.length != 0) {
            revert MerkleTreeIndexOutOfRange(index, proof.length);
        }
        node = leafHash(index, item);
        assembly ("memory-safe") {
            let p := proof.offset
            for { let end := add(p, shl(5, proof.length)) } lt(p, end) { p := add(p, 0x20) } {
                let right := shl(5, and(index, 1))
                mstore(right, node)
                mstore(xor(right, 0x20), calldataload(p))
                node := keccak256(0x00, 0x40)
                index := shr(1, index)
            }
        }
    }

    /// @notice True when `item` is leaf `index` of the tree with root `root`.
    function verify(bytes32 root, uint256 index, bytes32 item, bytes32[] memory proof) internal pure returns (bool) {
        if (proof.length < 256 && index >> proof.length != 0) return false;
        return computeRoot(index, item, proof) == root;
    }

    /// @notice {verify} of a proof in calldata (read in place, not copied to memory).
    function verifyCalldata(bytes32 root, uint256 index, bytes32 item, bytes32[] calldata proof)
        internal
        pure
        returns (bool)
    {
        if (proof.length < 256 && index >> proof.length != 0) return false;
        return computeRootCalldata(index, item, proof) == root;
    }

    /// @notice Root over `items` (used on-chain for small trees, e.g. data posted in a DA answer).
    /// @dev    Overwrites `items` in place as scratch space.
    function rootOf(bytes32[] memory items) internal pure returns (bytes32) {
        uint256 n = items.length;
        if (n == 0) return bytes32(0);
        for (uint256 i = 0; i < n; i++) {
            items[i] = leafHash(i, items[i]);
        }
        // Hash level by level in place; an odd level is padded with bytes32(0).
        while (n > 1) {
            uint256 m = (n + 1) / 2;
            for (uint256 i = 0; i < m; i++) {
                bytes32 l = items[2 * i];
                bytes32 r = 2 * i + 1 < n ? items[2 * i + 1] : bytes32(0);
                items[i] = _hashPair(l, r);
            }
            n = m;
        }
        return items[0];
    }

    /// @dev keccak256(a ‖ b) in the scratch space (no allocation).
    function _hashPair(bytes32 a, bytes32 b) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0x00, a)
            mstore(0x20, b)
            h := keccak256(0x00, 0x40)
        }
    }
}
