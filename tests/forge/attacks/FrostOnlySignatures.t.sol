// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProductionFixture} from "./ProductionFixture.sol";
import {BatchHeader} from "../../../contracts/rollup/BatchHeader.sol";

/// @notice Issue #12: batches, reselection and the removal of a silent member are signed by the
///         set's FROST group key only; the >2/3-of-stake ECDSA list installs (or recovers) that key
///         and does nothing else. Before any key is installed, an ECDSA list must not append a
///         batch, replace the current sequencer or remove a member.
contract FrostOnlySignaturesTest is ProductionFixture {
    /// @dev SequencerSet.SequencerSetNoGroupKey() (named by its signature: the error does not
    ///      exist before the fix).
    bytes4 internal constant NO_GROUP_KEY = bytes4(keccak256("SequencerSetNoGroupKey()"));

    /// @notice Every honest signer's ECDSA signature over a batch digest (all of the stake) does
    ///         not append a batch while the set has no group key.
    function test_ecdsaListCannotAppendBatch() public {
        uint256 before = sc.nextIndex();
        BatchHeader memory h = _header(before, 1, "ecdsa");
        bytes[] memory sigs = _sign(sc.batchDigest(h), _allActive());
        address cur = sset.currentSequencer();
        vm.prank(cur);
        vm.expectRevert(abi.encodeWithSelector(NO_GROUP_KEY));
        sc.appendBatch(h, sigs);
        assertEq(sc.nextIndex(), before, "no batch was appended");
    }

    /// @notice The whole set's ECDSA list over {reselectDigest} does not replace the current
    ///         sequencer while the set has no group key.
    function test_ecdsaListCannotReselect() public {
        address cur = sset.currentSequencer();
        uint256 round = sset.epochInfo().round;
        bytes[] memory sigs = _sign(sset.reselectDigest(), _allActive());
        vm.expectRevert(abi.encodeWithSelector(NO_GROUP_KEY));
        sset.reselectWithSignatures(sigs);
        assertEq(sset.currentSequencer(), cur, "the current sequencer stays");
        assertEq(sset.epochInfo().round, round, "no rotation");
    }

    /// @notice The honest set's ECDSA list over {silentDigest} does not remove a member while the
    ///         set has no group key.
    function test_ecdsaListCannotRemoveSilent() public {
        address member = vm.addr(0x5B1);
        _stake(member, 0x5B1, MIN_LOCK);
        address[] memory honest = new address[](4);
        for (uint256 i = 0; i < 4; i++) honest[i] = vm.addr(honestKeys[i]);
        bytes[] memory sigs = _sign(sset.silentDigest(member), honest);
        vm.expectRevert(abi.encodeWithSelector(NO_GROUP_KEY));
        sset.removeSilent(member, sigs);
        assertTrue(pool.isActive(member), "the member keeps its seat");
    }
}
