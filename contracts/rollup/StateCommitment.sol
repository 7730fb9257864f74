// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ISequencerSet} from "../staking/ISequencerSet.sol";
import {IDepositQueue} from "../bridge/IDepositQueue.sol";
import {BatchHeader, BatchStatus, DataMode} from "./BatchHeader.sol";
import {IStateCommitment} from "./IStateCommitment.sol";

/// @title StateCommitment
/// @notice The chain of rollup batches on L1 (docs/spec.md, "Rollup batches"): appended in strict
///         sequence by the current sequencer with the set's FROST signature (>2/3 of stake), final after
///         the challenge window unless a data-availability request is open on it or an earlier
///         batch, and invalidated (with every later batch) by the challenge contracts.
/// @dev    Gas (appendBatch is paid once per batch): one new storage slot per batch holding the
///         first 208 bits of keccak256(abi.encode(header)) and the 48-bit time at which it
///         finalizes (append time + the challenge window in force at append: a later change of the
///         window never moves a pending batch's finality); the header itself is only emitted. A 208-bit prefix keeps second-preimage and collision
///         resistance far beyond reach (2^208 / 2^104 work). The sequencer of each batch is kept
///         as *runs* (first index, sequencer), written only when the appending sequencer changes;
///         `nextIndex`, the run count and the last sequencer share one slot.
///         Invalidation truncates the chain: `nextIndex` drops to the invalid batch; records at
///         or above `nextIndex` read as Invalid until a resubmission overwrites them.
///         Open data requests form a list sorted by batch index (at most one per batch), so
///         "is a request open on this batch or an earlier one" is one read of the list head:
///         finality and withdrawal checks are O(1) whatever the number of open requests. Opening
///         walks from the tail to its place (paid by the requester; requests are normally on the
///         newest batches); closing is O(1); invalidation closes at most {MAX_CLOSE_ON_INVALIDATE}
///         requests on the dropped batches and leaves the rest to the permissionless
///         `DataAvailabilityChallenge.cancelStaleRequest` (O(1) each).
contract StateCommitment is IStateCommitment, Ownable {
    /// @notice Chain head (one slot): next index, number of sequencer runs, last run's sequencer.
    struct Head {
        uint48 nextIndex;
        uint48 runCount;
        address lastSequencer;
    }

    /// @notice A run of consecutive batches appended by one sequencer, from `firstIndex` on.
    struct Run {
        uint64 firstIndex;
        address sequencer;
    }

    /// @notice Liveness of the chain (one slot): when a batch was last appended, the queue position
    ///         the last appended batch had consumed, when the rollup froze (0 = not frozen), and
    ///         whether an invalidation truncated the chain since (then `consumed` may be too high).
    struct Progress {
        uint64 lastAppendAt;
        uint64 consumed;
        uint64 frozenAt;
        bool truncated;
    }

    /// @notice The sequencer set (signature checks, heartbeats, punishment).
    ISequencerSet public immutable sequencerSet;
    /// @inheritdoc IStateCommitment
    bytes32 public immutable genesisStateRoot;
    /// @notice The bridge whose deposit queue batches consume (set once, after the bridge deploys).
    IDepositQueue public bridge;
    /// @notice Seconds after appending before a batch is final.
    uint256 public challengeWindow;
    /// @notice Contracts allowed to invalidate batches and open data requests.
    mapping(address => bool) public isChallenger;
    /// @notice Where new batches publish their data (owner-set; Storage until changed).
    DataMode public dataMode;
    /// @notice Seconds without a batch, while queue items wait, after which anyone may {freeze}.
    uint256 public immutable freezeAfter;

    Progress private _progress;

    /// @notice A censorship report pending on the current sequencer (see {reportCensorship}).
    struct Strike {
        address sequencer;
        uint64 since;
    }

    Strike private _strike;

    Head private _head;
    /// @dev Batch index => bytes26(headerHash) ‖ uint48(timestamp).
    mapping(uint256 => bytes32) private _batches;
    /// @dev Run number => run (runs 0 .. _head.runCount-1 cover batches 0 .. nextIndex-1).
    mapping(uint256 => Run) private _runs;

    /// @dev High 208 bits of a slot: the header-hash prefix; low 48 bits: the finality time.
    bytes32 private constant HASH_MASK = ~bytes32(uint256(type(uint48).max));

    /// @notice Requests on dropped batches that {invalidateFrom} closes itself (bounded gas).
    uint256 public constant MAX_CLOSE_ON_INVALIDATE = 16;

    /// @notice Longest challenge window: with the 24 h forced-inclusion window a user's full
    ///         withdrawal path stays under the Timelock's 30-day exit window (docs/spec.md).
    uint256 public constant MAX_CHALLENGE_WINDOW = 21 days;

    /// @notice The sorted list of open data requests (positions stored as batch index + 1; 0 = none).
    struct OpenList {
        uint48 head; // lowest open index + 1
        uint48 tail; // highest open index + 1
        uint48 count; // number of open requests
    }

    /// @notice One open request's neighbours in the sorted list (index + 1; 0 = none).
    struct OpenNode {
        uint48 prev;
        uint48 next;
        bool open;
    }

    OpenList private _openList;
    mapping(uint256 index => OpenNode) private _openNodes;

    /// @notice A batch was appended. `header` is the whole header (stored only as its hash).
    event BatchAppended(uint256 indexed index, bytes32 indexed headerHash, address indexed sequencer, BatchHeader header);
    /// @notice Batches `fromIndex` .. `toIndex` (inclusive) were marked invalid.
    event BatchesInvalidated(uint256 indexed fromIndex, uint256 toIndex, address indexed by);
    /// @notice A data-availability request on `index` was opened (`open`) or closed.
    event DataRequestStateChanged(uint256 indexed index, bool open);
    /// @notice The challenge window changed.
    event ChallengeWindowChanged(uint256 oldSeconds, uint256 newSeconds);
    /// @notice A challenge contract was authorised or deauthorised.
    event ChallengerChanged(address indexed challenger, bool allowed);
    /// @notice The bridge address was set.
    event BridgeSet(address indexed bridge);
    /// @notice Batches appended from now on publish their data in `mode`.
    event DataModeChanged(DataMode oldMode, DataMode mode);
    /// @notice The rollup froze at `frozenAt` (no batch since `lastAppendAt`, `waiting` queue items
    ///         unconsumed); batches not final by then never finalize; the escape hatch opens.
    event RollupFrozen(uint256 frozenAt, uint256 lastAppendAt, uint256 nextIndex, uint256 waiting);
    /// @notice The current sequencer `sequencer` was reported for leaving forced item `queueId`
    ///         (deadline `deadline`) unconsumed; after {censorGrace} a second report rotates it out.
    event CensorshipReported(address indexed sequencer, uint256 indexed queueId, uint256 deadline, bool rotated);

    /// @notice `sender` is not the current sequencer `current`.
    error StateCommitmentNotCurrentSequencer(address sender, address current);
    /// @notice The header's index is not the next one.
    error StateCommitmentWrongIndex(uint256 index, uint256 expected);
    /// @notice The header's deposit hash is not the bridge's rolling hash at its position.
    error StateCommitmentBadDepositHash(uint256 depositCount, bytes32 given, bytes32 expected);
    /// @notice A batch must hold at least one transaction.
    error StateCommitmentEmptyBatch(uint256 index);
    /// @notice No valid batch is stored at `index`.
    error StateCommitmentUnknownBatch(uint256 index);
    /// @notice The header passed is not the one stored for its index.
    error StateCommitmentHeaderMismatch(uint256 index, bytes32 given, bytes32 stored);
    /// @notice The batch is already final and can no longer be invalidated.
    error StateCommitmentBatchFinalized(uint256 index);
    /// @notice `caller` is not an authorised challenge contract.
    error StateCommitmentNotChallenger(address caller);
    /// @notice The bridge is not set yet, or is being set twice.
    error StateCommitmentBridge(address current);
    /// @notice A data request on `index` is already open.
    error StateCommitmentDataRequestState(uint256 index, bool open);
    /// @notice The window must be positive.
    error StateCommitmentBadWindow(uint256 seconds_);
    /// @notice `seconds_` is longer than the longest challenge window `max`.
    error StateCommitmentWindowTooLong(uint256 seconds_, uint256 max);
    /// @notice In Blobs mode the appendBatch transaction must carry the batch's blobs.
    error StateCommitmentMissingBlobs(uint256 index);
    /// @notice The carried blobs (`blobsHash` = keccak256 of their versioned hashes) or frame
    ///         (keccak256 of it) are not the header's `dataHash`.
    error StateCommitmentDataMismatch(uint256 index, bytes32 dataHash, bytes32 carried);
    /// @notice This entry point does not publish data the way the current mode requires.
    error StateCommitmentWrongDataMode(uint256 index, DataMode mode);
    /// @notice The batch leaves forced item `queueId` (deadline `deadline`, already passed)
    ///         unconsumed: its deposit position `depositCount` must be past it.
    error StateCommitmentForcedTxNotIncluded(uint256 queueId, uint256 deadline, uint256 depositCount);
    /// @notice The rollup froze at `frozenAt`: no batch is appended any more.
    error StateCommitmentFrozen(uint256 frozenAt);
    /// @notice {freeze} needs `freezeAfter` seconds without a batch (until `freezableAt`) ...
    error StateCommitmentNotStalled(uint256 freezableAt, uint256 nowTime);
    /// @notice ... while queue items wait: the chain consumed `consumed` of `queued`.
    error StateCommitmentNothingWaiting(uint256 consumed, uint256 queued);
    /// @notice No forced item is past its deadline and unconsumed (or the grace is not over: until `until`).
    error StateCommitmentNoCensorship(uint256 until);

    /// @param owner_           owner (governance timelock in production).
    /// @param sequencerSet_    the sequencer set.
    /// @param genesisStateRoot_ L2 state root before batch 0.
    /// @param challengeWindow_ seconds before a batch finalizes (7 days in production).
    /// @param freezeAfter_     seconds without a batch before {freeze} (7 days in production).
    constructor(
        address owner_,
        ISequencerSet sequencerSet_,
        bytes32 genesisStateRoot_,
        uint256 challengeWindow_,
        uint256 freezeAfter_
    ) Ownable(owner_) {
        if (challengeWindow_ == 0) revert StateCommitmentBadWindow(challengeWindow_);
        if (challengeWindow_ > MAX_CHALLENGE_WINDOW) {
            revert StateCommitmentWindowTooLong(challengeWindow_, MAX_CHALLENGE_WINDOW);
        }
        if (freezeAfter_ == 0) revert StateCommitmentBadWindow(freezeAfter_);
        sequencerSet = sequencerSet_;
        genesisStateRoot = genesisStateRoot_;
        challengeWindow = challengeWindow_;
        freezeAfter = freezeAfter_;
        _progress.lastAppendAt = uint64(block.timestamp);
    }

    // ------------------------------------------------------------------ owner

    /// @notice Sets the bridge, once (it is deployed after this contract).
    function setBridge(IDepositQueue bridge_) external onlyOwner {
        if (address(bridge) != address(0) || address(bridge_) == address(0)) {
            revert StateCommitmentBridge(address(bridge));
        }
        bridge = bridge_;
        emit BridgeSet(address(bridge_));
    }

    /// @notice Changes the challenge window for batches appended from now on (a pending batch keeps
    ///         the window it was appended with: users who planned an exit on it are not surprised).
    ///         At most {MAX_CHALLENGE_WINDOW}, so a user's withdrawal path (forced inclusion, then
    ///         this window) stays shorter than governance's 30-day exit window.
    function setChallengeWindow(uint256 seconds_) external onlyOwner {
        if (seconds_ == 0) revert StateCommitmentBadWindow(seconds_);
        if (seconds_ > MAX_CHALLENGE_WINDOW) revert StateCommitmentWindowTooLong(seconds_, MAX_CHALLENGE_WINDOW);
        emit ChallengeWindowChanged(challengeWindow, seconds_);
        challengeWindow = seconds_;
    }

    /// @notice Authorises (or not) a challenge contract to invalidate batches and open data requests.
    function setChallenger(address challenger, bool allowed) external onlyOwner {
        isChallenger[challenger] = allowed;
        emit ChallengerChanged(challenger, allowed);
    }

    /// @notice Sets where batches appended from now on publish their data.
    function setDataMode(DataMode mode) external onlyOwner {
        emit DataModeChanged(dataMode, mode);
        dataMode = mode;
    }

    // -------------------------------------------------------------- sequencer

    /// @notice EIP-191-free digest the active sequencers sign for `header` when every member
    ///         took part in co-signing it (absence bitmap 0).
    /// @dev    keccak256(abi.encode(chainid, this, index, keccak256(abi.encode(header)))).
    function batchDigest(BatchHeader calldata header) public view returns (bytes32) {
        return _digest(uint256(header.index), keccak256(abi.encode(header)), 0);
    }

    /// @notice The digest the set signs for `header` with absence bitmap `absent` (bit i: member
    ///         i of `activeSigners()` took no part): {batchDigest} when `absent` is 0, else
    ///         keccak256(abi.encode(chainid, this, index, keccak256(abi.encode(header)), absent)).
    function batchDigestAbsent(BatchHeader calldata header, uint256 absent) public view returns (bytes32) {
        return _digest(uint256(header.index), keccak256(abi.encode(header)), absent);
    }

    function _digest(uint256 index, bytes32 headerHash, uint256 absent) private view returns (bytes32) {
        if (absent == 0) return keccak256(abi.encode(block.chainid, address(this), index, headerHash));
        return keccak256(abi.encode(block.chainid, address(this), index, headerHash, absent));
    }

    /// @notice Appends the next batch (Storage and Blobs modes).
    /// @dev    Blobs mode: the transaction must carry the batch's blobs (type 3) and
    ///         keccak256(abi.encodePacked(blobhash(0), ..., blobhash(k-1))) must be
    ///         `header.dataHash`, so the signed header binds the exact blobs.
    /// @param header     the batch header; `header.index` must equal {nextIndex}.
    /// @param signatures the set's one FROST signature over {batchDigest} (ISequencerSet.verifyBatchSignatures).
    function appendBatch(BatchHeader calldata header, bytes[] calldata signatures) external {
        _appendWithBlobs(header, 0, signatures);
    }

    /// @notice {appendBatch} for a batch some members did not co-sign: `absent` (bit i: member i
    ///         of `activeSigners()` took no part) is signed with it ({batchDigestAbsent}); each
    ///         member it names has one more consecutive missed round, and one that reaches the
    ///         set's `missLimit` is kicked without a slash.
    /// @param header     as for {appendBatch}
    /// @param absent     the absence bitmap
    /// @param signatures the set's one FROST signature over {batchDigestAbsent}
    function appendBatchAbsent(BatchHeader calldata header, uint256 absent, bytes[] calldata signatures) external {
        _appendWithBlobs(header, absent, signatures);
    }

    function _appendWithBlobs(BatchHeader calldata header, uint256 absent, bytes[] calldata signatures) private {
        DataMode mode = dataMode;
        if (mode == DataMode.Calldata) revert StateCommitmentWrongDataMode(header.index, mode);
        if (mode == DataMode.Blobs) {
            if (blobhash(0) == bytes32(0)) revert StateCommitmentMissingBlobs(header.index);
            bytes32 carried = blobsHash();
            if (carried != header.dataHash) revert StateCommitmentDataMismatch(header.index, header.dataHash, carried);
        }
        _append(header, absent, signatures);
    }

    /// @notice Appends the next batch with its frame in calldata (Calldata mode).
    /// @param header     the batch header; `header.dataHash` must be keccak256(`frame`).
    /// @param signatures as for {appendBatch}.
    /// @param frame      the compressed batch data (docs/spec.md, "Compact batch data").
    function appendBatchWithData(BatchHeader calldata header, bytes[] calldata signatures, bytes calldata frame)
        external
    {
        _appendWithFrame(header, 0, signatures, frame);
    }

    /// @notice {appendBatchWithData} with an absence bitmap (see {appendBatchAbsent}).
    function appendBatchWithDataAbsent(
        BatchHeader calldata header,
        uint256 absent,
        bytes[] calldata signatures,
        bytes calldata frame
    ) external {
        _appendWithFrame(header, absent, signatures, frame);
    }

    function _appendWithFrame(
        BatchHeader calldata header,
        uint256 absent,
        bytes[] calldata signatures,
        bytes calldata frame
    ) private {
        DataMode mode = dataMode;
        if (mode != DataMode.Calldata) revert StateCommitmentWrongDataMode(header.index, mode);
        bytes32 carried = keccak256(frame);
        if (carried != header.dataHash) revert StateCommitmentDataMismatch(header.index, header.dataHash, carried);
        _append(header, absent, signatures);
    }

    /// @notice keccak256 of the versioned hashes of the blobs this transaction carries
    ///         (`blobhash(i)` until the first zero), concatenated; keccak256("") without blobs.
    function blobsHash() public view returns (bytes32) {
        // Collect blobhash(0..k-1); a transaction carries at most a handful of blobs.
        uint256 k = 0;
        while (blobhash(k) != bytes32(0)) {
            k++;
        }
        bytes32[] memory hashes = new bytes32[](k);
        for (uint256 i = 0; i < k; i++) {
            hashes[i] = blobhash(i);
        }
        return keccak256(abi.encodePacked(hashes));
    }

    function _append(BatchHeader calldata header, uint256 absent, bytes[] calldata signatures) private {
        address current = sequencerSet.currentSequencer();
        if (msg.sender != current) revert StateCommitmentNotCurrentSequencer(msg.sender, current);
        Head memory head = _head;
        uint256 index = header.index;
        if (index != head.nextIndex) revert StateCommitmentWrongIndex(index, head.nextIndex);
        if (header.txCount == 0) revert StateCommitmentEmptyBatch(index);
        Progress memory prog = _progress;
        if (prog.frozenAt != 0) revert StateCommitmentFrozen(prog.frozenAt);
        _checkDeposits(header);
        bytes32 headerHash = keccak256(abi.encode(header));
        sequencerSet.verifyBatchSignatures(_digest(index, headerHash, absent), signatures);
        _batches[index] = (headerHash & HASH_MASK) | bytes32(block.timestamp + challengeWindow);
        // A new run only when the appending sequencer changes (once per rotation).
        if (head.runCount == 0 || head.lastSequencer != msg.sender) {
            _runs[head.runCount] = Run(uint64(index), msg.sender);
            head.runCount += 1;
            head.lastSequencer = msg.sender;
        }
        head.nextIndex = uint48(index + 1);
        _head = head;
        prog.lastAppendAt = uint64(block.timestamp);
        prog.consumed = header.depositCount;
        prog.truncated = false;
        _progress = prog;
        sequencerSet.recordBatch(msg.sender, header.l2Blocks, absent);
        emit BatchAppended(index, headerHash, msg.sender, header);
    }

    /// @dev The deposit position is the bridge's (which reverts past its queue) and its hash
    ///      matches. (That it never moves backwards is provable: FraudProver.proveBadSummary.)
    ///      Forced inclusion: the first forced item at or after the batch's position must not be
    ///      past its deadline (deadlines ascend with the queue, so none after it is either).
    function _checkDeposits(BatchHeader calldata header) private view {
        uint256 count = header.depositCount;
        IDepositQueue b = bridge;
        if (count == 0) {
            if (header.depositHash != bytes32(0)) revert StateCommitmentBadDepositHash(0, header.depositHash, 0);
        } else {
            if (address(b) == address(0)) revert StateCommitmentBridge(address(0));
            bytes32 expected = b.depositHashAt(count);
            if (header.depositHash != expected) {
                revert StateCommitmentBadDepositHash(count, header.depositHash, expected);
            }
        }
        if (address(b) == address(0)) return;
        (uint256 queueId, uint256 deadline) = b.firstForcedFrom(count);
        if (deadline != 0 && deadline <= block.timestamp) {
            revert StateCommitmentForcedTxNotIncluded(queueId, deadline, count);
        }
    }

    // ----------------------------------------------------------- escape hatch

    /// @notice Freezes the rollup: anyone may call it once no batch has been appended for
    ///         {freezeAfter} seconds while items wait in the bridge's queue (deposits or forced
    ///         transactions the chain has not consumed). Afterwards no batch is appended, a batch
    ///         not final at the freeze never finalizes, and L1Bridge pays every balance of the last
    ///         final state root ({L1Bridge-escape}) and refunds the deposits it had not consumed.
    function freeze() external {
        Progress memory p = _progress;
        if (p.frozenAt != 0) revert StateCommitmentFrozen(p.frozenAt);
        uint256 freezableAt = uint256(p.lastAppendAt) + freezeAfter;
        if (block.timestamp < freezableAt) revert StateCommitmentNotStalled(freezableAt, block.timestamp);
        IDepositQueue b = bridge;
        uint256 queued = address(b) == address(0) ? 0 : b.depositCount();
        uint256 consumed = p.truncated ? 0 : p.consumed;
        if (queued <= consumed) revert StateCommitmentNothingWaiting(consumed, queued);
        p.frozenAt = uint64(block.timestamp);
        _progress = p;
        emit RollupFrozen(block.timestamp, p.lastAppendAt, _head.nextIndex, queued - consumed);
    }

    /// @notice Liveness by progress for forced inclusion: while a forced item is past its deadline
    ///         and unconsumed, anyone may report the current sequencer; a second report at least
    ///         the bridge's `forceInclusionWindow` later (the same sequencer still current, the
    ///         item still waiting) rotates it out of the slot (reason HeartbeatMissed), however
    ///         often it pings its heartbeat. A censor's own batches are refused meanwhile
    ///         ({StateCommitmentForcedTxNotIncluded}).
    function reportCensorship() external {
        IDepositQueue b = bridge;
        if (address(b) == address(0)) revert StateCommitmentBridge(address(0));
        (uint256 queueId, uint256 deadline) = b.firstForcedFrom(_progress.consumed);
        if (deadline == 0 || deadline > block.timestamp) revert StateCommitmentNoCensorship(deadline);
        address current = sequencerSet.currentSequencer();
        Strike memory st = _strike;
        if (st.sequencer != current) {
            _strike = Strike(current, uint64(block.timestamp));
            emit CensorshipReported(current, queueId, deadline, false);
            return;
        }
        uint256 until = uint256(st.since) + b.forceInclusionWindow();
        if (block.timestamp < until) revert StateCommitmentNoCensorship(until);
        delete _strike;
        emit CensorshipReported(current, queueId, deadline, true);
        sequencerSet.rotateOut(current);
    }

    /// @notice When the rollup froze (0: not frozen).
    function frozenAt() external view returns (uint256) {
        return _progress.frozenAt;
    }

    /// @notice When the last batch was appended (deployment time before the first) and the
    ///         queue position that batch had consumed (kept across an invalidation).
    function progress() external view returns (uint256 lastAppendAt, uint256 consumed) {
        Progress memory p = _progress;
        return (p.lastAppendAt, p.consumed);
    }

    // ----------------------------------------------------------- challengers

    /// @inheritdoc IStateCommitment
    function invalidateFrom(uint256 index) external {
        if (!isChallenger[msg.sender]) revert StateCommitmentNotChallenger(msg.sender);
        Head memory head = _head;
        uint256 last = head.nextIndex;
        if (index >= last) revert StateCommitmentUnknownBatch(index);
        if (isFinalized(index)) revert StateCommitmentBatchFinalized(index);
        // Truncate: batches index.. read as Invalid (index >= nextIndex); drop their runs.
        uint256 runs = head.runCount;
        while (runs > 0 && _runs[runs - 1].firstIndex >= index) {
            runs -= 1;
        }
        head.runCount = uint48(runs);
        head.lastSequencer = runs == 0 ? address(0) : _runs[runs - 1].sequencer;
        head.nextIndex = uint48(index);
        _head = head;
        // The truncated chain's queue position is not stored: until the next append, freeze()
        // counts every queue item as waiting (censorship reports keep the last position: the
        // next batch must consume every expired forced item anyway).
        _progress.truncated = true;
        // Data requests on invalidated batches no longer hold anything (§11.16): close those at
        // the tail of the sorted list (the dropped batches), at most MAX_CLOSE_ON_INVALIDATE so a
        // flood of requests cannot price a fraud proof out; the rest are closed one by one with
        // DataAvailabilityChallenge.cancelStaleRequest.
        OpenList memory l = _openList;
        for (uint256 n = 0; n < MAX_CLOSE_ON_INVALIDATE && l.tail != 0 && l.tail - 1 >= index; n++) {
            _unlink(l, l.tail - 1);
        }
        _openList = l;
        emit BatchesInvalidated(index, last - 1, msg.sender);
    }

    /// @inheritdoc IStateCommitment
    function setDataRequest(uint256 index, bool open) external {
        if (!isChallenger[msg.sender]) revert StateCommitmentNotChallenger(msg.sender);
        bool isOpen = _openNodes[index].open;
        if (open && isOpen) revert StateCommitmentDataRequestState(index, open);
        if (!open && !isOpen) return; // already closed (its batch was invalidated)
        OpenList memory l = _openList;
        if (open) {
            _insert(l, index);
            emit DataRequestStateChanged(index, true);
        } else {
            _unlink(l, index);
        }
        _openList = l;
    }

    /// @dev Insert `index` in the sorted list: walk back from the tail to the last open index
    ///      below it (requests are normally on the newest batches, so the walk is short; the
    ///      requester pays it).
    function _insert(OpenList memory l, uint256 index) private {
        uint48 pos = uint48(index + 1);
        uint48 prev = l.tail;
        while (prev != 0 && prev > pos) {
            prev = _openNodes[prev - 1].prev;
        }
        uint48 next = prev == 0 ? l.head : _openNodes[prev - 1].next;
        _openNodes[index] = OpenNode(prev, next, true);
        if (prev == 0) l.head = pos;
        else _openNodes[prev - 1].next = pos;
        if (next == 0) l.tail = pos;
        else _openNodes[next - 1].prev = pos;
        l.count += 1;
    }

    /// @dev Remove the open `index` from the list (O(1)) and report it closed.
    function _unlink(OpenList memory l, uint256 index) private {
        OpenNode memory node = _openNodes[index];
        if (node.prev == 0) l.head = node.next;
        else _openNodes[node.prev - 1].next = node.next;
        if (node.next == 0) l.tail = node.prev;
        else _openNodes[node.next - 1].prev = node.prev;
        delete _openNodes[index];
        l.count -= 1;
        emit DataRequestStateChanged(index, false);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IStateCommitment
    function nextIndex() public view returns (uint256) {
        return _head.nextIndex;
    }

    /// @inheritdoc IStateCommitment
    function checkHeader(BatchHeader calldata header) public view returns (bytes32 headerHash) {
        uint256 index = header.index;
        if (index >= _head.nextIndex) revert StateCommitmentUnknownBatch(index);
        headerHash = keccak256(abi.encode(header));
        bytes32 stored = _batches[index] & HASH_MASK;
        if (headerHash & HASH_MASK != stored) revert StateCommitmentHeaderMismatch(index, headerHash, stored);
    }

    /// @inheritdoc IStateCommitment
    function matchesHeader(uint256 index, bytes32 headerHash) public view returns (bool) {
        return index < _head.nextIndex && _batches[index] & HASH_MASK == headerHash & HASH_MASK;
    }

    /// @inheritdoc IStateCommitment
    function batchStatus(uint256 index) public view returns (BatchStatus) {
        uint256 ts = _timestamp(index);
        if (ts == 0) return BatchStatus.None;
        if (index >= _head.nextIndex) return BatchStatus.Invalid;
        if (block.timestamp < ts || insecureAt(index)) return BatchStatus.Pending;
        // After the freeze, only batches final at the freeze stay final.
        uint256 frozen = _progress.frozenAt;
        if (frozen != 0 && ts > frozen) return BatchStatus.Pending;
        return BatchStatus.Finalized;
    }

    /// @inheritdoc IStateCommitment
    function isFinalized(uint256 index) public view returns (bool) {
        return batchStatus(index) == BatchStatus.Finalized;
    }

    /// @notice True while a data-availability request is open on `index` or an earlier batch
    ///         (the seed's "insecure state": withdrawals from these batches are held). O(1): the
    ///         lowest open index is the head of the sorted list.
    function insecureAt(uint256 index) public view returns (bool) {
        uint256 head = _openList.head;
        return head != 0 && head - 1 <= index;
    }

    /// @inheritdoc IStateCommitment
    /// @dev Ascending; walks the list (for off-chain readers and governance, not for finality).
    function openDataRequests() external view returns (uint256[] memory out) {
        OpenList memory l = _openList;
        out = new uint256[](l.count);
        uint48 pos = l.head;
        for (uint256 i = 0; i < out.length; i++) {
            out[i] = pos - 1;
            pos = _openNodes[pos - 1].next;
        }
    }

    /// @notice True while a data request is open on batch `index` itself.
    function dataRequestOpen(uint256 index) external view returns (bool) {
        return _openNodes[index].open;
    }

    /// @inheritdoc IStateCommitment
    /// @dev Binary search over the runs; address(0) for an index that is not in the valid chain.
    function batchSequencer(uint256 index) external view returns (address) {
        Head memory head = _head;
        if (index >= head.nextIndex) return address(0);
        // Find the last run whose firstIndex <= index (run 0 starts at batch 0).
        uint256 lo = 0;
        uint256 hi = head.runCount - 1;
        while (lo < hi) {
            uint256 mid = (lo + hi + 1) / 2;
            if (_runs[mid].firstIndex <= index) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return _runs[lo].sequencer;
    }

    /// @notice The stored header-hash prefix (high 208 bits; low 48 bits zero) of `index`.
    function storedHeaderPrefix(uint256 index) external view returns (bytes32) {
        return _batches[index] & HASH_MASK;
    }

    /// @inheritdoc IStateCommitment
    /// @dev Fixed at append: append time + the challenge window in force then.
    function finalizesAt(uint256 index) external view returns (uint256) {
        return _timestamp(index);
    }

    /// @dev The finality time stored with batch `index` (0 if never appended).
    function _timestamp(uint256 index) private view returns (uint256) {
        return uint256(_batches[index]) & type(uint48).max;
    }
}
