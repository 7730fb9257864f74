// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {MerkleTree} from "../../../contracts/common/MerkleTree.sol";

/// @notice Fuzz: every leaf of a tree built on-chain verifies, and a wrong index does not; the
///         calldata variants agree with the memory ones.
contract MerkleTreeTest is Test {
    function testFuzz_everyLeafVerifies(uint256 seed, uint8 count, uint8 pick) public view {
        uint256 n = bound(count, 1, 40);
        uint256 idx = bound(pick, 0, n - 1);
        bytes32[] memory items = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) items[i] = keccak256(abi.encode(seed, i));
        bytes32 item = items[idx];
        bytes32[] memory scratch = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) scratch[i] = items[i];
        bytes32 root = MerkleTree.rootOf(scratch);
        bytes32[] memory proof = _proof(items, idx);
        assertTrue(MerkleTree.verify(root, idx, item, proof), "leaf must verify");
        assertTrue(this.verifyCalldata(root, idx, item, proof), "leaf must verify from calldata");
        assertEq(this.computeRootCalldata(idx, item, proof), root, "calldata root");
        if (n > 1) {
            uint256 other = (idx + 1) % n;
            assertTrue(!MerkleTree.verify(root, other, item, proof), "wrong index must not verify");
            assertTrue(!this.verifyCalldata(root, other, item, proof), "wrong index, calldata");
            assertTrue(!this.verifyCalldata(root, idx, keccak256(abi.encode(item)), proof), "wrong item");
        }
    }

    /// @notice An index past what the proof's length can address is refused (not wrapped onto
    ///         another leaf) with the index and the proof length.
    function test_indexOutOfRangeReverts() public {
        bytes32[] memory proof = new bytes32[](3); // addresses leaves 0..7
        vm.expectRevert(abi.encodeWithSelector(MerkleTree.MerkleTreeIndexOutOfRange.selector, 8, 3));
        this.computeRoot(8, keccak256("item"), proof);
        vm.expectRevert(abi.encodeWithSelector(MerkleTree.MerkleTreeIndexOutOfRange.selector, 8, 3));
        this.computeRootCalldata(8, keccak256("item"), proof);
        assertTrue(!this.verifyCalldata(bytes32(0), 8, keccak256("item"), proof), "out of range");
    }

    function computeRoot(uint256 index, bytes32 item, bytes32[] memory proof) external pure returns (bytes32) {
        return MerkleTree.computeRoot(index, item, proof);
    }

    function computeRootCalldata(uint256 index, bytes32 item, bytes32[] calldata proof)
        external
        pure
        returns (bytes32)
    {
        return MerkleTree.computeRootCalldata(index, item, proof);
    }

    function verifyCalldata(bytes32 root, uint256 index, bytes32 item, bytes32[] calldata proof)
        external
        pure
        returns (bool)
    {
        return MerkleTree.verifyCalldata(root, index, item, proof);
    }

    /// @dev Reference proof builder (level by level, zero padding), independent of the library.
    function _proof(bytes32[] memory items, uint256 idx) internal pure returns (bytes32[] memory out) {
        uint256 n = items.length;
        bytes32[] memory level = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) level[i] = MerkleTree.leafHash(i, items[i]);
        uint256 depth;
        for (uint256 m = n; m > 1; m = (m + 1) / 2) depth++;
        out = new bytes32[](depth);
        for (uint256 d = 0; d < depth; d++) {
            uint256 sib = idx ^ 1;
            out[d] = sib < n ? level[sib] : bytes32(0);
            uint256 m = (n + 1) / 2;
            for (uint256 i = 0; i < m; i++) {
                bytes32 r = 2 * i + 1 < n ? level[2 * i + 1] : bytes32(0);
                level[i] = keccak256(abi.encodePacked(level[2 * i], r));
            }
            n = m;
            idx >>= 1;
        }
    }
}
