// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, console} from "../utils/Test.sol";
import {ProductionFixture} from "../attacks/ProductionFixture.sol";
import {SequencerSet} from "../../../contracts/staking/SequencerSet.sol";

/// @notice Drives liveness-by-progress on the production SequencerSet (ProductionFixture, with
///         the L1Bridge as its deposit queue): deposits, `noteWork` by anyone, heartbeats and
///         batches of the current sequencer, `recordSeed`, `reselect` and time. Each call is
///         checked against the handler's model of when it may succeed (issue #10, attack 4).
contract LivenessHandler is ProductionFixture {
    uint256 public ghost_noteWorkMismatch; // noteWork succeeded/failed against the model
    uint256 public ghost_reselectMismatch; // reselect succeeded/failed against the model
    uint256 public ghost_heartbeatMovedProgress; // a heartbeat moved the progress deadline
    uint256 public ghost_batchKeptWork; // a batch left work noted or the queue mark stale
    uint256 public ghost_seedMismatch; // recordSeed against the model, or a wrong hash stored
    uint256 public n_deposit;
    uint256 public n_noteWork;
    uint256 public n_reselectNoProgress;
    uint256 public n_reselectHeartbeat;
    uint256 public n_reselectRefused;
    uint256 public n_heartbeat;
    uint256 public n_batch;
    uint256 public n_seed;
    uint256 internal _salt;

    constructor() {
        setUp();
        vm.deal(address(this), 1_000 ether);
    }

    function deposit(uint256 amount) external {
        bridge.depositETH{value: bound(amount, 1, 1 ether)}(address(0xD0));
        n_deposit++;
    }

    function warp(uint256 dt) external {
        vm.warp(block.timestamp + bound(dt, 1, 2 * HEARTBEAT));
        vm.roll(block.number + 1);
    }

    function noteWork() external {
        SequencerSet.Progress memory p = sset.progress();
        bool expected =
            sset.currentSequencer() != address(0) && p.workSince == 0 && bridge.depositCount() > p.queuedAtBatch;
        try sset.noteWork() {
            if (!expected) ghost_noteWorkMismatch++;
            if (sset.progress().workSince != block.timestamp) ghost_noteWorkMismatch++;
            n_noteWork++;
        } catch {
            if (expected) ghost_noteWorkMismatch++;
        }
    }

    function heartbeat() external {
        address cur = sset.currentSequencer();
        if (cur == address(0)) return;
        uint256 before = sset.progressDeadline();
        vm.prank(cur);
        sset.heartbeat();
        if (sset.progressDeadline() != before) ghost_heartbeatMovedProgress++;
        n_heartbeat++;
    }

    function batch() external {
        if (sset.currentSequencer() == address(0)) return;
        _append(1, bytes32(++_salt));
        SequencerSet.Progress memory p = sset.progress();
        if (p.workSince != 0 || p.queuedAtBatch != bridge.depositCount() || p.lastBatchAt != block.timestamp) {
            ghost_batchKeptWork++;
        }
        vm.roll(block.number + 1);
        n_batch++;
    }

    function recordSeed() external {
        uint256 sb = sset.epochInfo().seedBlock;
        bool expected = sset.progress().seedRecordedFor != sb && blockhash(sb) != bytes32(0);
        bytes32 h = blockhash(sb);
        try sset.recordSeed() {
            if (!expected || sset.seedHash() != h) ghost_seedMismatch++;
            n_seed++;
        } catch {
            if (expected) ghost_seedMismatch++;
        }
    }

    function reselect() external {
        address cur = sset.currentSequencer();
        if (cur == address(0)) return;
        uint256 pd = sset.progressDeadline();
        bool missed = block.timestamp > uint256(sset.epochInfo().lastHeartbeat) + HEARTBEAT;
        bool stalled = pd != 0 && block.timestamp > pd;
        try sset.reselect() {
            if (!missed && !stalled) ghost_reselectMismatch++;
            if (sset.currentSequencer() == cur && pool.activeCount() > 1) ghost_reselectMismatch++;
            if (stalled && !missed) n_reselectNoProgress++;
            else n_reselectHeartbeat++;
        } catch {
            if (missed || stalled) ghost_reselectMismatch++;
            n_reselectRefused++;
        }
    }

    function printCounts() external view {
        console.log("deposits", n_deposit);
        console.log("noteWork", n_noteWork);
        console.log("heartbeats", n_heartbeat);
        console.log("batches", n_batch);
        console.log("seeds recorded", n_seed);
        console.log("reselect (no progress, pinging)", n_reselectNoProgress);
        console.log("reselect (heartbeat missed)", n_reselectHeartbeat);
        console.log("reselect refused", n_reselectRefused);
    }
}

/// @notice Invariants of liveness by progress under random deposits, pings, batches and time.
contract LivenessInvariantsTest is Test {
    LivenessHandler internal h;

    function setUp() public {
        h = new LivenessHandler();
        targetContract(address(h));
        bytes4[] memory s = new bytes4[](8);
        s[0] = LivenessHandler.deposit.selector;
        s[1] = LivenessHandler.warp.selector;
        s[2] = LivenessHandler.noteWork.selector;
        s[3] = LivenessHandler.heartbeat.selector;
        s[4] = LivenessHandler.heartbeat.selector; // pings twice as likely: a pinging staller
        s[5] = LivenessHandler.batch.selector;
        s[6] = LivenessHandler.recordSeed.selector;
        s[7] = LivenessHandler.reselect.selector;
        targetSelector(FuzzSelector(address(h), s));
    }

    function afterInvariant() external view {
        h.printCounts();
    }

    /// @custom:invariant `noteWork` succeeds exactly when deposits were queued after the last
    ///                   batch and no work is noted yet; `recordSeed` exactly when the seed
    ///                   block's hash is new and L1 still returns it, and stores that hash.
    function invariant_noteWorkAndRecordSeedFollowTheModel() public view {
        assertEq(h.ghost_noteWorkMismatch(), 0, "noteWork against the model");
        assertEq(h.ghost_seedMismatch(), 0, "recordSeed against the model");
    }

    /// @custom:invariant A heartbeat never moves the progress deadline; a batch clears noted
    ///                   work; `reselect` succeeds exactly when the heartbeat deadline or the
    ///                   progress deadline passed, and then replaces the current sequencer.
    function invariant_livenessIsJudgedByProgress() public view {
        assertEq(h.ghost_heartbeatMovedProgress(), 0, "a heartbeat moved the progress deadline");
        assertEq(h.ghost_batchKeptWork(), 0, "a batch left work noted");
        assertEq(h.ghost_reselectMismatch(), 0, "reselect against the model");
    }

    /// @notice The handler reaches a reselection of a pinging sequencer for lack of progress.
    function test_handlerReachesNoProgressReselection() public {
        h.deposit(1);
        h.noteWork();
        for (uint256 i = 0; i < 3; i++) {
            h.warp(HEARTBEAT_S / 2);
            h.heartbeat();
        }
        h.reselect();
        assertEq(h.n_reselectNoProgress(), 1, "reselected for lack of progress while pinging");
        // The rotation committed a new seed block: anyone records its hash once it is mined.
        h.recordSeed();
        h.warp(1);
        h.warp(1);
        h.recordSeed();
        h.recordSeed();
        assertEq(h.n_seed(), 1, "the seed is recorded once");
        invariant_livenessIsJudgedByProgress();
        invariant_noteWorkAndRecordSeedFollowTheModel();
    }

    uint256 internal constant HEARTBEAT_S = 10 minutes;
}
