// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {MerkleTree} from "../../../contracts/common/MerkleTree.sol";
import {BatchHeader, BatchStatus} from "../../../contracts/rollup/BatchHeader.sol";
import {StateCommitment} from "../../../contracts/rollup/StateCommitment.sol";
import {DataAvailabilityChallenge} from "../../../contracts/rollup/DataAvailabilityChallenge.sol";
import {IStateCommitment} from "../../../contracts/rollup/IStateCommitment.sol";
import {L1Bridge, Withdrawal} from "../../../contracts/bridge/L1Bridge.sol";
import {IDepositQueue} from "../../../contracts/bridge/IDepositQueue.sol";
import {ISequencerSet} from "../../../contracts/staking/ISequencerSet.sol";
import {TestSequencerSet} from "../../../contracts/test/TestSequencerSet.sol";

/// @notice Drives StateCommitment, L1Bridge and DataAvailabilityChallenge with random actions
///         and keeps ghost sums and per-batch status histories for the invariants.
contract RollupHandler is Test {
    StateCommitment public sc;
    L1Bridge public bridge;
    DataAvailabilityChallenge public da;
    TestSequencerSet public seqset;
    uint256[4] internal keys;
    uint256 public constant WINDOW = 100;
    uint256 public constant FEE = 1 ether;

    /// One appended batch (a header version) and what the handler last saw of it.
    struct Entry {
        BatchHeader header;
        bytes32 hash;
        uint256 appendedAt;
        BatchStatus last;
        Withdrawal w;
        uint256 version;
    }

    Entry[] internal _entries;
    /// Ghost of the chain: the live version of each index (0: none; truncated on invalidation),
    /// so a re-append of an identical header is a new version, not the old one coming back.
    mapping(uint256 => uint256) internal _liveVersion;
    uint256 internal _versions;
    mapping(bytes32 => bool) internal _paid;

    uint256 public ghost_deposited;
    uint256 public ghost_withdrawn;
    uint256 public ghost_doubleFinalize;
    uint256 public ghost_earlyFinalize;
    uint256 public ghost_invalidFinalize;
    uint256 public ghost_outOfOrderAppend;
    uint256 public ghost_statusRegressions;
    uint256 public ghost_finalizedUpTo; // 1 + highest index ever seen Finalized
    uint256 public ghost_appends;
    uint256 public ghost_slashPaid;

    constructor(StateCommitment sc_, L1Bridge bridge_, DataAvailabilityChallenge da_, TestSequencerSet seqset_, uint256[4] memory keys_) {
        (sc, bridge, da, seqset, keys) = (sc_, bridge_, da_, seqset_, keys_);
        vm.deal(address(this), 1_000_000 ether);
    }

    receive() external payable {}

    // ------------------------------------------------------------------ actions

    function deposit(uint256 amount) external {
        amount = bound(amount, 1, 100 ether);
        bridge.depositETH{value: amount}(address(this));
        ghost_deposited += amount;
        _observe();
    }

    function append(uint256 amount, uint256 wrongIndex) external {
        uint256 index = sc.nextIndex();
        // Sometimes try a wrong index: it must never be accepted.
        bool wrong = wrongIndex % 5 == 0;
        uint256 claimed = wrong ? index + 1 + wrongIndex % 3 : index;
        Withdrawal memory w = Withdrawal(keccak256(abi.encode(index, amount)), address(0xBEEF), address(0), bound(amount, 1, 50 ether));
        bytes32[] memory items = new bytes32[](2);
        items[0] = keccak256(abi.encode(w));
        BatchHeader memory h = BatchHeader({
            index: uint64(claimed),
            firstBlock: uint64(index),
            l2Blocks: 1,
            txCount: 2,
            depositCount: 0,
            depositHash: bytes32(0),
            txRoot: keccak256(abi.encode("tx", index, amount)),
            stateRootsRoot: keccak256(abi.encode("s", index, amount)),
            finalStateRoot: keccak256(abi.encode("f", index, amount)),
            withdrawalRoot: MerkleTree.rootOf(items),
            dataHash: keccak256(abi.encode("d", index, amount))
        });
        bytes[] memory sigs = _sign(h);
        address current = seqset.currentSequencer();
        if (current == address(0)) return;
        vm.prank(current);
        try sc.appendBatch(h, sigs) {
            if (wrong) ghost_outOfOrderAppend += 1;
            ghost_appends += 1;
            _versions += 1;
            _liveVersion[index] = _versions;
            _entries.push(Entry(h, keccak256(abi.encode(h)), block.timestamp, BatchStatus.Pending, w, _versions));
        } catch {}
        _observe();
    }

    function warp(uint256 dt) external {
        vm.warp(block.timestamp + bound(dt, 1, 60));
        _observe();
    }

    /// Finalize the withdrawal of a random batch version (and sometimes replay it).
    function finalize(uint256 which) external {
        if (_entries.length == 0) return;
        Entry storage e = _entries[which % _entries.length];
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = MerkleTree.leafHash(1, bytes32(0));
        bytes32 key = bridge.withdrawalHash(e.w);
        bool wasPaid = _paid[key];
        bool valid = _live(e);
        bool finalNow = valid && block.timestamp >= e.appendedAt + WINDOW;
        try bridge.finalizeWithdrawal(e.header, 0, e.w, proof) {
            if (wasPaid) ghost_doubleFinalize += 1;
            if (!finalNow) ghost_earlyFinalize += 1;
            if (!valid) ghost_invalidFinalize += 1;
            _paid[key] = true;
            ghost_withdrawn += e.w.amount;
        } catch {}
        _observe();
    }

    /// Invalidate from a random pending batch (the handler is an authorised challenger).
    function invalidate(uint256 which) external {
        uint256 n = sc.nextIndex();
        if (n == 0) return;
        uint256 from = which % n;
        try sc.invalidateFrom(from) {
            _truncate(from, n);
        } catch {}
        _observe();
    }

    /// A data request that times out: slash, kick, rotate, invalidate.
    function daTimeout(uint256 which) external {
        uint256 n = sc.nextIndex();
        if (n == 0 || _entries.length == 0) return;
        uint256 index = which % n;
        BatchHeader memory h = _current(index);
        try da.requestData{value: FEE}(h) {
            vm.warp(block.timestamp + da.dataWindow() + 1);
            uint256 before = address(this).balance;
            da.resolveTimeout(index);
            _truncate(index, n);
            ghost_slashPaid += address(this).balance - before;
        } catch {}
        _observe();
    }

    // ------------------------------------------------------------------ helpers

    function _current(uint256 index) internal view returns (BatchHeader memory h) {
        for (uint256 i = _entries.length; i > 0; i--) {
            if (_entries[i - 1].header.index == index && _live(_entries[i - 1])) {
                return _entries[i - 1].header;
            }
        }
    }

    function _truncate(uint256 from, uint256 to) internal {
        for (uint256 i = from; i < to; i++) {
            _liveVersion[i] = 0;
        }
    }

    /// The entry is the live version at its index (per the ghost chain) and the contract agrees.
    function _live(Entry storage e) internal view returns (bool) {
        return _liveVersion[e.header.index] == e.version && sc.matchesHeader(e.header.index, e.hash);
    }

    /// Status of an entry: the contract's while it is the live version, else Invalid.
    function _status(Entry storage e) internal view returns (BatchStatus) {
        if (!_live(e)) return BatchStatus.Invalid;
        return sc.batchStatus(e.header.index);
    }

    /// Record status regressions: only Pending -> Finalized and Pending -> Invalid are allowed.
    function _observe() internal {
        for (uint256 i = 0; i < _entries.length; i++) {
            Entry storage e = _entries[i];
            BatchStatus s = _status(e);
            if (s != e.last && e.last != BatchStatus.Pending) ghost_statusRegressions += 1;
            if (s == BatchStatus.Finalized && e.header.index + 1 > ghost_finalizedUpTo) {
                ghost_finalizedUpTo = e.header.index + 1;
            }
            e.last = s;
        }
    }

    function _sign(BatchHeader memory h) internal view returns (bytes[] memory sigs) {
        bytes32 digest = keccak256(abi.encode(block.chainid, address(sc), uint256(h.index), keccak256(abi.encode(h))));
        address[] memory active = seqset.activeSigners();
        // Sign with every active key, in ascending address order (test keys are pre-sorted).
        uint256 count = 0;
        bytes[] memory all = new bytes[](4);
        for (uint256 k = 0; k < 4; k++) {
            address a = vm.addr(keys[k]);
            bool isActive = false;
            for (uint256 j = 0; j < active.length; j++) {
                if (active[j] == a) isActive = true;
            }
            if (!isActive) continue;
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(keys[k], digest);
            all[count++] = abi.encodePacked(r, s, v);
        }
        sigs = new bytes[](count);
        for (uint256 i = 0; i < count; i++) {
            sigs[i] = all[i];
        }
    }
}

