// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, console} from "../utils/Test.sol";
import {FrostSigner} from "../utils/FrostSigner.sol";
import {MerkleTree} from "../../../contracts/common/MerkleTree.sol";
import {BatchHeader, BatchStatus} from "../../../contracts/rollup/BatchHeader.sol";
import {StateCommitment} from "../../../contracts/rollup/StateCommitment.sol";
import {DataAvailabilityChallenge} from "../../../contracts/rollup/DataAvailabilityChallenge.sol";
import {IStateCommitment} from "../../../contracts/rollup/IStateCommitment.sol";
import {L1Bridge, Withdrawal} from "../../../contracts/bridge/L1Bridge.sol";
import {IDepositQueue} from "../../../contracts/bridge/IDepositQueue.sol";
import {ISequencerSet} from "../../../contracts/staking/ISequencerSet.sol";
import {L2KitToken} from "../../../contracts/staking/L2KitToken.sol";
import {LockingPool} from "../../../contracts/staking/LockingPool.sol";
import {SequencerSet} from "../../../contracts/staking/SequencerSet.sol";

/// @notice Drives StateCommitment, L1Bridge and DataAvailabilityChallenge on the real
///         LockingPool + SequencerSet. Every expectation comes from the handler's own model of
///         the chain (which batch version is live at each index, which data requests are open,
///         which withdrawals were paid, each sequencer's stake), never from a contract's return
///         value, so a contract that pays twice, pays early or slashes wrongly diverges from it.
contract RollupHandler is Test {
    StateCommitment public sc;
    L1Bridge public bridge;
    DataAvailabilityChallenge public da;
    SequencerSet public sset;
    LockingPool public pool;
    L2KitToken public token;

    uint256 public constant WINDOW = 100;
    uint256 public constant DATA_WINDOW = 30;
    uint256 public constant FEE = 1 ether;
    uint256 public constant STAKE = 20_000 ether;
    uint256 public constant SLASH = 8_000 ether;
    uint256 public constant BPS_PAID = 5_000;
    uint256 public constant KEYS = 16;
    uint256 public constant INITIAL = 6;
    address public constant RECIPIENT = address(0xBEEF);

    uint256[] internal _keys; // every sequencer key (the first INITIAL locked in setUp)
    uint256 public lockedKeys; // keys locked so far
    FrostSigner.Key internal groupKey; // the set's group key (held whole by the handler)

    /// One appended batch version and what the model knows of it.
    struct Entry {
        BatchHeader header;
        bytes32 hash;
        uint256 appendedAt;
        uint256 version;
        uint256 salt;
        address sequencer;
        BatchStatus last;
        Withdrawal w;
    }

    Entry[] internal _entries;

    // ---------------------------------------------------------------- the model
    mapping(uint256 => uint256) internal _liveVersion; // index -> live version (0: none)
    mapping(uint256 => uint256) internal _liveEntry; // index -> entry position + 1
    uint256 internal _versions;
    uint256 public modelNext; // the model's nextIndex
    mapping(bytes32 => bool) internal _paid; // withdrawal key -> paid
    mapping(uint256 => bool) internal _scOpen; // index -> a data request holds it (insecure)
    mapping(uint256 => bool) internal _daOpen; // index -> DA request status Open
    mapping(uint256 => uint256) internal _daDeadline;
    mapping(uint256 => uint256) internal _daVersion; // index -> version the request is on
    mapping(uint256 => bool) internal _answered; // version -> data provided
    mapping(address => uint256) public modelStake; // signer -> stake
    mapping(address => bool) public modelActive;

    uint256 public ghost_deposited;
    uint256 public ghost_modelPaid; // what the model says the bridge paid
    uint256 public ghost_modelSlashPaid;
    uint256 public ghost_modelSlashBurned;
    uint256 public ghost_modelBondsToVerifier;

    // ---------------------------------------------------------------- violations
    uint256 public ghost_doubleFinalize;
    uint256 public ghost_earlyFinalize;
    uint256 public ghost_invalidFinalize;
    uint256 public ghost_insecureFinalize;
    uint256 public ghost_refusedPayable; // the model says payable, the bridge refused
    uint256 public ghost_outOfOrderAppend;
    uint256 public ghost_statusRegressions;
    uint256 public ghost_requestViolations; // a data request accepted or answered against the model
    uint256 public ghost_wrongAmount; // a payout of another amount than the withdrawal's
    uint256 public ghost_finalizedUpTo; // 1 + highest index ever seen Finalized

    // ---------------------------------------------------------------- success counts
    uint256 public n_deposit;
    uint256 public n_append;
    uint256 public n_appendConsumingDeposits;
    uint256 public n_finalizePaid;
    uint256 public n_replayRefused;
    uint256 public n_heldWhileInsecure;
    uint256 public n_requestData;
    uint256 public n_provideData;
    uint256 public n_resolveTimeout;
    uint256 public n_cancelStale;
    uint256 public n_invalidate;
    uint256 public n_relock;
    uint256 public maxActive;
    uint256 public maxBatches;

    constructor(uint256[] memory keys_) {
        for (uint256 i = 0; i < keys_.length; i++) {
            _keys.push(keys_[i]);
        }
        token = new L2KitToken("T", "T", address(this));
        LockingPool.Params memory p = LockingPool.Params({
            minLock: STAKE,
            maxLock: 5 * STAKE,
            maxSequencers: 21,
            withdrawalDelay: 1_000,
            signerUpdateInterval: 10,
            rewardPerBlock: 0,
            slashBeneficiaryBps: BPS_PAID
        });
        pool = new LockingPool(token, p, address(this));
        sset = new SequencerSet(pool, 1_000_000, 1_000_000, address(this));
        pool.setSequencerSet(address(sset));
        sc = new StateCommitment(address(this), ISequencerSet(address(sset)), bytes32(0), WINDOW, 365 days);
        bridge = new L1Bridge(IStateCommitment(address(sc)), 365 days);
        sc.setBridge(IDepositQueue(address(bridge)));
        da = new DataAvailabilityChallenge(
            address(this), IStateCommitment(address(sc)), ISequencerSet(address(sset)), DATA_WINDOW, FEE, SLASH
        );
        sc.setChallenger(address(da), true);
        sc.setChallenger(address(this), true);
        sset.setRollup(address(sc), true);
        sset.setRollup(address(da), true);
        token.mint(address(this), KEYS * STAKE);
        token.approve(address(pool), type(uint256).max);
        for (uint256 i = 0; i < INITIAL; i++) {
            _lockNext();
        }
        sset.advanceEpoch();
        // The set's FROST key, installed by >2/3 of the stake's ECDSA approval (the list's only
        // use); every batch carries the key's one signature.
        groupKey = FrostSigner.key(1);
        sset.installGroupKey(groupKey.x, groupKey.y, _approve(sset.groupKeyDigest(groupKey.x)));
        vm.deal(address(this), 1_000_000 ether);
    }

    receive() external payable {}

    // ------------------------------------------------------------------ actions

    function deposit(uint256 amount) external {
        amount = bound(amount, 1, 100 ether);
        bridge.depositETH{value: amount}(address(this));
        ghost_deposited += amount;
        n_deposit++;
        _observe();
    }

    /// Append the next batch (sometimes at a wrong index, sometimes consuming every queued deposit).
    function append(uint256 amount, uint256 wrongIndex, bool consume) external {
        address current = sset.currentSequencer();
        if (current == address(0)) return;
        uint256 index = modelNext;
        bool wrong = wrongIndex % 5 == 0;
        uint256 claimed = wrong ? index + 1 + wrongIndex % 3 : index;
        uint256 previous = _consumedAt(index);
        uint256 count = consume ? bridge.depositCount() : previous;
        uint256 salt = uint256(keccak256(abi.encode(index, amount, _versions)));
        Withdrawal memory w = Withdrawal(bytes32(salt), RECIPIENT, address(0), bound(amount, 1, 50 ether));
        BatchHeader memory h = _headerFor(claimed, index, count, salt, w);
        bytes[] memory sigs = _sign(h);
        vm.prank(current);
        try sc.appendBatch(h, sigs) {
            if (wrong) ghost_outOfOrderAppend += 1;
            _versions += 1;
            _liveVersion[index] = _versions;
            _entries.push(Entry(h, keccak256(abi.encode(h)), block.timestamp, _versions, salt, current, BatchStatus.Pending, w));
            _liveEntry[index] = _entries.length;
            modelNext = index + 1;
            n_append++;
            if (count > previous) n_appendConsumingDeposits++;
            if (modelNext > maxBatches) maxBatches = modelNext;
        } catch {}
        _observe();
    }

    function warp(uint256 dt) external {
        vm.warp(block.timestamp + bound(dt, 1, 60));
        _observe();
    }

    /// Finalize a withdrawal: usually the first live unpaid entry from a random start, after
    /// waiting out its challenge window (held if a data request makes it insecure); with
    /// `any`, a random entry as it is (early, invalidated or paid ones must be refused).
    function finalize(uint256 which, bool any) external {
        uint256 n = _entries.length;
        if (n == 0) return;
        uint256 pick = which % n;
        if (!any) {
            for (uint256 k = 0; k < n; k++) {
                Entry storage c = _entries[(which % n + k) % n];
                if (_liveVersion[c.header.index] == c.version && !_paid[bridge.withdrawalHash(c.w)]) {
                    pick = (which % n + k) % n;
                    if (block.timestamp < c.appendedAt + WINDOW) vm.warp(c.appendedAt + WINDOW);
                    break;
                }
            }
        }
        _finalize(_entries[pick]);
        _observe();
    }

    /// Replay a withdrawal that was already paid: the bridge must refuse it.
    function replay(uint256 which) external {
        uint256 n = _entries.length;
        for (uint256 k = 0; k < n; k++) {
            Entry storage e = _entries[(which % n + k) % n];
            if (_paid[bridge.withdrawalHash(e.w)]) {
                _finalize(e);
                break;
            }
        }
        _observe();
    }

    /// Open a data request on a live pending batch; it stays open across calls.
    function requestData(uint256 which) external {
        if (modelNext == 0) return;
        uint256 index = which % modelNext;
        Entry storage e = _entries[_liveEntry[index] - 1];
        // A stale open request (its batch was replaced) is closed by the new one, bond back.
        bool stale = _daOpen[index] && _daVersion[index] != e.version;
        bool allowed = (!_daOpen[index] || stale) && !_answered[e.version] && block.timestamp < e.appendedAt + WINDOW;
        try da.requestData{value: FEE}(e.header) {
            if (!allowed) ghost_requestViolations += 1; // a request the model says is impossible
            if (stale) ghost_modelBondsToVerifier += FEE;
            _daOpen[index] = true;
            _scOpen[index] = true;
            _daDeadline[index] = block.timestamp + DATA_WINDOW;
            _daVersion[index] = e.version;
            n_requestData++;
        } catch {}
        _observe();
    }

    /// The batch's sequencer answers an open request with the batch data (or with bad data).
    function provideData(uint256 which, bool honest) external {
        (bool found, uint256 index) = _openRequest(which);
        if (!found || _liveVersion[index] != _daVersion[index]) return;
        Entry storage e = _entries[_liveEntry[index] - 1];
        (bytes[] memory txs, address[] memory fees, bytes32[] memory roots, bytes32[] memory items) =
            _data(e.salt, e.w);
        if (!honest) roots[0] = keccak256("not the post-state root");
        bool inTime = block.timestamp <= _daDeadline[index];
        vm.prank(e.sequencer);
        try da.provideData(e.header, txs, fees, roots, items) {
            if (!inTime) {
                ghost_requestViolations += 1; // answered after the deadline
            } else if (honest) {
                _daOpen[index] = false;
                _scOpen[index] = false;
                _answered[e.version] = true;
                n_provideData++;
            } else {
                _failRequest(index, e.sequencer); // bad data: same as silence
            }
        } catch {}
        _observe();
    }

    /// After the deadline with no answer: slash, kick, rotate, invalidate.
    function resolveTimeout(uint256 which) external {
        (bool found, uint256 index) = _openRequest(which);
        if (!found || _liveVersion[index] != _daVersion[index]) return;
        if (block.timestamp <= _daDeadline[index]) vm.warp(_daDeadline[index] + 1);
        Entry storage e = _entries[_liveEntry[index] - 1];
        try da.resolveTimeout(index) {
            _failRequest(index, e.sequencer);
            n_resolveTimeout++;
        } catch {}
        _observe();
    }

    /// Close a request whose batch was invalidated by another challenge (bond back).
    function cancelStale(uint256 which) external {
        (bool found, uint256 index) = _openRequest(which);
        if (!found || _liveVersion[index] == _daVersion[index]) return;
        try da.cancelStaleRequest(index) {
            _daOpen[index] = false;
            ghost_modelBondsToVerifier += FEE;
            n_cancelStale++;
        } catch {}
        _observe();
    }

    /// Invalidate from a random batch (the handler is an authorised challenger).
    function invalidate(uint256 which) external {
        if (modelNext == 0) return;
        uint256 from = which % modelNext;
        try sc.invalidateFrom(from) {
            _truncate(from);
            n_invalidate++;
        } catch {}
        _observe();
    }

    /// A new sequencer joins while the set is below six (punishments kick sequencers out).
    function relock() external {
        if (pool.activeCount() >= INITIAL || lockedKeys == KEYS) return;
        _lockNext();
        if (sset.currentSequencer() == address(0)) sset.advanceEpoch(); // everyone was kicked
        n_relock++;
        _observe();
    }

    // ------------------------------------------------------------------ model helpers

    function _finalize(Entry storage e) internal {
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = MerkleTree.leafHash(1, bytes32(0));
        bytes32 key = bridge.withdrawalHash(e.w);
        bool live = _liveVersion[e.header.index] == e.version;
        bool windowPassed = block.timestamp >= e.appendedAt + WINDOW;
        bool insecure = _insecure(e.header.index);
        bool wasPaid = _paid[key];
        bool funded = e.w.amount <= ghost_deposited - ghost_modelPaid;
        bool expected = live && windowPassed && !insecure && !wasPaid && funded;
        uint256 before = address(bridge).balance;
        try bridge.finalizeWithdrawal(e.header, 0, e.w, proof) {
            if (wasPaid) ghost_doubleFinalize += 1;
            if (!windowPassed) ghost_earlyFinalize += 1;
            if (!live) ghost_invalidFinalize += 1;
            if (insecure) ghost_insecureFinalize += 1;
            if (expected) n_finalizePaid++;
            if (before - address(bridge).balance != e.w.amount) ghost_wrongAmount += 1;
        } catch {
            if (expected) ghost_refusedPayable += 1;
            if (wasPaid) n_replayRefused++;
            if (live && windowPassed && insecure && !wasPaid) n_heldWhileInsecure++;
        }
        if (expected) {
            _paid[key] = true;
            ghost_modelPaid += e.w.amount;
        }
    }

    /// A failed request (timeout or bad data): invalidate from `index`, slash and kick.
    function _failRequest(uint256 index, address sequencer) internal {
        _daOpen[index] = false;
        _truncate(index);
        ghost_modelBondsToVerifier += FEE;
        uint256 stake = modelStake[sequencer];
        uint256 slashed = SLASH < stake ? SLASH : stake;
        modelStake[sequencer] = stake - slashed;
        uint256 paid = (slashed * BPS_PAID) / 10_000;
        ghost_modelSlashPaid += paid;
        ghost_modelSlashBurned += slashed - paid;
        modelActive[sequencer] = false;
    }

    /// Invalidation truncates the chain and closes the data-request holds on it.
    function _truncate(uint256 from) internal {
        for (uint256 i = from; i < modelNext; i++) {
            _liveVersion[i] = 0;
            _liveEntry[i] = 0;
            _scOpen[i] = false;
        }
        if (from < modelNext) modelNext = from;
    }

    function _insecure(uint256 index) internal view returns (bool) {
        for (uint256 i = 0; i <= index && i < modelNext; i++) {
            if (_scOpen[i]) return true;
        }
        return false;
    }

    function _openRequest(uint256 which) internal view returns (bool, uint256) {
        uint256 n = _entries.length;
        for (uint256 k = 0; k < n; k++) {
            uint256 index = _entries[(which % n + k) % n].header.index;
            if (_daOpen[index]) return (true, index);
        }
        return (false, 0);
    }

    /// Deposits consumed by the live batch before `index` (0 for the first batch).
    function _consumedAt(uint256 index) internal view returns (uint256) {
        if (index == 0) return 0;
        return _entries[_liveEntry[index - 1] - 1].header.depositCount;
    }

    function _lockNext() internal {
        address signer = vm.addr(_keys[lockedKeys]);
        pool.lockFor(address(this), signer, STAKE);
        modelStake[signer] = STAKE;
        modelActive[signer] = true;
        lockedKeys++;
    }

    // ------------------------------------------------------------------ batch data

    /// Two transactions: the withdrawal (leaf 0) and a transfer; data consistent with the header.
    function _data(uint256 salt, Withdrawal memory w)
        internal
        pure
        returns (bytes[] memory txs, address[] memory fees, bytes32[] memory roots, bytes32[] memory items)
    {
        txs = new bytes[](2);
        txs[0] = abi.encode("withdraw", salt);
        txs[1] = abi.encode("transfer", salt);
        fees = new address[](2);
        fees[0] = address(0xFEE);
        fees[1] = address(0xFEE);
        roots = new bytes32[](2);
        roots[0] = keccak256(abi.encode("root0", salt));
        roots[1] = keccak256(abi.encode("root1", salt));
        items = new bytes32[](2);
        items[0] = keccak256(abi.encode(w));
    }

    function _headerFor(uint256 claimed, uint256 index, uint256 count, uint256 salt, Withdrawal memory w)
        internal
        view
        returns (BatchHeader memory h)
    {
        (bytes[] memory txs, address[] memory fees, bytes32[] memory roots, bytes32[] memory items) = _data(salt, w);
        // MerkleTree.rootOf hashes its input in place: read what else is needed first.
        bytes32 dataHash = keccak256(abi.encode(txs, fees, roots, items));
        bytes32 finalRoot = roots[1];
        bytes32[] memory leaves = new bytes32[](2);
        for (uint256 i = 0; i < 2; i++) {
            leaves[i] = keccak256(abi.encode(keccak256(txs[i]), fees[i]));
        }
        h = BatchHeader({
            index: uint64(claimed),
            firstBlock: uint64(index),
            l2Blocks: 1,
            txCount: 2,
            depositCount: uint64(count),
            depositHash: count == 0 ? bytes32(0) : bridge.depositHashAt(count),
            txRoot: MerkleTree.rootOf(leaves),
            stateRootsRoot: MerkleTree.rootOf(roots),
            finalStateRoot: finalRoot,
            withdrawalRoot: MerkleTree.rootOf(items),
            dataHash: dataHash,
            blobsHash: bytes32(0)
        });
    }

    // ------------------------------------------------------------------ observation

    /// Record status regressions: only Pending -> Finalized and Pending -> Invalid are allowed.
    function _observe() internal {
        uint256 active = pool.activeCount();
        if (active > maxActive) maxActive = active;
        for (uint256 i = 0; i < _entries.length; i++) {
            Entry storage e = _entries[i];
            BatchStatus s = _liveVersion[e.header.index] == e.version ? sc.batchStatus(e.header.index) : BatchStatus.Invalid;
            if (s != e.last && e.last != BatchStatus.Pending) ghost_statusRegressions += 1;
            if (s == BatchStatus.Finalized && e.header.index + 1 > ghost_finalizedUpTo) {
                ghost_finalizedUpTo = e.header.index + 1;
            }
            e.last = s;
        }
    }

    /// The set's FROST signature over the batch digest of `h`.
    function _sign(BatchHeader memory h) internal returns (bytes[] memory) {
        bytes32 digest = keccak256(abi.encode(block.chainid, address(sc), uint256(h.index), keccak256(abi.encode(h))));
        return FrostSigner.signatures(groupKey, digest);
    }

    /// ECDSA signatures over `digest` of just over 2/3 of the active set, ascending by signer.
    function _approve(bytes32 digest) internal view returns (bytes[] memory sigs) {
        address[] memory active = sset.activeSigners();
        uint256 need = (active.length * 2) / 3 + 1;
        address[] memory signers = new address[](active.length);
        uint256[] memory keyOf = new uint256[](active.length);
        for (uint256 j = 0; j < active.length; j++) {
            signers[j] = active[j];
            for (uint256 k = 0; k < lockedKeys; k++) {
                if (vm.addr(_keys[k]) == active[j]) keyOf[j] = _keys[k];
            }
        }
        // Insertion sort by address (the contract wants strictly ascending signers).
        for (uint256 i = 1; i < signers.length; i++) {
            for (uint256 j = i; j > 0 && signers[j] < signers[j - 1]; j--) {
                (signers[j], signers[j - 1]) = (signers[j - 1], signers[j]);
                (keyOf[j], keyOf[j - 1]) = (keyOf[j - 1], keyOf[j]);
            }
        }
        sigs = new bytes[](need);
        for (uint256 i = 0; i < need; i++) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(keyOf[i], digest);
            sigs[i] = abi.encodePacked(r, s, v);
        }
    }

    /// Prints the per-action success counts of this run.
    function printCounts() external view {
        console.log("deposit", n_deposit);
        console.log("append", n_append);
        console.log("appendConsumingDeposits", n_appendConsumingDeposits);
        console.log("finalizePaid", n_finalizePaid);
        console.log("replayRefused", n_replayRefused);
        console.log("heldWhileInsecure", n_heldWhileInsecure);
        console.log("requestData", n_requestData);
        console.log("provideData", n_provideData);
        console.log("resolveTimeout", n_resolveTimeout);
        console.log("cancelStale", n_cancelStale);
        console.log("invalidate", n_invalidate);
        console.log("relock", n_relock);
        console.log("maxActive", maxActive);
        console.log("maxBatches", maxBatches);
    }

    function keyCount() external view returns (uint256) {
        return lockedKeys;
    }

    function keyAt(uint256 i) external view returns (address) {
        return vm.addr(_keys[i]);
    }
}

