// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProductionFixture} from "./ProductionFixture.sol";
import {SequencerSet} from "../../../contracts/staking/SequencerSet.sol";

/// @notice Attack 4 (issue #10): a current sequencer that pings `heartbeat()` but never appends
///         a batch kept its slot for the whole epoch while a user's deposit waited in the L1 queue
///         (`reselect()` reverted; commit "Attack 4 ... passes against today's SequencerSet").
///         Liveness is now judged by progress: once the waiting deposit is noted
///         (`noteWork`), the sequencer has one heartbeat timeout to append, whatever it pings.
contract LivenessByProgressTest is ProductionFixture {
    address internal constant USER = address(0xD3);

    function _deposit() internal {
        vm.deal(USER, 1 ether);
        vm.prank(USER);
        bridge.depositETH{value: 1 ether}(USER);
    }

    function _ping(address who, uint256 dt) internal {
        vm.warp(block.timestamp + dt);
        vm.roll(block.number + dt / 12);
        vm.prank(who);
        sset.heartbeat();
    }

    function test_heartbeatWithoutBatchesDoesNotKeepTheSlot() public {
        address idle = sset.currentSequencer();
        _deposit();
        sset.noteWork();
        uint256 stalled = sset.progressDeadline();
        assertEq(stalled, block.timestamp + HEARTBEAT, "one heartbeat timeout to include it");
        // Pinging every half timeout does not move the progress deadline.
        _ping(idle, HEARTBEAT / 2);
        vm.expectRevert(
            abi.encodeWithSelector(SequencerSet.SequencerSetHeartbeatNotMissed.selector, stalled, block.timestamp)
        );
        sset.reselect();
        _ping(idle, HEARTBEAT / 2 + 1);
        assertTrue(block.timestamp <= sset.heartbeatDeadline(), "its heartbeat is still fresh");

        vm.expectEmit(true, true, true, true);
        emit SequencerSet.SequencerRotated(
            sset.epochInfo().epoch, 1, idle, _nextDraw(idle), SequencerSet.Reason.NoProgress
        );
        sset.reselect();
        address next = sset.currentSequencer();
        assertTrue(next != idle, "the idle sequencer loses the slot within one timeout");
        assertEq(sset.progressDeadline(), block.timestamp + HEARTBEAT, "the new turn gets a full timeout");
        // The newcomer appends a batch (progress): the noted work is cleared, pings suffice again.
        _append(1, "includes the deposit");
        assertEq(sset.progressDeadline(), 0, "a batch clears the noted work");
        vm.expectRevert(abi.encodeWithSelector(SequencerSet.SequencerSetNoWork.selector, 1, 1));
        sset.noteWork();
    }

    /// @notice An idle sequencer with nothing to include keeps its slot by pinging (no false
    ///         positive), and noting work needs waiting deposits and happens once per batch.
    function test_noWorkNoProgressReselect() public {
        address idle = sset.currentSequencer();
        vm.expectRevert(abi.encodeWithSelector(SequencerSet.SequencerSetNoWork.selector, 0, 0));
        sset.noteWork();
        _ping(idle, HEARTBEAT);
        _ping(idle, HEARTBEAT);
        uint256 deadline = sset.heartbeatDeadline();
        vm.expectRevert(
            abi.encodeWithSelector(SequencerSet.SequencerSetHeartbeatNotMissed.selector, deadline, block.timestamp)
        );
        sset.reselect();
        _deposit();
        sset.noteWork();
        vm.expectRevert(abi.encodeWithSelector(SequencerSet.SequencerSetWorkAlreadyNoted.selector, block.timestamp));
        sset.noteWork();
        assertEq(sset.currentSequencer(), idle, "no progress reselect without waiting work");
    }

    /// @notice Who the next draw picks if `exclude` is reselected in this block.
    function _nextDraw(address exclude) internal view returns (address) {
        (address[] memory signers, uint256[] memory stakes) = pool.drawSet(sset.drawCommitBlock());
        for (uint256 i = 0; i < signers.length; i++) {
            if (signers[i] == exclude) stakes[i] = 0;
        }
        return signers[sset.selectIndex(stakes, sset.nextSeed())];
    }
}