/// @notice Invariants of the rollup L1 contracts under random appends, deposits, withdrawals,
///         time, invalidations and data-availability timeouts.
contract RollupInvariantsTest is Test {
    RollupHandler internal handler;
    StateCommitment internal sc;
    L1Bridge internal bridge;
    TestSequencerSet internal seqset;
    uint256 internal constant STAKE = 10 ether;

    function setUp() public {
        uint256[4] memory keys = [uint256(0xA11CE), 0xB0B, 0xCA401, 0xD0D];
        // Sort keys by address (signatures must be in ascending signer order).
        for (uint256 i = 0; i < 4; i++) {
            for (uint256 j = i + 1; j < 4; j++) {
                if (vm.addr(keys[j]) < vm.addr(keys[i])) (keys[i], keys[j]) = (keys[j], keys[i]);
            }
        }
        address[] memory signers = new address[](4);
        for (uint256 i = 0; i < 4; i++) {
            signers[i] = vm.addr(keys[i]);
        }
        seqset = new TestSequencerSet();
        vm.deal(address(this), 100 ether);
        seqset.setSigners{value: 4 * STAKE}(signers, STAKE);
        sc = new StateCommitment(address(this), ISequencerSet(address(seqset)), bytes32(0), 100);
        bridge = new L1Bridge(IStateCommitment(address(sc)));
        sc.setBridge(IDepositQueue(address(bridge)));
        DataAvailabilityChallenge da = new DataAvailabilityChallenge(
            address(this), IStateCommitment(address(sc)), ISequencerSet(address(seqset)), 30, 1 ether, 3 ether
        );
        handler = new RollupHandler(sc, bridge, da, seqset, keys);
        sc.setChallenger(address(da), true);
        sc.setChallenger(address(handler), true);
        seqset.authorise(address(sc));
        seqset.authorise(address(da));
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](6);
        selectors[0] = RollupHandler.deposit.selector;
        selectors[1] = RollupHandler.append.selector;
        selectors[2] = RollupHandler.warp.selector;
        selectors[3] = RollupHandler.finalize.selector;
        selectors[4] = RollupHandler.invalidate.selector;
        selectors[5] = RollupHandler.daTimeout.selector;
        targetSelector(FuzzSelector(address(handler), selectors));
    }

    /// @notice The handler's actions do succeed (so the invariants are not vacuous).
    function test_handlerReachesEveryPath() public {
        handler.deposit(10 ether);
        handler.append(1 ether, 1);
        handler.warp(60);
        handler.finalize(0);
        assertEq(handler.ghost_withdrawn(), 0, "paid before the window");
        handler.warp(60);
        handler.finalize(0);
        assertEq(handler.ghost_withdrawn(), 1 ether, "paid after the window");
        handler.finalize(0);
        assertEq(handler.ghost_withdrawn(), 1 ether, "replay paid nothing");
        handler.append(2 ether, 1);
        handler.append(3 ether, 1);
        handler.daTimeout(1);
        assertGe(handler.ghost_slashPaid(), 1, "the verifier was paid from the slash");
        assertEq(sc.nextIndex(), 1, "batches 1.. invalidated");
        handler.append(4 ether, 1);
        assertEq(sc.nextIndex(), 2, "resubmitted by the next sequencer");
        handler.invalidate(1);
        assertEq(sc.nextIndex(), 1, "invalidated again");
        assertEq(handler.ghost_appends(), 4, "appends");
    }

    /// @custom:invariant A withdrawal is paid at most once.
    function invariant_cannotFinalizeTwice() public view {
        assertEq(handler.ghost_doubleFinalize(), 0, "a withdrawal was paid twice");
    }

    /// @custom:invariant No withdrawal is paid before its batch's challenge window has passed,
    ///                   nor from a batch that is not the valid one at its index.
    function invariant_cannotFinalizeEarly() public view {
        assertEq(handler.ghost_earlyFinalize(), 0, "a withdrawal was paid early");
        assertEq(handler.ghost_invalidFinalize(), 0, "a withdrawal was paid from an invalid batch");
    }

    /// @custom:invariant Batches are appended only at the next index, and the chain never drops
    ///                   below a batch that was once final.
    function invariant_batchIndicesOnlyMoveForward() public view {
        assertEq(handler.ghost_outOfOrderAppend(), 0, "an out-of-order index was appended");
        assertGe(sc.nextIndex(), handler.ghost_finalizedUpTo(), "a finalized batch was invalidated");
    }

    /// @custom:invariant Each appended batch is Pending, then Finalized or Invalid, never back.
    function invariant_statusOnlyMovesForward() public view {
        assertEq(handler.ghost_statusRegressions(), 0, "a batch status moved backwards");
    }

    /// @custom:invariant The bridge holds exactly deposits minus paid withdrawals (so never less).
    function invariant_bridgeSolvent() public view {
        uint256 expected = handler.ghost_deposited() - handler.ghost_withdrawn();
        assertEq(address(bridge).balance, expected, "bridge balance");
        assertEq(bridge.locked(address(0)), expected, "locked ETH");
    }

    /// @custom:invariant Slashed stake is conserved: remaining stake + paid reward + burned
    ///                   equals the stake put in.
    function invariant_slashConserved() public view {
        address[4] memory all;
        uint256 remaining = 0;
        // Signers can be kicked, so sum stakes over the original keys.
        uint256[4] memory keys = [uint256(0xA11CE), 0xB0B, 0xCA401, 0xD0D];
        for (uint256 i = 0; i < 4; i++) {
            all[i] = vm.addr(keys[i]);
            remaining += seqset.stake(all[i]);
        }
        assertEq(remaining + seqset.paidOut() + seqset.burned(), 4 * STAKE, "stake conservation");
        assertEq(seqset.paidOut(), handler.ghost_slashPaid(), "reward reached the verifier");
    }
}
