// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProductionFixture} from "./ProductionFixture.sol";
import {BatchHeader} from "../../../contracts/rollup/BatchHeader.sol";
import {LockingPool} from "../../../contracts/staking/LockingPool.sol";
import {SequencerSet} from "../../../contracts/staking/SequencerSet.sol";

/// @notice Attack 3, remainder (issue #10): a member that never takes part in co-signing kept
///         its seat (and its draws, rewards and weight in the threshold) for as long as nobody
///         signed `removeSilent` for it. Each batch now carries a signed absence bitmap (bit i:
///         member i of `activeSigners()` took no part); a member absent from `missLimit`
///         consecutive batches is kicked without a vote and without a slash, so the seed's rule
///         holds: the system halts only if more than 1/3 stop.
contract MissedRoundsTest is ProductionFixture {
    address internal silent;

    function setUp() public override {
        super.setUp();
        silent = vm.addr(0x51E);
        _stake(silent, 0x51E, MIN_LOCK);
    }

    /// @notice Bit of `who` in the active set's order now.
    function _bit(address who) internal view returns (uint256) {
        address[] memory a = pool.activeSigners();
        for (uint256 i = 0; i < a.length; i++) {
            if (a[i] == who) return uint256(1) << i;
        }
        revert("not active");
    }

    function _round(uint256 i, uint256 absent) internal {
        _appendAbsent(_header(sc.nextIndex(), 1, keccak256(abi.encode("round", i))), absent);
    }

    /// @custom:invariant A member absent from MISS_LIMIT consecutive batches is out of the set.
    /// @notice 49 batches co-signed without the silent member: still active, 49 misses; the 50th
    ///         removes it (no vote, no slash: its stake is claimable after the withdrawal delay).
    function test_silentMemberLosesSeatAfterMissedRounds() public {
        uint256 activeBefore = pool.activeStake();
        for (uint256 i = 0; i < MISS_LIMIT - 1; i++) {
            _round(i, _bit(silent));
        }
        assertTrue(pool.isActive(silent), "still active below the limit");
        assertEq(sset.missedRounds(silent), MISS_LIMIT - 1, "missed rounds counted");
        assertEq(sset.absentMembers(), 1, "one member with misses");
        vm.expectEmit(true, false, false, true);
        emit SequencerSet.MissedRoundsRemoved(silent, MISS_LIMIT);
        _round(MISS_LIMIT, _bit(silent));
        assertEq(uint256(pool.statusOf(silent)), uint256(LockingPool.Status.Kicked), "kicked by the rule");
        assertEq(pool.activeStake(), activeBefore - MIN_LOCK, "its stake no longer weighs");
        assertEq(pool.sequencer(silent).amount, MIN_LOCK, "not slashed: silence is not fraud");
        assertEq(sset.missedRounds(silent), 0, "count cleared");
        assertEq(sset.absentMembers(), 0, "nobody counted");
        assertEq(sc.nextIndex(), MISS_LIMIT, "every round appended");
    }

    /// @notice Taking part once resets the count: a member that misses now and then stays.
    function test_takingPartResetsTheCount() public {
        for (uint256 i = 0; i < MISS_LIMIT - 1; i++) {
            _round(i, _bit(silent));
        }
        _round(1000, 0); // it took part
        assertEq(sset.missedRounds(silent), 0, "reset by taking part");
        assertEq(sset.absentMembers(), 0, "nobody counted");
        for (uint256 i = 0; i < MISS_LIMIT - 1; i++) {
            _round(2000 + i, _bit(silent));
        }
        assertTrue(pool.isActive(silent), "never MISS_LIMIT in a row");
    }

    /// @notice The bitmap is part of what the set signs: a sequencer cannot add or drop an
    ///         absence after the signature, nor name members beyond the active set.
    function test_absenceBitmapIsSigned() public {
        BatchHeader memory h = _header(sc.nextIndex(), 1, "signed");
        bytes[] memory sigs = _frostSign(sc.batchDigest(h)); // signed with nobody absent
        uint256 bit = _bit(silent);
        address cur = sset.currentSequencer();
        bytes32 digest = sc.batchDigestAbsent(h, bit);
        vm.expectRevert(
            abi.encodeWithSelector(SequencerSet.SequencerSetInvalidFrostSignature.selector, digest, groupKey.x)
        );
        vm.prank(cur);
        sc.appendBatchAbsent(h, bit, sigs);
        uint256 n = pool.activeSigners().length;
        uint256 beyond = uint256(1) << n;
        sigs = _frostSign(sc.batchDigestAbsent(h, beyond));
        vm.expectRevert(abi.encodeWithSelector(SequencerSet.SequencerSetBadAbsence.selector, beyond, n));
        vm.prank(cur);
        sc.appendBatchAbsent(h, beyond, sigs);
        assertEq(sc.batchDigestAbsent(h, 0), sc.batchDigest(h), "nobody absent: the plain digest");
    }

    /// @notice The appending sequencer took part whatever the bitmap says; a key change carries
    ///         the count to the new key (it follows the staker).
    function test_appenderNeverCountedAndCountFollowsTheKey() public {
        address cur = sset.currentSequencer();
        for (uint256 i = 0; i < 3; i++) {
            _round(i, _bit(cur) | _bit(silent));
        }
        assertEq(sset.missedRounds(cur), 0, "the appender took part");
        assertEq(sset.missedRounds(silent), 3, "the silent member did not");
        address newKey = vm.addr(0x51F);
        keyOf[newKey] = 0x51F;
        vm.warp(block.timestamp + SIGNER_INTERVAL + 1);
        vm.prank(silent);
        pool.updateSigner(silent, newKey);
        assertEq(sset.missedRounds(newKey), 3, "the count moved to the new key");
        assertEq(sset.missedRounds(silent), 0, "nothing left on the old key");
    }

    /// @notice The limit is a governance parameter on the slow lane (the exit window).
    function test_missLimitIsSlowLane() public view {
        bytes memory call = abi.encodeCall(SequencerSet.setMissLimit, (10));
        assertEq(timelock.delayOf(address(sset), call), EXIT_WINDOW, "setMissLimit waits the exit window");
        assertEq(sset.missLimit(), MISS_LIMIT, "the deployed limit");
    }
}
