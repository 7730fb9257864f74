// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProductionFixture} from "./ProductionFixture.sol";

/// @notice Attack 8 (issue #10): a signing majority claims a huge `l2Blocks` in a header L1 never
///         checks to drain the reward reserve. Rewards are paid only for what L1 checks: the L1
///         blocks the chain was served for, capped per batch.
contract VerifiedRewardsTest is ProductionFixture {
    function test_rewardsOnlyForWhatL1Checks() public {
        address cur = sset.currentSequencer();
        uint256 reserve = pool.rewardReserve();
        vm.roll(block.number + 5);
        _append(type(uint64).max / 2, "inflated");
        uint256 paid = pool.sequencer(cur).reward;
        assertLe(paid, 6 * REWARD_PER_BLOCK, "paid at most for the L1 blocks since the rotation");
        assertGe(pool.rewardReserve(), reserve - 6 * REWARD_PER_BLOCK, "the reserve is not drained");
        // A burst of batches in the same L1 block earns nothing more.
        _append(1_000_000, "burst1");
        _append(1_000_000, "burst2");
        assertEq(pool.sequencer(cur).reward, paid, "no reward for batches in the same L1 block");
    }
}
