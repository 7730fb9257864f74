// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProductionFixture} from "./ProductionFixture.sol";
import {SequencerSet} from "../../../contracts/staking/SequencerSet.sol";

/// @notice Attack 4 (issue #10), OPEN: a current sequencer that pings `heartbeat()` but never
///         appends a batch keeps its slot for the whole epoch while a user's deposit waits in the
///         L1 queue: `heartbeat()` moves the deadline without progress, so `reselect()` reverts.
contract LivenessByProgressTest is ProductionFixture {
    address internal constant USER = address(0xD3);

    function test_openAttack_heartbeatWithoutBatchesKeepsTheSlot() public {
        address idle = sset.currentSequencer();
        vm.deal(USER, 1 ether);
        vm.prank(USER);
        bridge.depositETH{value: 1 ether}(USER);
        // The idle sequencer pings every half timeout for most of the epoch, never batching.
        uint256 end = sset.epochInfo().epochEnd;
        while (block.timestamp + HEARTBEAT / 2 < end) {
            vm.warp(block.timestamp + HEARTBEAT / 2);
            vm.roll(block.number + 25);
            vm.prank(idle);
            sset.heartbeat();
            uint256 deadline = sset.heartbeatDeadline();
            vm.expectRevert(
                abi.encodeWithSelector(SequencerSet.SequencerSetHeartbeatNotMissed.selector, deadline, block.timestamp)
            );
            sset.reselect();
        }
        assertEq(sset.currentSequencer(), idle, "today the idle sequencer keeps the slot all epoch");
        assertEq(bridge.depositCount(), 1, "and the deposit is still waiting");
    }
}
