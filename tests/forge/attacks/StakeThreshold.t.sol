// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProductionFixture} from "./ProductionFixture.sol";
import {BatchHeader} from "../../../contracts/rollup/BatchHeader.sol";
import {SequencerSet} from "../../../contracts/staking/SequencerSet.sol";

/// @notice Attack 3 (issue #10): cheap minimum-stake sybils must neither halt batch submission by
///         staying silent nor sign batches by outnumbering the honest seats: the >2/3 rule counts
///         active stake.
contract StakeThresholdTest is ProductionFixture {
    /// @notice Two silent minimum-stake sybils: the four honest (400k of 440k stake) still append.
    function test_silentSybilsCannotHaltBatches() public {
        _stake(vm.addr(0x5B1), 0x5B1, MIN_LOCK);
        _stake(vm.addr(0x5B2), 0x5B2, MIN_LOCK);
        address[] memory honest = new address[](4);
        for (uint256 i = 0; i < 4; i++) honest[i] = vm.addr(honestKeys[i]);
        _makeCurrent(honest[0]);
        uint256 before = sc.nextIndex();
        BatchHeader memory h = _header(before, 1, "honest");
        _appendBy(h, honest);
        assertEq(sc.nextIndex(), before + 1, "honest >2/3 of stake appended without the sybils");
        // The sybils' cost: 2 x MIN_LOCK locked for 21 days, for nothing.
    }

    /// @notice A member that never co-signs loses its seat by a vote of >2/3 of the stake (no
    ///         governance), keeps its stake (claimable after the delay) and earns nothing.
    function test_silentCosignerLosesSeat() public {
        address sybil = vm.addr(0x5B1);
        _stake(sybil, 0x5B1, MIN_LOCK);
        address[] memory honest = new address[](4);
        for (uint256 i = 0; i < 4; i++) honest[i] = vm.addr(honestKeys[i]);
        uint256 activeBefore = pool.activeStake();
        sset.removeSilent(sybil, _sign(sset.silentDigest(sybil), honest));
        assertTrue(!pool.isActive(sybil), "the silent member is out of the active set");
        assertEq(pool.activeStake(), activeBefore - MIN_LOCK, "its stake no longer weighs");
        assertEq(pool.sequencer(sybil).amount, MIN_LOCK, "not slashed: silence is not fraud");
        // The vote cannot be replayed against another member with the same signatures.
        address other = vm.addr(0x5B2);
        _stake(other, 0x5B2, MIN_LOCK);
        bytes[] memory stale = _sign(sset.silentDigest(other), honest);
        vm.roll(block.number + 1);
        // One signer alone (100k of 420k) cannot remove anyone.
        address[] memory one = new address[](1);
        one[0] = honest[0];
        bytes[] memory lone = _sign(sset.silentDigest(other), one);
        vm.expectRevert(
            abi.encodeWithSelector(SequencerSet.SequencerSetNotEnoughSignatures.selector, MAX_LOCK, 4 * MAX_LOCK + MIN_LOCK)
        );
        sset.removeSilent(other, lone);
        sset.removeSilent(other, stale);
        assertTrue(!pool.isActive(other), "a valid vote removes the second silent member");
    }

    /// @notice Nine minimum-stake sybils (180k) outnumber four honest seats (400k): seats would
    ///         give them >2/3, stake does not, so they cannot co-sign a batch alone.
    function test_sybilSeatMajorityCannotSign() public {
        address[] memory sybils = new address[](9);
        for (uint256 i = 0; i < 9; i++) {
            sybils[i] = vm.addr(0x5B00 + i);
            _stake(sybils[i], 0x5B00 + i, MIN_LOCK);
        }
        _makeCurrent(sybils[0]);
        BatchHeader memory h = _header(sc.nextIndex(), 1, "sybil");
        address cur = sybils[0];
        bytes[] memory sigs = _sign(sc.batchDigest(h), sybils);
        vm.prank(cur);
        vm.expectRevert(
            abi.encodeWithSelector(SequencerSet.SequencerSetNotEnoughSignatures.selector, 9 * MIN_LOCK, 9 * MIN_LOCK + 4 * MAX_LOCK)
        );
        sc.appendBatch(h, sigs);
    }
}
