// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ISequencerSet} from "../staking/ISequencerSet.sol";
import {IDepositQueue} from "../bridge/IDepositQueue.sol";
import {BatchHeader, BatchStatus} from "./BatchHeader.sol";
import {IStateCommitment} from "./IStateCommitment.sol";

/// @title StateCommitment
/// @notice The chain of rollup batches on L1 (docs/spec.md, "Rollup batches"): appended in strict
///         sequence by the current sequencer with more than 2/3 of the set's signatures, final after
///         the challenge window unless a data-availability request is open on it or an earlier
///         batch, and invalidated (with every later batch) by the challenge contracts.
/// @dev    Gas: per batch only keccak256(abi.encode(header)) and one packed slot
///         (sequencer, timestamp, status, depositCount) are stored; the header is emitted.
///         Invalidation truncates the chain: `nextIndex` drops to the invalid batch, whose slot is
///         marked Invalid; records above `nextIndex` read as Invalid until overwritten by a
///         resubmission.
contract StateCommitment is IStateCommitment, Ownable {
    /// @notice Per-batch record (two slots).
    struct Record {
        bytes32 headerHash;
        address sequencer;
        uint48 timestamp;
        BatchStatus status;
        uint40 depositCount;
    }

    /// @notice The sequencer set (signature checks, heartbeats, punishment).
    ISequencerSet public immutable sequencerSet;
    /// @inheritdoc IStateCommitment
    bytes32 public immutable genesisStateRoot;
    /// @notice The bridge whose deposit queue batches consume (set once, after the bridge deploys).
    IDepositQueue public bridge;
    /// @notice Seconds after appending before a batch is final.
    uint256 public challengeWindow;
    /// @inheritdoc IStateCommitment
    uint256 public nextIndex;
    /// @notice Contracts allowed to invalidate batches and open data requests.
    mapping(address => bool) public isChallenger;

    mapping(uint256 => Record) private _records;
    /// @dev Indices with an open data-availability request (few at a time: each costs a bond).
    uint256[] private _openRequests;

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

    /// @notice `sender` is not the current sequencer `current`.
    error StateCommitmentNotCurrentSequencer(address sender, address current);
    /// @notice The header's index is not the next one.
    error StateCommitmentWrongIndex(uint256 index, uint256 expected);
    /// @notice The header claims more deposits than the bridge queued, or fewer than the last batch.
    error StateCommitmentBadDepositCount(uint256 depositCount, uint256 min, uint256 max);
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
    /// @notice The data request state of `index` is already `open`.
    error StateCommitmentDataRequestState(uint256 index, bool open);
    /// @notice The window must be positive.
    error StateCommitmentBadWindow(uint256 seconds_);

    /// @param owner_           owner (governance timelock in production).
    /// @param sequencerSet_    the sequencer set.
    /// @param genesisStateRoot_ L2 state root before batch 0.
    /// @param challengeWindow_ seconds before a batch finalizes (7 days in production).
    constructor(address owner_, ISequencerSet sequencerSet_, bytes32 genesisStateRoot_, uint256 challengeWindow_)
        Ownable(owner_)
    {
        if (challengeWindow_ == 0) revert StateCommitmentBadWindow(challengeWindow_);
        sequencerSet = sequencerSet_;
        genesisStateRoot = genesisStateRoot_;
        challengeWindow = challengeWindow_;
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

    /// @notice Changes the challenge window (applies to every batch not yet final).
    function setChallengeWindow(uint256 seconds_) external onlyOwner {
        if (seconds_ == 0) revert StateCommitmentBadWindow(seconds_);
        emit ChallengeWindowChanged(challengeWindow, seconds_);
        challengeWindow = seconds_;
    }

    /// @notice Authorises (or not) a challenge contract to invalidate batches and open data requests.
    function setChallenger(address challenger, bool allowed) external onlyOwner {
        isChallenger[challenger] = allowed;
        emit ChallengerChanged(challenger, allowed);
    }

    // -------------------------------------------------------------- sequencer

    /// @notice EIP-191-free digest the active sequencers sign for `header`.
    /// @dev    keccak256(abi.encode(chainid, this, index, keccak256(abi.encode(header)))).
    function batchDigest(BatchHeader calldata header) public view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), uint256(header.index), keccak256(abi.encode(header))));
    }

    /// @notice Appends the next batch.
    /// @param header     the batch header; `header.index` must equal {nextIndex}.
    /// @param signatures more than 2/3 of the active set over {batchDigest}, ascending signer order.
    function appendBatch(BatchHeader calldata header, bytes[] calldata signatures) external {
        address current = sequencerSet.currentSequencer();
        if (msg.sender != current) revert StateCommitmentNotCurrentSequencer(msg.sender, current);
        uint256 index = header.index;
        if (index != nextIndex) revert StateCommitmentWrongIndex(index, nextIndex);
        if (header.txCount == 0) revert StateCommitmentEmptyBatch(index);
        _checkDeposits(header);
        bytes32 headerHash = keccak256(abi.encode(header));
        sequencerSet.verifyBatchSignatures(
            keccak256(abi.encode(block.chainid, address(this), index, headerHash)), signatures
        );
        _records[index] = Record({
            headerHash: headerHash,
            sequencer: msg.sender,
            timestamp: uint48(block.timestamp),
            status: BatchStatus.Pending,
            depositCount: uint40(header.depositCount)
        });
        nextIndex = index + 1;
        sequencerSet.recordBatch(msg.sender, header.l2Blocks);
        emit BatchAppended(index, headerHash, msg.sender, header);
    }

    /// @dev Deposit position only moves forward, never past the bridge's queue, and its hash matches.
    function _checkDeposits(BatchHeader calldata header) private view {
        uint256 count = header.depositCount;
        uint256 min = header.index == 0 ? 0 : _records[header.index - 1].depositCount;
        if (count == min && count == 0) {
            if (header.depositHash != bytes32(0)) revert StateCommitmentBadDepositHash(0, header.depositHash, 0);
            return;
        }
        IDepositQueue b = bridge;
        if (address(b) == address(0)) revert StateCommitmentBridge(address(0));
        uint256 max = b.depositCount();
        if (count < min || count > max) revert StateCommitmentBadDepositCount(count, min, max);
        bytes32 expected = b.depositHashAt(count);
        if (header.depositHash != expected) revert StateCommitmentBadDepositHash(count, header.depositHash, expected);
    }

    // ----------------------------------------------------------- challengers

    /// @inheritdoc IStateCommitment
    function invalidateFrom(uint256 index) external {
        if (!isChallenger[msg.sender]) revert StateCommitmentNotChallenger(msg.sender);
        uint256 last = nextIndex;
        if (index >= last) revert StateCommitmentUnknownBatch(index);
        if (isFinalized(index)) revert StateCommitmentBatchFinalized(index);
        // Truncate: the batch is marked Invalid, later records read as Invalid (index >= nextIndex).
        _records[index].status = BatchStatus.Invalid;
        nextIndex = index;
        emit BatchesInvalidated(index, last - 1, msg.sender);
    }

    /// @inheritdoc IStateCommitment
    function setDataRequest(uint256 index, bool open) external {
        if (!isChallenger[msg.sender]) revert StateCommitmentNotChallenger(msg.sender);
        uint256 n = _openRequests.length;
        // Find `index` in the (short) list of open requests.
        uint256 at = n;
        for (uint256 i = 0; i < n; i++) {
            if (_openRequests[i] == index) {
                at = i;
                break;
            }
        }
        if (open == (at < n)) revert StateCommitmentDataRequestState(index, open);
        if (open) {
            _openRequests.push(index);
        } else {
            _openRequests[at] = _openRequests[n - 1];
            _openRequests.pop();
        }
        emit DataRequestStateChanged(index, open);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IStateCommitment
    function checkHeader(BatchHeader calldata header) public view returns (bytes32 headerHash) {
        uint256 index = header.index;
        if (index >= nextIndex) revert StateCommitmentUnknownBatch(index);
        headerHash = keccak256(abi.encode(header));
        bytes32 stored = _records[index].headerHash;
        if (headerHash != stored) revert StateCommitmentHeaderMismatch(index, headerHash, stored);
    }

    /// @inheritdoc IStateCommitment
    function batchStatus(uint256 index) public view returns (BatchStatus) {
        Record storage r = _records[index];
        if (r.timestamp == 0) return BatchStatus.None;
        if (index >= nextIndex) return BatchStatus.Invalid;
        if (block.timestamp < uint256(r.timestamp) + challengeWindow || insecureAt(index)) {
            return BatchStatus.Pending;
        }
        return BatchStatus.Finalized;
    }

    /// @inheritdoc IStateCommitment
    function isFinalized(uint256 index) public view returns (bool) {
        return batchStatus(index) == BatchStatus.Finalized;
    }

    /// @notice True while a data-availability request is open on `index` or an earlier batch
    ///         (the seed's "insecure state": withdrawals from these batches are held).
    function insecureAt(uint256 index) public view returns (bool) {
        uint256 n = _openRequests.length;
        for (uint256 i = 0; i < n; i++) {
            if (_openRequests[i] <= index) return true;
        }
        return false;
    }

    /// @inheritdoc IStateCommitment
    function openDataRequests() external view returns (uint256[] memory) {
        return _openRequests;
    }

    /// @inheritdoc IStateCommitment
    function batchSequencer(uint256 index) external view returns (address) {
        return _records[index].sequencer;
    }

    /// @notice The stored record of `index` (hash, sequencer, append time; raw status).
    function batchRecord(uint256 index) external view returns (Record memory) {
        return _records[index];
    }

    /// @inheritdoc IStateCommitment
    function batchRecordHash(uint256 index) external view returns (bytes32) {
        return _records[index].headerHash;
    }

    /// @inheritdoc IStateCommitment
    function finalizesAt(uint256 index) external view returns (uint256) {
        uint256 ts = _records[index].timestamp;
        return ts == 0 ? 0 : ts + challengeWindow;
    }
}
