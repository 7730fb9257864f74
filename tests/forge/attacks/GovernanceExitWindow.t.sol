// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProductionFixture} from "./ProductionFixture.sol";
import {BatchHeader, DataMode} from "../../../contracts/rollup/BatchHeader.sol";
import {StateCommitment} from "../../../contracts/rollup/StateCommitment.sol";
import {LockingPool} from "../../../contracts/staking/LockingPool.sol";
import {SequencerSet} from "../../../contracts/staking/SequencerSet.sol";
import {DataAvailabilityChallenge} from "../../../contracts/rollup/DataAvailabilityChallenge.sol";
import {FraudProver} from "../../../contracts/rollup/FraudProver.sol";
import {L2KitToken} from "../../../contracts/staking/L2KitToken.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @notice Attack 5 (issue #10): governance changes finality or moves funds faster than a user can
///         leave. Every power that can move user funds or change finality must take effect only after
///         an exit window of at least 30 days, longer than a user's full withdrawal path (forced
///         inclusion, then the challenge window of the batch that holds the withdrawal); kicking a
///         sequencer stays fast; a pause expires by itself.
contract GovernanceExitWindowTest is ProductionFixture {
    /// @dev The longest pause the contracts allow, however it was started.
    uint256 internal constant PAUSE_BOUND = 7 days;

    address internal constant USER = address(0xA11CE);

    function test_windowChangeDoesNotShortenPendingBatches() public {
        (address[] memory t, uint256[] memory v, bytes[] memory c, bytes32 dh) =
            _queue(address(sc), abi.encodeCall(StateCommitment.setChallengeWindow, (2)), "shorten the window");
        // A batch appended just before the change takes effect.
        vm.warp(governor.proposalEta(_id(t, v, c, dh)) - 1 hours);
        vm.roll(block.number + 2);
        sset.advanceEpoch();
        BatchHeader memory h = _append(1, "pending");
        uint256 finalizesAt = sc.finalizesAt(h.index);
        vm.warp(block.timestamp + 1 hours);
        governor.execute(t, v, c, dh);
        assertEq(sc.challengeWindow(), 2, "the proposal executed");
        assertTrue(!sc.isFinalized(h.index), "the pending batch keeps its 7-day window");
        assertEq(sc.finalizesAt(h.index), finalizesAt, "its finality time did not move");
        // A batch appended after the change gets the new window.
        vm.roll(block.number + 1);
        BatchHeader memory later = _append(1, "later");
        assertEq(sc.finalizesAt(later.index), block.timestamp + 2, "new batches use the new window");
    }

    // ------------------------------------------------- one test per power (slow lane)

    function test_setChallengeWindowWaitsForExit() public {
        _assertUserExitsFirst(address(sc), abi.encodeCall(StateCommitment.setChallengeWindow, (1 days)));
    }

    function test_setChallengerWaitsForExit() public {
        _assertUserExitsFirst(address(sc), abi.encodeCall(StateCommitment.setChallenger, (USER, true)));
    }

    function test_setDataModeWaitsForExit() public {
        _assertUserExitsFirst(address(sc), abi.encodeCall(StateCommitment.setDataMode, (DataMode.Calldata)));
    }

    function test_setRollupWaitsForExit() public {
        _assertUserExitsFirst(address(sset), abi.encodeCall(SequencerSet.setRollup, (USER, true)));
    }

    function test_setTimingWaitsForExit() public {
        _assertUserExitsFirst(address(sset), abi.encodeCall(SequencerSet.setTiming, (2 hours, 20 minutes)));
    }

    function test_setGroupKeyWaitsForExit() public {
        // The secp256k1 generator: a valid point, so the call itself succeeds when it executes.
        _assertUserExitsFirst(
            address(sset),
            abi.encodeCall(
                SequencerSet.setGroupKey,
                (
                    0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
                    0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8
                )
            )
        );
    }

    function test_setAuthorizedWaitsForExit() public {
        _assertUserExitsFirst(address(pool), abi.encodeCall(LockingPool.setAuthorized, (USER, true)));
    }

    function test_setSequencerSetWaitsForExit() public {
        _assertUserExitsFirst(address(pool), abi.encodeCall(LockingPool.setSequencerSet, (USER)));
    }

    function test_setParamsWaitsForExit() public {
        (uint256 minLock, uint256 maxLock, uint256 maxSeq,, uint256 interval, uint256 reward, uint256 bps) =
            pool.params();
        LockingPool.Params memory p = LockingPool.Params(minLock, maxLock, maxSeq, 1, interval, reward, bps);
        _assertUserExitsFirst(address(pool), abi.encodeCall(LockingPool.setParams, (p)));
    }

    function test_setWithdrawalDelayWaitsForExit() public {
        _assertUserExitsFirst(address(pool), abi.encodeCall(LockingPool.setWithdrawalDelay, (1)));
    }

    function test_setLockBoundsWaitsForExit() public {
        _assertUserExitsFirst(address(pool), abi.encodeCall(LockingPool.setLockBounds, (1 ether, 2 ether)));
    }

    function test_setMaxSequencersWaitsForExit() public {
        _assertUserExitsFirst(address(pool), abi.encodeCall(LockingPool.setMaxSequencers, (4)));
    }

    function test_setRewardPerBlockWaitsForExit() public {
        _assertUserExitsFirst(address(pool), abi.encodeCall(LockingPool.setRewardPerBlock, (1_000 ether)));
    }

    function test_whitelistWaitsForExit() public {
        _assertUserExitsFirst(address(pool), abi.encodeCall(LockingPool.setWhitelistEnabled, (true)));
        _assertUserExitsFirst(address(pool), abi.encodeCall(LockingPool.setWhitelisted, (USER, true)));
    }

    function test_mintWaitsForExit() public {
        _assertUserExitsFirst(address(token), abi.encodeCall(L2KitToken.mint, (USER, 1_000_000_000 ether)));
    }

    function test_daParamsWaitForExit() public {
        _assertUserExitsFirst(address(da), abi.encodeCall(DataAvailabilityChallenge.setParams, (1, 1, 1)));
        _assertUserExitsFirst(address(da), abi.encodeCall(DataAvailabilityChallenge.setRequestFeePerTx, (1 ether)));
    }

    function test_banVerifierWaitsForExit() public {
        _assertUserExitsFirst(address(da), abi.encodeCall(DataAvailabilityChallenge.banVerifier, (USER)));
        _assertUserExitsFirst(address(da), abi.encodeCall(DataAvailabilityChallenge.unbanVerifier, (USER)));
    }

    function test_setSlashAmountWaitsForExit() public {
        _assertUserExitsFirst(address(fp), abi.encodeCall(FraudProver.setSlashAmount, (1 ether)));
    }

    function test_governancePauseWaitsForExit() public {
        _assertUserExitsFirst(address(pool), abi.encodeWithSignature("pause()"));
    }

    function test_timelockSelfChangesWaitForExit() public {
        _assertUserExitsFirst(address(timelock), abi.encodeCall(TimelockController.updateDelay, (1)));
        _assertUserExitsFirst(
            address(timelock), abi.encodeCall(timelock.grantRole, (timelock.PROPOSER_ROLE(), USER))
        );
    }

    function test_treasuryTransferWaitsForExit() public {
        token.transfer(address(timelock), 1 ether); // the treasury
        _assertUserExitsFirst(address(token), abi.encodeCall(token.transfer, (USER, 1 ether)));
    }

    // ------------------------------------------------------------- bounds that keep it so

    /// @notice The challenge window can never grow so long that a user's withdrawal path outlasts
    ///         the exit window (otherwise a later power would again act before a user is out).
    function test_challengeWindowCannotOutgrowExitWindow() public {
        uint256 tooLong = EXIT_WINDOW - FORCE_WINDOW;
        (address[] memory t, uint256[] memory v, bytes[] memory c, bytes32 dh) =
            _queue(address(sc), abi.encodeCall(StateCommitment.setChallengeWindow, (tooLong)), "too long");
        vm.warp(governor.proposalEta(_id(t, v, c, dh)));
        vm.expectRevert(
            abi.encodeWithSignature("StateCommitmentWindowTooLong(uint256,uint256)", tooLong, 21 days)
        );
        governor.execute(t, v, c, dh);
        assertEq(sc.challengeWindow(), CHALLENGE_WINDOW, "the window did not change");
    }

    /// @notice A kick neither moves funds nor changes finality: it stays on the fast lane (the
    ///         timelock's minimum delay, shorter than the challenge window), and never slashes.
    function test_kickStaysFast() public {
        address victim = vm.addr(4);
        (uint256 stakeBefore,) = _stakeOf(victim);
        uint256 start = block.timestamp;
        _govern(address(pool), abi.encodeCall(LockingPool.kick, (victim)), "kick 4");
        assertLe(block.timestamp - start, 2 days, "the kick took no longer than the minimum delay");
        (uint256 stakeAfter, LockingPool.Status st) = _stakeOf(victim);
        assertTrue(st == LockingPool.Status.Kicked, "kicked");
        assertEq(stakeAfter, stakeBefore, "a kick never slashes");
    }

    /// @notice A pause, however it was started, ends by itself within the stated bound.
    function test_pauseExpiresByItself() public {
        _govern(address(pool), abi.encodeWithSignature("pause()"), "pause");
        assertTrue(pool.paused(), "paused");
        vm.warp(block.timestamp + PAUSE_BOUND);
        assertTrue(!pool.paused(), "the pause ended by itself");
    }

    /// @notice The guardian pauses at once (no vote, no delay), but only for {MAX_PAUSE}; it
    ///         cannot chain pauses: the next starts {PAUSE_COOLDOWN} after the last ended. A
    ///         sequencer whose withdrawal delay is over claims its stake in the gap.
    function test_emergencyPauseActsAtOnceAndExpires() public {
        address seq = vm.addr(3);
        vm.prank(seq);
        pool.unlockInit(seq);
        uint256 unlockTime = pool.sequencer(seq).unlockTime;
        uint256 balanceBefore = token.balanceOf(seq);

        vm.warp(unlockTime - 1 hours);
        vm.prank(GUARDIAN);
        pool.pause();
        assertTrue(pool.paused(), "paused at once");
        assertEq(pool.pausedUntil(), block.timestamp + 7 days, "for the stated bound");
        vm.warp(unlockTime);
        vm.prank(seq);
        vm.expectRevert(abi.encodeWithSignature("EnforcedPause()"));
        pool.unlockClaim(seq);

        // The guardian cannot extend it nor start another right after it ends.
        uint256 until = pool.pausedUntil();
        vm.prank(GUARDIAN);
        vm.expectRevert(
            abi.encodeWithSelector(LockingPool.LockingPoolPauseCoolingDown.selector, until + 7 days, block.timestamp)
        );
        pool.pause();
        vm.warp(pool.pausedUntil());
        assertTrue(!pool.paused(), "the pause ended by itself");
        vm.prank(GUARDIAN);
        vm.expectRevert(
            abi.encodeWithSelector(
                LockingPool.LockingPoolPauseCoolingDown.selector, block.timestamp + 7 days, block.timestamp
            )
        );
        pool.pause();

        // In the gap the sequencer leaves with its whole stake.
        vm.prank(seq);
        pool.unlockClaim(seq);
        assertEq(token.balanceOf(seq) - balanceBefore, MAX_LOCK, "the stake came back");

        // Nobody else pauses; an early unpause starts the cooldown from then.
        vm.prank(USER);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.LockingPoolNotGuardian.selector, USER));
        pool.pause();
        vm.warp(block.timestamp + 7 days);
        vm.prank(GUARDIAN);
        pool.pause();
        vm.warp(block.timestamp + 1 hours);
        vm.prank(GUARDIAN);
        pool.unpause();
        assertTrue(!pool.paused(), "unpaused");
        assertEq(pool.pausedUntil(), block.timestamp, "the pause ended now");
        vm.prank(GUARDIAN);
        vm.expectRevert(abi.encodeWithSignature("ExpectedPause()"));
        pool.unpause();
    }

    /// @notice The guardian is set by governance, on the slow lane like every other power.
    function test_setGuardianWaitsForExit() public {
        _assertUserExitsFirst(address(pool), abi.encodeCall(LockingPool.setGuardian, (USER)));
        assertEq(pool.guardian(), USER, "the new guardian");
    }

    // ------------------------------------------------------------------------ helpers

    function _stakeOf(address signer) internal view returns (uint256 amount, LockingPool.Status st) {
        LockingPool.Sequencer memory s = pool.sequencer(signer);
        return (s.amount, s.status);
    }

    function _id(address[] memory t, uint256[] memory v, bytes[] memory c, bytes32 dh)
        internal
        view
        returns (uint256)
    {
        return governor.hashProposal(t, v, c, dh);
    }

    /// @notice Propose, vote and queue `data` on `target`; returns the proposal's arguments.
    function _queue(address target, bytes memory data, string memory description)
        internal
        returns (address[] memory t, uint256[] memory v, bytes[] memory c, bytes32 dh)
    {
        t = new address[](1);
        t[0] = target;
        v = new uint256[](1);
        c = new bytes[](1);
        c[0] = data;
        dh = keccak256(bytes(description));
        vm.prank(VOTER);
        uint256 id = governor.propose(t, v, c, description);
        vm.roll(block.number + governor.votingDelay() + 1);
        vm.prank(VOTER);
        governor.castVote(id, 1);
        vm.roll(block.number + governor.votingPeriod() + 1);
        governor.queue(t, v, c, dh);
    }

    uint256 private _nonce;

    /// @notice A user who starts leaving when the proposal is queued (the Timelock's CallScheduled
    ///         is public) is out before it takes effect: a forced withdrawal is included by the end
    ///         of the forced-inclusion window, the batch holding it is final one challenge window
    ///         later, and only after that (and at least 30 days after queueing) can the proposal
    ///         execute. It then does execute (the power is real, not a call that always fails).
    function _assertUserExitsFirst(address target, bytes memory data) internal {
        string memory description = string(abi.encodePacked("power ", vm.toString(++_nonce)));
        (address[] memory t, uint256[] memory v, bytes[] memory c, bytes32 dh) = _queue(target, data, description);
        uint256 queuedAt = block.timestamp;
        uint256 eta = governor.proposalEta(_id(t, v, c, dh));
        // The user's withdrawal is included at the last moment the forced-inclusion rule allows.
        vm.warp(queuedAt + FORCE_WINDOW);
        vm.roll(block.number + 2);
        sset.advanceEpoch();
        BatchHeader memory h = _append(1, keccak256(abi.encode("exit", _nonce)));
        uint256 exitDone = sc.finalizesAt(h.index);
        vm.warp(exitDone);
        assertTrue(sc.isFinalized(h.index), "the user's batch is final");
        assertGe(eta, exitDone + 1, "the power takes effect only after the user is out");
        assertGe(eta, queuedAt + EXIT_WINDOW, "and at least 30 days after it was queued");
        bytes32 opId = timelock.hashOperationBatch(t, v, c, 0, bytes20(address(governor)) ^ dh);
        vm.expectRevert(
            abi.encodeWithSelector(
                TimelockController.TimelockUnexpectedOperationState.selector,
                opId,
                bytes32(1 << uint8(TimelockController.OperationState.Ready))
            )
        );
        governor.execute(t, v, c, dh);
        vm.warp(eta);
        governor.execute(t, v, c, dh);
    }
}
