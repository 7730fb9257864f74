// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {StateTree} from "../../../contracts/rollup/StateTree.sol";

/// @notice Builds an L2 state tree (docs/spec.md, "State and state root") from (key, value)
///         pairs, for tests: the sentinel at slot 0, then the keys in ascending order (slot i+1
///         holds the i-th smallest key), each pointing to the next larger key.
library StateTreeBuilder {
    /// @notice The built tree: leaf hashes by level (level 0 = leaves) and its root.
    struct Built {
        uint256[] keys;
        uint256[] values;
        bytes32[][] levels;
        bytes32 root;
        uint256 size;
    }

    /// @notice Sorts `keys` (with `values`) and builds the tree.
    function build(uint256[] memory keys, uint256[] memory values) internal pure returns (Built memory b) {
        uint256 n = keys.length;
        // Insertion sort (tests hold a handful of keys).
        for (uint256 i = 1; i < n; i++) {
            (uint256 k, uint256 v) = (keys[i], values[i]);
            uint256 j = i;
            while (j > 0 && keys[j - 1] > k) {
                (keys[j], values[j]) = (keys[j - 1], values[j - 1]);
                j--;
            }
            (keys[j], values[j]) = (k, v);
        }
        b.keys = keys;
        b.values = values;
        b.size = n + 1;
        bytes32[] memory level = new bytes32[](n + 1);
        level[0] = StateTree.leafHash(0, 0, n > 0 ? keys[0] : 0);
        for (uint256 i = 0; i < n; i++) {
            level[i + 1] = StateTree.leafHash(keys[i], values[i], i + 1 < n ? keys[i + 1] : 0);
        }
        b.levels = new bytes32[][](StateTree.DEPTH + 1);
        b.levels[0] = level;
        // Hash up 32 levels; a missing right child is an empty slot (bytes32(0)).
        for (uint256 h = 0; h < StateTree.DEPTH; h++) {
            bytes32[] memory cur = b.levels[h];
            bytes32[] memory up = new bytes32[]((cur.length + 1) / 2);
            for (uint256 i = 0; i < up.length; i++) {
                bytes32 r = 2 * i + 1 < cur.length ? cur[2 * i + 1] : bytes32(0);
                up[i] = _node(cur[2 * i], r);
            }
            b.levels[h + 1] = up;
        }
        b.root = b.levels[StateTree.DEPTH][0];
    }

    /// @notice Witness of `key`: inclusion if present, else exclusion (its low leaf).
    function witness(Built memory b, uint256 key) internal pure returns (StateTree.KeyWitness memory w) {
        // Slot of the key, or of the largest key below it (slot 0 = the sentinel, key 0).
        uint256 slot = 0;
        for (uint256 i = 0; i < b.keys.length && b.keys[i] <= key; i++) {
            slot = i + 1;
        }
        w.index = slot;
        w.leafKey = slot == 0 ? 0 : b.keys[slot - 1];
        w.leafValue = slot == 0 ? 0 : b.values[slot - 1];
        w.leafNextKey = slot < b.keys.length ? b.keys[slot] : 0;
        w.siblings = new bytes32[](StateTree.DEPTH);
        uint256 idx = slot;
        for (uint256 h = 0; h < StateTree.DEPTH; h++) {
            bytes32[] memory cur = b.levels[h];
            uint256 s = idx ^ 1;
            w.siblings[h] = s < cur.length ? cur[s] : bytes32(0);
            idx >>= 1;
        }
        w.insertSiblings = new bytes32[](0);
    }

    function _node(bytes32 a, bytes32 c) private pure returns (bytes32) {
        if (a == bytes32(0) && c == bytes32(0)) return bytes32(0);
        return keccak256(abi.encodePacked(a, c));
    }
}
