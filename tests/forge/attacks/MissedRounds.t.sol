// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProductionFixture} from "./ProductionFixture.sol";
import {BatchHeader} from "../../../contracts/rollup/BatchHeader.sol";

/// @notice Attack 3, remainder (issue #10): a member that never takes part in co-signing keeps
///         its seat (and its draws, rewards and share of the threshold) for as long as nobody
///         signs `removeSilent` for it. The seed's rule is that the system halts only if more
///         than 1/3 stop: a silent member must lose its seat by itself after missing N
///         consecutive co-signing rounds that the others completed.
contract MissedRoundsTest is ProductionFixture {
    address internal silent;

    function setUp() public override {
        super.setUp();
        silent = vm.addr(0x51E);
        _stake(silent, 0x51E, MIN_LOCK);
    }

    /// @notice ATTACK (today): 100 batches co-signed without the silent member; it is still
    ///         active, its stake still weighs, nobody had to vote. This test asserts the attack
    ///         works; the fix turns it into `test_silentMemberLosesSeatAfterMissedRounds`.
    function test_silentMemberKeepsSeatForever() public {
        uint256 activeBefore = pool.activeStake();
        for (uint256 i = 0; i < 100; i++) {
            BatchHeader memory h = _header(sc.nextIndex(), 1, keccak256(abi.encode("round", i)));
            _appendBy(h);
        }
        assertEq(sc.nextIndex(), 100, "100 rounds completed without it");
        assertTrue(pool.isActive(silent), "ATTACK WORKS: the silent member is still active");
        assertEq(pool.activeStake(), activeBefore, "its stake still counts in the threshold");
    }
}
