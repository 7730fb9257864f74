// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {MerkleTree} from "../../../contracts/common/MerkleTree.sol";

/// @notice The shared vectors of docs/spec.md ("Merkle tree"), tests/vectors/merkle.json, checked
///         against the Solidity library: roots (rootOf), leaf hashes and every listed proof.
contract MerkleVectorsTest is Test {
    string internal json;

    function setUp() public {
        json = vm.readFile("tests/vectors/merkle.json");
    }

    function test_emptyRoot() public view {
        bytes32[] memory none = new bytes32[](0);
        assertEq(MerkleTree.rootOf(none), vm.parseJsonBytes32(json, ".empty_root"), "empty root");
    }

    function test_oneLeaf() public view {
        _checkTree(0, 1);
    }

    function test_twoLeaves() public view {
        _checkTree(1, 2);
    }

    function test_threeLeaves() public view {
        _checkTree(2, 3);
    }

    function test_fiveLeaves() public view {
        _checkTree(3, 5);
    }

    function test_thousandLeaves() public view {
        _checkTree(4, 1000);
    }

    /// @dev Checks tree number `t` (which must have `size` items) of the vectors file.
    function _checkTree(uint256 t, uint256 size) internal view {
        string memory p = string.concat(".trees[", vm.toString(t), "]");
        assertEq(vm.parseJsonUint(json, string.concat(p, ".size")), size, "tree size");
        bytes32 root = vm.parseJsonBytes32(json, string.concat(p, ".root"));
        bytes32[] memory items = vm.parseJsonBytes32Array(json, string.concat(p, ".items"));
        assertEq(items.length, size, "item count");
        // rootOf overwrites its argument, so give it a copy.
        bytes32[] memory scratch = new bytes32[](size);
        for (uint256 i = 0; i < size; i++) scratch[i] = items[i];
        assertEq(MerkleTree.rootOf(scratch), root, "rootOf(items) == root");
        // Every listed proof: leaf hash, verify, and the root it computes.
        uint256 count = size < 8 ? size : 8;
        for (uint256 k = 0; k < count; k++) {
            string memory q = string.concat(p, ".proofs[", vm.toString(k), "]");
            uint256 index = vm.parseJsonUint(json, string.concat(q, ".index"));
            bytes32 item = vm.parseJsonBytes32(json, string.concat(q, ".item"));
            bytes32[] memory proof = vm.parseJsonBytes32Array(json, string.concat(q, ".proof"));
            assertEq(item, items[index], "item at index");
            assertEq(MerkleTree.leafHash(index, item), vm.parseJsonBytes32(json, string.concat(q, ".leaf")), "leaf");
            assertEq(MerkleTree.computeRoot(index, item, proof), root, "computeRoot");
            assertTrue(MerkleTree.verify(root, index, item, proof), "proof verifies");
            assertTrue(!MerkleTree.verify(root, index, keccak256(abi.encode(item)), proof), "other item fails");
            if (size > 1) assertTrue(!MerkleTree.verify(root, index ^ 1, item, proof), "other index fails");
        }
    }
}
