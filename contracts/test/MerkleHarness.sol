// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleTree} from "../common/MerkleTree.sol";

/// @title MerkleHarness
/// @notice Exposes {MerkleTree} for the shared test vectors and the gas benchmark.
contract MerkleHarness {
    function leafHash(uint256 index, bytes32 item) external pure returns (bytes32) {
        return MerkleTree.leafHash(index, item);
    }

    function verify(bytes32 root, uint256 index, bytes32 item, bytes32[] calldata proof) external pure returns (bool) {
        return MerkleTree.verify(root, index, item, proof);
    }

    function rootOf(bytes32[] calldata items) external pure returns (bytes32) {
        return MerkleTree.rootOf(items);
    }

    /// @notice Same as {verify} but as a transaction, so its gas can be measured exactly.
    function verifyTx(bytes32 root, uint256 index, bytes32 item, bytes32[] calldata proof) external returns (bool ok) {
        ok = MerkleTree.verify(root, index, item, proof);
        emit Verified(root, index, ok);
    }

    event Verified(bytes32 indexed root, uint256 indexed index, bool ok);
}
