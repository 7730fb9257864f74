// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProductionFixture} from "./ProductionFixture.sol";
import {BatchHeader} from "../../../contracts/rollup/BatchHeader.sol";
import {LockingPool} from "../../../contracts/staking/LockingPool.sol";

/// @notice Seed 001 §3.3.6 (issue #10, DA agent steps): after a data request resolves, whatever
///         the outcome, the sequencer that was asked is rotated. A sequencer that withholds its
///         data and answers only when asked must not keep its slot.
contract DataRequestRotationTest is ProductionFixture {
    address internal constant VERIFIER = address(0xF1E1D);

    /// @notice The current sequencer answers the request on its own batch with matching data:
    ///         it keeps its stake (the bond is its pay) but loses the slot.
    function test_matchingAnswerRotatesTheSequencer() public {
        address cur = sset.currentSequencer();
        BatchHeader memory h = _append(1, "withheld");
        vm.deal(VERIFIER, 1 ether);
        vm.prank(VERIFIER);
        da.requestData{value: DA_FEE}(h);
        uint256 stakeBefore = pool.sequencer(cur).amount;
        _answer(h, "withheld", cur);
        assertTrue(sset.currentSequencer() != cur, "the sequencer that was asked is rotated");
        assertTrue(sset.currentSequencer() != address(0), "someone else is current");
        assertEq(pool.sequencer(cur).amount, stakeBefore, "a matching answer is not slashed");
        assertTrue(pool.sequencer(cur).status == LockingPool.Status.Active, "and it stays in the set");
        assertEq(da.claimable(cur), DA_FEE, "the bond pays its answer");
    }

    /// @notice A timed-out request punishes (slash + kick) and rotates, as before.
    function test_timeoutRotatesTheSequencer() public {
        address cur = sset.currentSequencer();
        BatchHeader memory h = _append(1, "silent");
        vm.deal(VERIFIER, 1 ether);
        vm.prank(VERIFIER);
        da.requestData{value: DA_FEE}(h);
        vm.warp(block.timestamp + DATA_WINDOW + 1);
        da.resolveTimeout(h.index);
        assertTrue(sset.currentSequencer() != cur, "rotated");
        assertTrue(pool.sequencer(cur).status == LockingPool.Status.Kicked, "kicked");
    }

    /// @notice A request on an older batch whose sequencer is no longer current rotates nobody
    ///         when it is answered: the current sequencer did nothing wrong.
    function test_answerOnAnOldBatchKeepsTheCurrentSequencer() public {
        address first = sset.currentSequencer();
        BatchHeader memory h = _append(1, "old");
        vm.warp(block.timestamp + EPOCH);
        vm.roll(block.number + 2);
        sset.advanceEpoch();
        for (uint256 i = 0; i < 50 && sset.currentSequencer() == first; i++) {
            vm.warp(block.timestamp + EPOCH);
            vm.roll(block.number + 2);
            sset.advanceEpoch();
        }
        address now_ = sset.currentSequencer();
        assertTrue(now_ != first, "another sequencer is current");
        vm.deal(VERIFIER, 1 ether);
        vm.prank(VERIFIER);
        da.requestData{value: DA_FEE}(h);
        _answer(h, "old", first);
        assertEq(sset.currentSequencer(), now_, "the current sequencer keeps its slot");
    }
}
