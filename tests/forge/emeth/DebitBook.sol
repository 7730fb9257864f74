// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EmethCore} from "../../../contracts/emeth/EmethCore.sol";
import {MerkleTree} from "../../../contracts/common/MerkleTree.sol";

/// @notice The Signer's side of lazy debits in forge tests: books each requester's cumulative
///         debit and previous Ticket, builds Tickets' `debitsRoot` and the proofs of their leaves
///         (docs/spec.md, "Debits and lazy balances"), like offchain/emeth/ticket.py.
abstract contract DebitBook {
    uint256 internal constant SIGNER_KEY = 0xA11CE;

    /// @notice Cumulative debit booked for each requester (every Ticket built so far).
    mapping(address => uint256) public bookedCum;
    /// @notice The newest Ticket built that debits each requester.
    mapping(address => uint256) public bookedLast;
    mapping(uint256 => address[]) internal _who;
    mapping(uint256 => uint256[]) internal _cum;
    mapping(uint256 => uint256[]) internal _prev;
    mapping(uint256 => mapping(address => uint256)) internal _pos; // index + 1

    /// @dev Fill `t`'s debit fields for `who` (distinct) paying `amounts`, and book them.
    function _bookDebits(EmethCore.Ticket memory t, address[] memory who, uint256[] memory amounts) internal {
        uint256 id = t.ticketId;
        for (uint256 i = 0; i < who.length; i++) {
            address r = who[i];
            require(_pos[id][r] == 0, "DebitBook: one debit per requester");
            _pos[id][r] = i + 1;
            _who[id].push(r);
            _prev[id].push(bookedLast[r]);
            bookedCum[r] += amounts[i];
            _cum[id].push(bookedCum[r]);
            bookedLast[r] = id;
            t.totalDebit += amounts[i];
        }
        t.debitCount = who.length;
        t.debitsRoot = MerkleTree.rootOf(_leaves(id));
    }

    /// @dev `requester`'s leaf in Ticket `id` and its proof.
    function _debitProof(uint256 id, address requester) internal view returns (EmethCore.DebitProof memory p) {
        uint256 pos = _pos[id][requester];
        require(pos != 0, "DebitBook: not in Ticket");
        uint256 i = pos - 1;
        p.ticketId = id;
        p.cumulative = _cum[id][i];
        p.prevTicketId = _prev[id][i];
        p.index = i;
        p.proof = _merkleProof(_leaves(id), i);
    }

    /// @dev The newest booked proof of `requester` as a one-element array (empty: none).
    function _newestProofs(address requester) internal view returns (EmethCore.DebitProof[] memory ps) {
        uint256 id = bookedLast[requester];
        if (id == 0) return new EmethCore.DebitProof[](0);
        ps = new EmethCore.DebitProof[](1);
        ps[0] = _debitProof(id, requester);
    }

    function _leaves(uint256 id) internal view returns (bytes32[] memory items) {
        uint256 n = _who[id].length;
        items = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            items[i] = keccak256(abi.encode(_who[id][i], _cum[id][i], _prev[id][i]));
        }
    }

    /// @dev Siblings of leaf `index` from the bottom up (offchain/common/merkle.py `proof`).
    function _merkleProof(bytes32[] memory items, uint256 index) internal pure returns (bytes32[] memory proof) {
        uint256 n = items.length;
        uint256 depth = 0;
        while ((uint256(1) << depth) < n) depth++;
        proof = new bytes32[](depth);
        bytes32[] memory level = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            level[i] = keccak256(abi.encodePacked(bytes1(0x00), i, items[i]));
        }
        uint256 at = index;
        for (uint256 k = 0; k < depth; k++) {
            uint256 sib = at ^ 1;
            proof[k] = sib < n ? level[sib] : bytes32(0);
            uint256 m = (n + 1) / 2;
            for (uint256 i = 0; i < m; i++) {
                bytes32 r = 2 * i + 1 < n ? level[2 * i + 1] : bytes32(0);
                level[i] = keccak256(abi.encodePacked(level[2 * i], r));
            }
            n = m;
            at >>= 1;
        }
    }
}