/// @notice Invariants of the rollup L1 contracts (real staking contracts) under random appends,
///         deposits, withdrawals and their replays, time, data requests held open, answered
///         and timed out, stale-request cancellation, invalidations and new sequencers.
contract RollupInvariantsTest is Test {
    RollupHandler internal handler;
    uint256 internal constant CI_RUNS = 64; // foundry.toml [invariant] runs
    uint256 internal constant CI_DEPTH = 32; // foundry.toml [invariant] depth

    function setUp() public {
        uint256[] memory keys = new uint256[](16);
        for (uint256 i = 0; i < 16; i++) {
            keys[i] = 0xA11CE + i;
        }
        handler = new RollupHandler(keys);
        targetContract(address(handler));
        targetSelector(FuzzSelector(address(handler), _selectors()));
    }

    function _selectors() internal pure returns (bytes4[] memory s) {
        s = new bytes4[](12);
        s[0] = RollupHandler.deposit.selector;
        s[1] = RollupHandler.append.selector;
        s[2] = RollupHandler.append.selector; // appends twice as likely: longer chains
        s[3] = RollupHandler.warp.selector;
        s[4] = RollupHandler.finalize.selector;
        s[5] = RollupHandler.replay.selector;
        s[6] = RollupHandler.requestData.selector;
        s[7] = RollupHandler.provideData.selector;
        s[8] = RollupHandler.resolveTimeout.selector;
        s[9] = RollupHandler.cancelStale.selector;
        s[10] = RollupHandler.invalidate.selector;
        s[11] = RollupHandler.relock.selector;
    }

    /// @notice Each run prints its per-action success counts (`forge test -vv`).
    function afterInvariant() external view {
        handler.printCounts();
    }

    /// @notice At the CI settings (runs x depth), a campaign with the same action mix reaches
    ///         every state the invariants are about: paid withdrawals and refused replays,
    ///         withdrawals held by an open request, answered and timed-out requests, deposits
    ///         consumed by batches, invalidations, new sequencers after kicks.
    function test_ciCampaignReachesEveryState() public {
        bytes4[] memory sel = _selectors();
        uint256[14] memory total;
        uint256 longest;
        for (uint256 run = 0; run < CI_RUNS; run++) {
            uint256 snap = vm.snapshotState();
            for (uint256 step = 0; step < CI_DEPTH; step++) {
                uint256 r = uint256(keccak256(abi.encode("campaign", run, step)));
                bytes4 f = sel[r % sel.length];
                uint256 a = r >> 8;
                if (f == RollupHandler.deposit.selector) handler.deposit(a);
                else if (f == RollupHandler.append.selector) handler.append(a, a >> 64, (a >> 128) % 2 == 0);
                else if (f == RollupHandler.warp.selector) handler.warp(a);
                else if (f == RollupHandler.finalize.selector) handler.finalize(a, (a >> 64) % 4 == 0);
                else if (f == RollupHandler.replay.selector) handler.replay(a);
                else if (f == RollupHandler.requestData.selector) handler.requestData(a);
                else if (f == RollupHandler.provideData.selector) handler.provideData(a, (a >> 64) % 3 != 0);
                else if (f == RollupHandler.resolveTimeout.selector) handler.resolveTimeout(a);
                else if (f == RollupHandler.cancelStale.selector) handler.cancelStale(a);
                else if (f == RollupHandler.invalidate.selector) handler.invalidate(a);
                else handler.relock();
            }
            _checkAll();
            uint256[14] memory c = _counts();
            for (uint256 k = 0; k < 14; k++) {
                total[k] += c[k];
            }
            if (c[13] > longest) longest = c[13];
            vm.revertToState(snap);
        }
        string[14] memory names = [
            string("deposit"), "append", "appendConsumingDeposits", "finalizePaid", "replayRefused",
            "heldWhileInsecure", "requestData", "provideData", "resolveTimeout", "cancelStale",
            "invalidate", "relock", "maxActive (sum)", "maxBatches (sum)"
        ];
        for (uint256 k = 0; k < 14; k++) {
            console.log(names[k], total[k]);
            assertGe(total[k], 1, names[k]);
        }
        assertGe(total[3], CI_RUNS / 2, "paid withdrawals");
        assertGe(total[4], CI_RUNS / 2, "refused replays");
        assertGe(longest, 6, "a chain of six or more batches");
    }

    function _counts() internal view returns (uint256[14] memory c) {
        c = [
            handler.n_deposit(),
            handler.n_append(),
            handler.n_appendConsumingDeposits(),
            handler.n_finalizePaid(),
            handler.n_replayRefused(),
            handler.n_heldWhileInsecure(),
            handler.n_requestData(),
            handler.n_provideData(),
            handler.n_resolveTimeout(),
            handler.n_cancelStale(),
            handler.n_invalidate(),
            handler.n_relock(),
            handler.maxActive(),
            handler.maxBatches()
        ];
    }

    function _checkAll() internal view {
        invariant_cannotFinalizeTwice();
        invariant_cannotFinalizeEarlyOrInsecure();
        invariant_bridgeMatchesModel();
        invariant_batchIndicesOnlyMoveForward();
        invariant_statusOnlyMovesForward();
        invariant_slashMatchesModel();
    }

    /// forge-config: default.invariant.fail-on-revert = true
    /// @custom:invariant A withdrawal is paid at most once.
    function invariant_cannotFinalizeTwice() public view {
        assertEq(handler.ghost_doubleFinalize(), 0, "a withdrawal was paid twice");
    }

    /// forge-config: default.invariant.fail-on-revert = true
    /// @custom:invariant No withdrawal is paid before its batch's challenge window has passed,
    ///                   while a data request holds its batch (insecure state), nor from a
    ///                   batch that is not the live one at its index.
    function invariant_cannotFinalizeEarlyOrInsecure() public view {
        assertEq(handler.ghost_earlyFinalize(), 0, "a withdrawal was paid early");
        assertEq(handler.ghost_insecureFinalize(), 0, "a withdrawal was paid in the insecure state");
        assertEq(handler.ghost_invalidFinalize(), 0, "a withdrawal was paid from an invalid batch");
    }

    /// forge-config: default.invariant.fail-on-revert = true
    /// @custom:invariant The bridge holds exactly deposits minus the payouts the model expects,
    ///                   and pays every withdrawal the model says is payable.
    function invariant_bridgeMatchesModel() public view {
        uint256 expected = handler.ghost_deposited() - handler.ghost_modelPaid();
        assertEq(address(handler.bridge()).balance, expected, "bridge balance");
        assertEq(handler.bridge().locked(address(0)), expected, "locked ETH");
        assertEq(handler.ghost_refusedPayable(), 0, "a payable withdrawal was refused");
        assertEq(handler.ghost_wrongAmount(), 0, "a payout of the wrong amount");
    }

    /// forge-config: default.invariant.fail-on-revert = true
    /// @custom:invariant The chain is the model's chain (appends only at the next index,
    ///                   truncations only by invalidation) and never drops a final batch.
    function invariant_batchIndicesOnlyMoveForward() public view {
        assertEq(handler.ghost_outOfOrderAppend(), 0, "an out-of-order index was appended");
        assertEq(handler.sc().nextIndex(), handler.modelNext(), "nextIndex differs from the model");
        assertGe(handler.sc().nextIndex(), handler.ghost_finalizedUpTo(), "a finalized batch was invalidated");
    }

    /// forge-config: default.invariant.fail-on-revert = true
    /// @custom:invariant Each appended batch is Pending, then Finalized or Invalid, never back;
    ///                   no data request is accepted or answered where the model forbids it.
    function invariant_statusOnlyMovesForward() public view {
        assertEq(handler.ghost_statusRegressions(), 0, "a batch status moved backwards");
        assertEq(handler.ghost_requestViolations(), 0, "a data request accepted or answered against the model");
    }

    /// forge-config: default.invariant.fail-on-revert = true
    /// @custom:invariant Every sequencer's stake, the slash reward credited to the verifier and
    ///                   the queued burn are what the model computes from the failed requests;
    ///                   the verifier's bonds come back for each failed or stale request.
    function invariant_slashMatchesModel() public view {
        LockingPool pool = handler.pool();
        uint256 sum = 0;
        for (uint256 i = 0; i < handler.keyCount(); i++) {
            address s = handler.keyAt(i);
            assertEq(pool.sequencer(s).amount, handler.modelStake(s), "stake");
            assertTrue(pool.isActive(s) == handler.modelActive(s), "active status");
            sum += handler.modelStake(s);
        }
        assertEq(pool.totalLocked(), sum, "total locked");
        assertEq(pool.totalSlashPaid(), handler.ghost_modelSlashPaid(), "slash paid");
        assertEq(pool.totalSlashBurned(), handler.ghost_modelSlashBurned(), "slash burned");
        assertEq(pool.claimableReward(address(handler)), handler.ghost_modelSlashPaid(), "claimable reward");
        assertEq(handler.da().claimable(address(handler)), handler.ghost_modelBondsToVerifier(), "bonds");
    }
}
