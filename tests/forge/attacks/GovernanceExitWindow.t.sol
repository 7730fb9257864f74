// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProductionFixture} from "./ProductionFixture.sol";
import {BatchHeader} from "../../../contracts/rollup/BatchHeader.sol";
import {StateCommitment} from "../../../contracts/rollup/StateCommitment.sol";

/// @notice Attack 5 (issue #10), first power: governance shortens the challenge window to
///         finalize a pending (possibly fraudulent) batch before anyone can challenge it. A window
///         change applies only to batches appended after it.
contract GovernanceExitWindowTest is ProductionFixture {
    function test_windowChangeDoesNotShortenPendingBatches() public {
        BatchHeader memory h = _append(1, "pending");
        uint256 finalizesAt = sc.finalizesAt(h.index);
        _govern(address(sc), abi.encodeCall(StateCommitment.setChallengeWindow, (2)), "shorten the window");
        assertEq(sc.challengeWindow(), 2, "the proposal executed");
        assertTrue(block.timestamp < finalizesAt, "the proposal took less than the window");
        assertTrue(!sc.isFinalized(h.index), "the pending batch keeps its 7-day window");
        assertEq(sc.finalizesAt(h.index), finalizesAt, "its finality time did not move");
        // A batch appended after the change gets the new window.
        vm.roll(block.number + 1);
        BatchHeader memory later = _append(1, "later");
        assertEq(sc.finalizesAt(later.index), block.timestamp + 2, "new batches use the new window");
    }
}
