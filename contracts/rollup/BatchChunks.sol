// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleTree} from "../common/MerkleTree.sol";

/// @title BatchChunks
/// @notice A batch's data posted on L1 in chunks (docs/spec.md, "Data-availability answer in
///         chunks"): chunk `j` holds transactions `256 j .. min(256 (j+1), n) - 1` in the packed
///         format of "Compact batch data" (withdrawal indices relative to the chunk). From each
///         chunk L1 recomputes its three subtrees (MTTBR, MTSR, withdrawal root) at level
///         `min(8, depth(n))` of the batch's trees; once every chunk is in, the subtrees combine
///         into the three roots (seed 001 §3.3.5, §11.9: L1 computes the batch from posted data).
/// @dev    The trees are MerkleTree's (index-bound leaves, odd levels padded with bytes32(0)). A
///         full chunk covers an aligned 256-leaf subtree, so its node at level 8 is the batch
///         tree's node; inside the last chunk every level has the parity the whole tree has at
///         that level, so padding inside it is the whole tree's padding.
library BatchChunks {
    /// @notice Transactions per chunk (2^CHUNK_HEIGHT); a chunk is at most ~75 kB packed.
    uint256 internal constant CHUNK_TXS = 256;
    /// @notice log2(CHUNK_TXS).
    uint256 internal constant CHUNK_HEIGHT = 8;

    /// @notice A chunk's three subtree nodes and its last claimed post-state root.
    struct Roots {
        bytes32 txNode;
        bytes32 stateNode;
        bytes32 withdrawalNode;
        bytes32 lastPostRoot;
    }

    /// @notice The packed chunk does not parse at byte `offset` (`what` names the field).
    error BatchChunksMalformed(uint256 offset, string what);
    /// @notice The chunk holds `got` transactions, chunk `chunk` of the batch must hold `expected`.
    error BatchChunksWrongCount(uint256 chunk, uint256 got, uint256 expected);

    /// @notice Number of chunks of a batch of `n` transactions.
    function chunkCount(uint256 n) internal pure returns (uint256) {
        return (n + CHUNK_TXS - 1) / CHUNK_TXS;
    }

    /// @notice Depth of the batch's trees: the number of bits of n - 1 (0 for one leaf).
    function depth(uint256 n) internal pure returns (uint256 d) {
        uint256 x = n - 1;
        while (x != 0) {
            d++;
            x >>= 1;
        }
    }

    /// @notice Hashes `nodes` level by level for `levels` levels (odd levels padded with zero).
    /// @dev    Overwrites `nodes` in place.
    function reduce(bytes32[] memory nodes, uint256 levels) internal pure returns (bytes32 root) {
        if (nodes.length == 0) revert BatchChunksMalformed(0, "no nodes");
        assembly ("memory-safe") {
            let len := mload(nodes)
            let data := add(nodes, 0x20)
            for { let l := 0 } lt(l, levels) { l := add(l, 1) } {
                let half := shr(1, add(len, 1))
                for { let i := 0 } lt(i, half) { i := add(i, 1) } {
                    let src := add(data, shl(6, i))
                    mstore(0x00, mload(src))
                    let b := 0
                    if lt(add(shl(1, i), 1), len) { b := mload(add(src, 0x20)) }
                    mstore(0x20, b)
                    mstore(add(data, shl(5, i)), keccak256(0x00, 0x40))
                }
                len := half
            }
            root := mload(data)
        }
    }

    /// @notice Parses packed chunk `chunk` of a batch of `n` transactions and returns its nodes.
    function rootsOf(bytes calldata packed, uint256 chunk, uint256 n) internal pure returns (Roots memory out) {
        uint256 first = chunk * CHUNK_TXS;
        uint256 cnt = n - first < CHUNK_TXS ? n - first : CHUNK_TXS;
        uint256 p = 0;
        uint256 got = _u32(packed, p, "txCount");
        if (got != cnt) revert BatchChunksWrongCount(chunk, got, cnt);
        p += 4;
        bytes32[] memory txItems = new bytes32[](cnt);
        for (uint256 i = 0; i < cnt; i++) {
            uint256 m = _freeMemory();
            (txItems[i], p) = _txHash(packed, p);
            _reuseMemory(m);
        }
        p = _feeRecipients(packed, p, txItems);
        bytes32[] memory stateItems = new bytes32[](cnt);
        bytes calldata roots = _take(packed, p, 32 * cnt, "post-state roots");
        assembly ("memory-safe") {
            calldatacopy(add(stateItems, 0x20), roots.offset, roots.length)
        }
        p += 32 * cnt;
        bytes32[] memory withdrawalItems = new bytes32[](cnt);
        p = _withdrawals(packed, p, withdrawalItems);
        if (p != packed.length) revert BatchChunksMalformed(p, "trailing bytes");
        out.lastPostRoot = stateItems[cnt - 1];
        uint256 levels = depth(n) < CHUNK_HEIGHT ? depth(n) : CHUNK_HEIGHT;
        out.txNode = _subtree(first, txItems, levels);
        out.stateNode = _subtree(first, stateItems, levels);
        out.withdrawalNode = _subtree(first, withdrawalItems, levels);
    }

    /// @dev Leaves first..first+len-1 of the batch tree, reduced `levels` levels.
    /// @dev Each item becomes MerkleTree.leafHash(first + i, item) = keccak256(0x00 ‖ index ‖
    ///      item), hashed in scratch memory above the free memory pointer (nothing allocated).
    function _subtree(uint256 first, bytes32[] memory items, uint256 levels) private pure returns (bytes32) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            let len := mload(items)
            let data := add(items, 0x20)
            for { let i := 0 } lt(i, len) { i := add(i, 1) } {
                let slot := add(data, shl(5, i))
                mstore8(m, 0)
                mstore(add(m, 1), add(first, i))
                mstore(add(m, 33), mload(slot))
                mstore(slot, keccak256(m, 65))
            }
        }
        return reduce(items, levels);
    }




    /// @dev Fee recipient runs; turns each tx hash in `items` into its MTTBR item
    ///      keccak256(abi.encode(txHash, feeRecipient)).
    function _feeRecipients(bytes calldata packed, uint256 p, bytes32[] memory items) private pure returns (uint256) {
        uint256 runs = _u32(packed, p, "fee recipient runs");
        p += 4;
        uint256 at = 0;
        for (uint256 r = 0; r < runs; r++) {
            uint256 c = _u32(packed, p, "run length");
            address f = address(bytes20(_take(packed, p + 4, 20, "fee recipient")));
            if (c == 0 || at + c > items.length) revert BatchChunksMalformed(p, "fee recipient run");
            p += 24;
            assembly ("memory-safe") {
                let slot := add(add(items, 0x20), shl(5, at))
                for { let end := add(slot, shl(5, c)) } lt(slot, end) { slot := add(slot, 0x20) } {
                    mstore(0x00, mload(slot))
                    mstore(0x20, f)
                    mstore(slot, keccak256(0x00, 0x40))
                }
            }
            at += c;
        }
        if (at != items.length) revert BatchChunksMalformed(p, "fee recipient runs short");
        return p;
    }

    /// @dev Sparse withdrawal items (index relative to the chunk, ascending, nonzero).
    function _withdrawals(bytes calldata packed, uint256 p, bytes32[] memory items) private pure returns (uint256) {
        uint256 k = _u32(packed, p, "withdrawal count");
        p += 4;
        uint256 next = 0;
        for (uint256 e = 0; e < k; e++) {
            uint256 m = _freeMemory();
            uint256 i = _u32(packed, p, "withdrawal index");
            bytes32 w = bytes32(_take(packed, p + 4, 32, "withdrawal item"));
            if (i < next || i >= items.length || w == bytes32(0)) revert BatchChunksMalformed(p, "withdrawal entry");
            items[i] = w;
            next = i + 1;
            p += 36;
            _reuseMemory(m);
        }
        return p;
    }

    /// @dev keccak256 of the canonical encoding of the entry at `p` (docs/spec.md, "Transactions
    ///      and encodings"), rebuilt word by word from the packed fields.
    function _txHash(bytes calldata packed, uint256 p) private pure returns (bytes32 h, uint256 next) {
        uint8 kind = uint8(_take(packed, p, 1, "kind")[0]);
        p += 1;
        if (kind == 0x00) {
            uint256 id;
            uint256 amount;
            (id, p) = _uint(packed, p);
            address a = _addr(packed, p);
            address b = _addr(packed, p + 20);
            address t = _addr(packed, p + 40);
            (amount, p) = _uint(packed, p + 60);
            return (keccak256(abi.encodePacked(kind, id, uint256(uint160(a)), uint256(uint160(b)), uint256(uint160(t)), amount)), p);
        }
        if (kind == 0x01 || kind == 0x02) {
            return _userTxHash(packed, p, kind);
        }
        if (kind == 0xff) {
            uint256 len = _u32(packed, p, "raw length");
            return (keccak256(_take(packed, p + 4, len, "raw transaction")), p + 4 + len);
        }
        revert BatchChunksMalformed(p - 1, "kind");
    }

    /// @dev kind 0x01/0x02: `from ‖ to ‖ token ‖ U(amount) ‖ U(fee) ‖ U(nonce) ‖ v ‖ r ‖ s`,
    ///      re-padded into the 289-byte canonical encoding in scratch memory above the free
    ///      memory pointer (nothing is allocated) and hashed.
    function _userTxHash(bytes calldata packed, uint256 p, uint8 kind) private pure returns (bytes32 h, uint256 q) {
        uint256 len = packed.length;
        if (p + 60 > len) revert BatchChunksMalformed(p, "address");
        uint256 err = 0;
        assembly ("memory-safe") {
            let base := packed.offset
            let m := mload(0x40)
            mstore8(m, kind)
            let a := add(base, p)
            mstore(add(m, 1), shr(96, calldataload(a)))
            mstore(add(m, 33), shr(96, calldataload(add(a, 20))))
            mstore(add(m, 65), shr(96, calldataload(add(a, 40))))
            q := add(p, 60)
            // U(amount), U(fee), U(nonce) into words 3..5
            for { let f := 0 } lt(f, 3) { f := add(f, 1) } {
                if iszero(lt(q, len)) {
                    err := 1
                    break
                }
                let k := byte(0, calldataload(add(base, q)))
                if gt(k, 32) {
                    err := 1
                    break
                }
                if gt(add(add(q, 1), k), len) {
                    err := 1
                    break
                }
                let v := 0
                if k { v := shr(mul(8, sub(32, k)), calldataload(add(add(base, q), 1))) }
                mstore(add(m, add(97, mul(f, 32))), v)
                q := add(add(q, 1), k)
            }
            if iszero(err) { if gt(add(q, 65), len) { err := 2 } }
            if iszero(err) {
                mstore(add(m, 193), byte(0, calldataload(add(base, q))))
                calldatacopy(add(m, 225), add(add(base, q), 1), 64)
                h := keccak256(m, 289)
                q := add(q, 65)
            }
        }
        if (err == 1) revert BatchChunksMalformed(q, "integer");
        if (err == 2) revert BatchChunksMalformed(q, "v, r, s");
    }

    /// @dev `len ‖ minimal big-endian bytes` as a uint256.
    function _uint(bytes calldata packed, uint256 p) private pure returns (uint256 v, uint256 next) {
        uint256 k = uint8(_take(packed, p, 1, "integer length")[0]);
        if (k > 32) revert BatchChunksMalformed(p, "integer length");
        v = k == 0 ? 0 : uint256(bytes32(_take(packed, p + 1, k, "integer"))) >> (8 * (32 - k));
        next = p + 1 + k;
    }

    /// @dev The free memory pointer. Per-item temporaries (encodings being hashed, error
    ///      labels) are dead once the item's hash is stored: restoring the pointer with
    ///      {_reuseMemory} keeps memory (and its quadratic cost) at one item's worth.
    function _freeMemory() private pure returns (uint256 m) {
        assembly ("memory-safe") {
            m := mload(0x40)
        }
    }

    function _reuseMemory(uint256 m) private pure {
        assembly ("memory-safe") {
            mstore(0x40, m)
        }
    }

    function _addr(bytes calldata packed, uint256 p) private pure returns (address) {
        return address(bytes20(_take(packed, p, 20, "address")));
    }

    function _u32(bytes calldata packed, uint256 p, string memory what) private pure returns (uint256) {
        return uint32(bytes4(_take(packed, p, 4, what)));
    }

    function _take(bytes calldata packed, uint256 p, uint256 k, string memory what)
        private
        pure
        returns (bytes calldata)
    {
        if (p + k > packed.length) revert BatchChunksMalformed(p, what);
        return packed[p:p + k];
    }
}
