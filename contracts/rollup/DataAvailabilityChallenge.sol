// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {MerkleTree} from "../common/MerkleTree.sol";
import {ISequencerSet} from "../staking/ISequencerSet.sol";
import {BatchHeader, BatchStatus} from "./BatchHeader.sol";
import {IStateCommitment} from "./IStateCommitment.sol";
import {BatchChunks} from "./BatchChunks.sol";

/// @title DataAvailabilityChallenge
/// @notice Seed 001 §11.6–11.16 and §3.3.2–3.3.6: a verifier that cannot get a batch's data pays a
///         fee (bond) to request it on L1; the batch and every later one are in the *insecure
///         state* (withdrawals held) until the batch's sequencer posts the transactions as calldata
///         within the data window. The contract recomputes the MTTBR from them:
///         - match: the insecure state ends, the data is on L1 (see {DataProvided}), the fee goes to
///           the sequencer for its gas;
///         - mismatch or no answer by the deadline ({resolveTimeout}): the sequencer is slashed,
///           kicked and rotated out (ISequencerSet.punish), the batch and every later one are
///           invalidated (open for resubmission), the verifier gets its bond back plus the
///           slash reward.
///         Spam (§11.6.1–11.6.4): governance (the owner) bans a verifier with {banVerifier}; its new
///         requests revert, its open requests are closed and their bonds paid to the requested
///         batches' sequencers as compensation. Other verifiers are unaffected.
/// @dev    Payments are credited to {claimable} and pulled with {claim}, so a recipient that
///         refuses ETH cannot block a resolution.
contract DataAvailabilityChallenge is Ownable, ReentrancyGuardTransient {
    /// @notice How a header's data was answered: by blobs (matching its `blobsHash`; the roots
    ///         are not recomputed on L1) or recomputed from calldata (provideData / provideChunk).
    enum AnswerKind {
        None,
        Blobs,
        Recomputed
    }

    /// @notice Life of a request; Open -> Answered | Failed | Cancelled.
    enum RequestStatus {
        None,
        Open,
        Answered,
        Failed,
        Cancelled
    }

    /// @notice One data request (at most one open per batch index); packed in three slots.
    struct Request {
        address verifier;
        uint64 deadline;
        RequestStatus status;
        address sequencer;
        uint96 bond;
        bytes32 headerHash;
    }

    /// @notice Gas that must be left before calling ISequencerSet.punish (slash + kick + rotation).
    uint256 public constant PUNISH_GAS = 600_000;
    /// @notice Most blobs a blob answer may commit (one bit each in {blobsReceived}; 31.7 MB).
    uint256 public constant MAX_ANSWER_BLOBS = 256;

    /// @notice The batch chain.
    IStateCommitment public immutable stateCommitment;
    /// @notice Punishes sequencers (slash + kick + rotate).
    ISequencerSet public immutable sequencerSet;
    /// @notice Seconds the sequencer has to answer (24 h in production).
    uint256 public dataWindow;
    /// @notice Wei a verifier pays per request (bond: back on a failure, to the sequencer on a match),
    ///         plus {requestFeePerTx} per transaction of the batch ({requestFeeFor}).
    uint256 public requestFee;
    /// @notice Stake slashed from a sequencer whose answer mismatches or never comes.
    uint256 public slashAmount;
    /// @notice Verifiers banned from requesting.
    mapping(address => bool) public banned;
    /// @notice The latest request per batch index.
    mapping(uint256 => Request) public requests;
    /// @notice keccak256(abi.encode(txs, feeRecipients, postStateRoots, withdrawalItems)) of the
    ///         data provided for a batch index.
    mapping(uint256 => bytes32) public providedDataHash;
    /// @notice Wei owed to each address (bonds, fees, compensations); pulled with {claim}.
    mapping(address => uint256) public claimable;
    /// @notice Chunks of an answer received so far, per requested header hash.
    mapping(bytes32 => uint256) public chunksReceived;
    /// @notice Wei per transaction of the requested batch added to the bond, so that it covers
    ///         the answer's gas, which grows with the batch (docs/spec.md, "Data-availability
    ///         challenge"); set by governance from the measured answer gas per transaction.
    uint256 public requestFeePerTx;
    /// @notice Blobs of a blob answer received so far (bit i = committed blob i), per header hash.
    mapping(bytes32 => uint256) public blobsReceived;
    /// @notice How each header's data was answered; a request on a header answered with blobs
    ///         may be opened again, and must then be answered in chunks (docs/spec.md,
    ///         "Data-availability answer in blobs").
    mapping(bytes32 => AnswerKind) public answerKind;
    /// @dev Header hash => chunk => the chunk's subtree nodes (zero until received).
    mapping(bytes32 => mapping(uint256 => BatchChunks.Roots)) private _chunkRoots;

    /// @notice The per-transaction part of the bond changed (requests opened from now on).
    event RequestFeePerTxChanged(uint256 feePerTx);
    /// @notice `verifier` asked for the data of batch `index`; the sequencer must answer by `deadline`.
    event DataRequested(uint256 indexed index, address indexed verifier, address indexed sequencer, uint256 deadline, uint256 bond);
    /// @notice The sequencer posted the batch's data; it matches the header. The data is the
    ///         calldata of the provideData call in this L1 transaction (§11.10.2).
    event DataProvided(uint256 indexed index, address indexed sequencer, bytes32 dataHash, uint256 txCount);
    /// @notice Chunk `chunk` of `chunks` of the requested batch's data was posted (its packed
    ///         bytes are the `packed` calldata of the provideChunk call in this L1 transaction).
    event DataChunkProvided(uint256 indexed index, bytes32 indexed headerHash, uint256 chunk, uint256 chunks);
    /// @notice Blobs `first` .. `first + count - 1` of the `blobs` the header's `blobsHash` commits
    ///         were posted (they are the blobs of this L1 transaction, `blobhash(0..count-1)`).
    event DataBlobsProvided(uint256 indexed index, bytes32 indexed headerHash, uint256 first, uint256 count, uint256 blobs);
    /// @notice The request failed (`timedOut`: no answer; otherwise the data did not match): the
    ///         sequencer was punished and `reward` paid to the verifier from its slash.
    event DataRequestFailed(uint256 indexed index, address indexed verifier, address indexed sequencer, bool timedOut, uint256 reward);
    /// @notice The request was closed without a verdict (batch invalidated otherwise, or verifier banned).
    event DataRequestCancelled(uint256 indexed index, address indexed verifier, address indexed bondTo);
    /// @notice Governance banned (or unbanned) a verifier; `compensation` wei of its bonds went to
    ///         the sequencers it had requested data from.
    event VerifierBanned(address indexed verifier, bool banned, uint256 compensation);
    /// @notice Parameters changed.
    event ParamsChanged(uint256 dataWindow, uint256 requestFee, uint256 slashAmount);
    /// @notice ISequencerSet.punish reverted with `reason` (the batches were invalidated anyway).
    event PunishFailed(address indexed sequencer, bytes reason);
    /// @notice `to` pulled `amount` wei.
    event Claimed(address indexed to, uint256 amount);

    /// @notice The caller is banned from requesting data.
    error DataAvailabilityChallengeBanned(address verifier);
    /// @notice The request must pay exactly the fee.
    error DataAvailabilityChallengeBadFee(uint256 paid, uint256 fee);
    /// @notice Batch `index` left its challenge window (or is not pending).
    error DataAvailabilityChallengeWindowClosed(uint256 index);
    /// @notice A request on `index` is already open, or this header's data is already on L1.
    error DataAvailabilityChallengeAlreadyRequested(uint256 index, RequestStatus status);
    /// @notice No open request on `index`.
    error DataAvailabilityChallengeNoOpenRequest(uint256 index, RequestStatus status);
    /// @notice Only the batch's sequencer `sequencer` may answer.
    error DataAvailabilityChallengeNotSequencer(address caller, address sequencer);
    /// @notice The answer deadline passed.
    error DataAvailabilityChallengeDeadlinePassed(uint256 index, uint256 deadline);
    /// @notice The deadline has not passed yet.
    error DataAvailabilityChallengeDeadlineNotReached(uint256 index, uint256 deadline);
    /// @notice The request's batch is still the current, valid one: it is not stale.
    error DataAvailabilityChallengeNotStale(uint256 index);
    /// @notice The header does not belong to the request.
    error DataAvailabilityChallengeWrongHeader(uint256 index, bytes32 given, bytes32 requested);
    /// @notice Bad parameter.
    error DataAvailabilityChallengeBadParams(uint256 dataWindow, uint256 slashAmount);
    /// @notice Resolving needs at least `needed` gas left (so punishment cannot be starved).
    error DataAvailabilityChallengeGasTooLow(uint256 left, uint256 needed);
    /// @notice Chunk `chunk` does not exist (the batch has `chunks`) or was already posted.
    error DataAvailabilityChallengeBadChunk(uint256 index, uint256 chunk, uint256 chunks);
    /// @notice The header commits no blobs (`blobsHash` is zero): answer in chunks.
    error DataAvailabilityChallengeNoBlobCommitment(uint256 index);
    /// @notice This header's data was already answered with blobs: a new request on it is
    ///         answered in chunks, which L1 recomputes.
    error DataAvailabilityChallengeChunksRequired(uint256 index);
    /// @notice keccak256 of the versioned hashes passed (`got`) is not the header's `blobsHash`.
    error DataAvailabilityChallengeBadBlobHashes(uint256 index, bytes32 blobsHash, bytes32 got);
    /// @notice The transaction's blob `carried` (blobhash) is not committed blob `blob`.
    error DataAvailabilityChallengeWrongBlob(uint256 index, uint256 blob, bytes32 committed, bytes32 carried);
    /// @notice The transaction carries no blob, or blob `blob` is past the `blobs` committed
    ///         (at most {MAX_ANSWER_BLOBS}) or was already posted.
    error DataAvailabilityChallengeBadBlobRange(uint256 index, uint256 blob, uint256 blobs);
    /// @notice Nothing to claim, or the transfer failed.
    error DataAvailabilityChallengeClaimFailed(address to, uint256 amount);

    /// @param owner_          governance (timelock) in production.
    /// @param stateCommitment_ the batch chain (this contract must be its challenger).
    /// @param sequencerSet_   the sequencer set (this contract must be authorised to punish).
    /// @param dataWindow_     seconds to answer.
    /// @param requestFee_     wei per request.
    /// @param slashAmount_    stake slashed on a failure.
    constructor(
        address owner_,
        IStateCommitment stateCommitment_,
        ISequencerSet sequencerSet_,
        uint256 dataWindow_,
        uint256 requestFee_,
        uint256 slashAmount_
    ) Ownable(owner_) {
        stateCommitment = stateCommitment_;
        sequencerSet = sequencerSet_;
        _setParams(dataWindow_, requestFee_, slashAmount_);
    }

    // ---------------------------------------------------------------- owner

    /// @notice Changes the window, fee and slash amount (for requests opened from now on).
    function setParams(uint256 dataWindow_, uint256 requestFee_, uint256 slashAmount_) external onlyOwner {
        _setParams(dataWindow_, requestFee_, slashAmount_);
    }

    function _setParams(uint256 dataWindow_, uint256 requestFee_, uint256 slashAmount_) private {
        if (dataWindow_ == 0 || slashAmount_ == 0 || requestFee_ > type(uint96).max) {
            revert DataAvailabilityChallengeBadParams(dataWindow_, slashAmount_);
        }
        dataWindow = dataWindow_;
        requestFee = requestFee_;
        slashAmount = slashAmount_;
        emit ParamsChanged(dataWindow_, requestFee_, slashAmount_);
    }

    /// @notice Sets the bond's part per transaction of the requested batch (at most 2^64 - 1 wei).
    function setRequestFeePerTx(uint256 feePerTx) external onlyOwner {
        if (feePerTx > type(uint64).max) revert DataAvailabilityChallengeBadFee(feePerTx, type(uint64).max);
        requestFeePerTx = feePerTx;
        emit RequestFeePerTxChanged(feePerTx);
    }

    /// @notice The bond of a request on a batch of `txCount` transactions:
    ///         `requestFee + requestFeePerTx * txCount`.
    function requestFeeFor(uint256 txCount) public view returns (uint256) {
        return requestFee + requestFeePerTx * txCount;
    }

    /// @notice Bans `verifier` (§11.6.2): its new requests revert; its open requests are closed
    ///         and each bond is credited to the sequencer of the requested batch as compensation
    ///         (§11.6.1; governance may add more from its treasury in the same proposal).
    function banVerifier(address verifier) external onlyOwner {
        banned[verifier] = true;
        uint256[] memory open = stateCommitment.openDataRequests();
        uint256 total = 0;
        // Close every open request of the banned verifier.
        for (uint256 i = 0; i < open.length; i++) {
            Request storage r = requests[open[i]];
            if (r.verifier == verifier && r.status == RequestStatus.Open) {
                total += r.bond;
                _cancel(open[i], r, r.sequencer);
            }
        }
        emit VerifierBanned(verifier, true, total);
    }

    /// @notice Lifts a ban.
    function unbanVerifier(address verifier) external onlyOwner {
        banned[verifier] = false;
        emit VerifierBanned(verifier, false, 0);
    }

    // ------------------------------------------------------------- verifier

    /// @notice Requests the data of the batch `header` on L1, paying exactly
    ///         {requestFeeFor}(`header.txCount`) as the bond.
    function requestData(BatchHeader calldata header) external payable nonReentrant {
        if (banned[msg.sender]) revert DataAvailabilityChallengeBanned(msg.sender);
        uint256 fee = requestFeeFor(header.txCount);
        if (msg.value != fee || fee > type(uint96).max) revert DataAvailabilityChallengeBadFee(msg.value, fee);
        uint256 index = header.index;
        bytes32 headerHash = stateCommitment.checkHeader(header);
        Request storage r = requests[index];
        if (r.status == RequestStatus.Open) {
            // At most one open request per batch; one left on a batch that was meanwhile replaced
            // is stale: close it (bond back to its verifier) and take its place.
            if (stateCommitment.matchesHeader(index, r.headerHash)) {
                revert DataAvailabilityChallengeAlreadyRequested(index, r.status);
            }
            _cancel(index, r, r.verifier);
        }
        // Data recomputed on L1 is final; data answered with blobs may be asked for again (in
        // chunks): blobs that decode but do not match the roots are settled that way.
        if (
            r.status == RequestStatus.Answered && r.headerHash == headerHash
                && answerKind[headerHash] != AnswerKind.Blobs
        ) {
            revert DataAvailabilityChallengeAlreadyRequested(index, r.status);
        }
        if (
            stateCommitment.batchStatus(index) != BatchStatus.Pending
                || block.timestamp >= stateCommitment.finalizesAt(index)
        ) revert DataAvailabilityChallengeWindowClosed(index);
        address sequencer = stateCommitment.batchSequencer(index);
        uint256 deadline = block.timestamp + dataWindow;
        requests[index] = Request({
            verifier: msg.sender,
            deadline: uint64(deadline),
            status: RequestStatus.Open,
            sequencer: sequencer,
            bond: uint96(msg.value),
            headerHash: headerHash
        });
        stateCommitment.setDataRequest(index, true);
        emit DataRequested(index, msg.sender, sequencer, deadline, msg.value);
    }

    /// @notice The batch's sequencer posts the batch data (docs/spec.md, "Batch commitments":
    ///         the four arrays, uncompressed). It matches when every array has `txCount` entries
    ///         and the MTTBR, MTSR, withdrawal root and final state root recomputed from it are
    ///         the header's (§3.3.5–3.3.6, §11.9–11.10). The header's `dataHash` (keccak256 of
    ///         the compressed frame in the blob store) is not needed: the roots pin every byte a
    ///         verifier uses.
    /// @param header           the requested batch.
    /// @param txs              transaction encodings, in execution order.
    /// @param feeRecipients    fee recipient of each transaction (part of its MTTBR leaf).
    /// @param postStateRoots   state root after each transaction (MTSR leaves).
    /// @param withdrawalItems  withdrawal item of each transaction (bytes32(0) if none).
    function provideData(
        BatchHeader calldata header,
        bytes[] calldata txs,
        address[] calldata feeRecipients,
        bytes32[] calldata postStateRoots,
        bytes32[] calldata withdrawalItems
    ) external nonReentrant {
        (uint256 index, Request storage r, bytes32 headerHash) = _answering(header);
        bytes32 dataHash = keccak256(abi.encode(txs, feeRecipients, postStateRoots, withdrawalItems));
        if (!_matches(header, txs, feeRecipients, postStateRoots, withdrawalItems)) {
            // Invalid or mismatching data: same outcome as silence (§11.11–11.16).
            _fail(index, r, false);
            return;
        }
        answerKind[headerHash] = AnswerKind.Recomputed;
        _answered(index, r, dataHash, txs.length);
    }

    /// @notice The batch's sequencer posts chunk `chunk` of the batch data in the packed format
    ///         (docs/spec.md, "Data-availability answer in chunks"): any batch can be answered,
    ///         each transaction within EIP-7825's gas cap and the 128 kB size limit. L1 recomputes
    ///         the chunk's subtrees; the chunk that completes the set combines them into the
    ///         MTTBR, MTSR and withdrawal root and compares them with the header (§3.3.5–3.3.6,
    ///         §11.9–11.10). A chunk that does not parse, or a final state root that differs,
    ///         is a mismatch: same outcome as silence.
    /// @param header the requested batch.
    /// @param chunk  chunk number, 0 .. ceil(txCount / 256) - 1, in any order.
    /// @param packed the chunk's transactions in the packed format.
    function provideChunk(BatchHeader calldata header, uint256 chunk, bytes calldata packed) external nonReentrant {
        (uint256 index, Request storage r, bytes32 headerHash) = _answering(header);
        uint256 n = header.txCount;
        uint256 chunks = BatchChunks.chunkCount(n);
        if (chunk >= chunks || _chunkRoots[headerHash][chunk].txNode != bytes32(0)) {
            revert DataAvailabilityChallengeBadChunk(index, chunk, chunks);
        }
        BatchChunks.Roots memory roots;
        try this.chunkRootsOf(packed, chunk, n) returns (BatchChunks.Roots memory got) {
            roots = got;
        } catch (bytes memory reason) {
            // Only the parser's own verdict is invalid data (§11.11); anything else (an
            // out-of-gas with empty revert data) must not punish: the caller retries with gas.
            bytes4 sel = reason.length >= 4 ? bytes4(reason) : bytes4(0);
            if (sel != BatchChunks.BatchChunksMalformed.selector && sel != BatchChunks.BatchChunksWrongCount.selector) {
                revert DataAvailabilityChallengeGasTooLow(gasleft(), PUNISH_GAS);
            }
            _fail(index, r, false);
            return;
        }
        if (chunk == chunks - 1 && roots.lastPostRoot != header.finalStateRoot) {
            _fail(index, r, false);
            return;
        }
        roots.lastPostRoot = bytes32(0); // checked above; not kept
        _chunkRoots[headerHash][chunk] = roots;
        uint256 received = chunksReceived[headerHash] + 1;
        chunksReceived[headerHash] = received;
        emit DataChunkProvided(index, headerHash, chunk, chunks);
        if (received < chunks) return;
        if (!_chunksMatch(header, headerHash, chunks)) {
            _fail(index, r, false);
            return;
        }
        answerKind[headerHash] = AnswerKind.Recomputed;
        _answered(index, r, header.dataHash, n);
    }

    /// @notice The batch's sequencer answers a Storage-mode request with the EIP-4844 blobs the
    ///         header's `blobsHash` commits (docs/spec.md, "Data-availability answer in blobs"):
    ///         this type-3 transaction's blobs `blobhash(0..c-1)` are committed blobs
    ///         `first .. first + c - 1`; blobs that are not the committed ones revert
    ///         ({DataAvailabilityChallengeWrongBlob}). The transaction that completes the set
    ///         answers the request (bond to the sequencer). The roots are not recomputed: blobs
    ///         that do not decode are a provable fault (FraudProver.proveBlobFault against
    ///         `blobsHash`), and blobs that decode to other data are settled by a new request,
    ///         answered in chunks ({answerKind}). The co-signers check `blobsHash` against the
    ///         batch they rebuild before signing.
    /// @param header          the requested batch.
    /// @param versionedHashes every committed blob's versioned hash, in order
    ///                        (keccak256 of them concatenated = `header.blobsHash`).
    /// @param first           the committed index of this transaction's first blob.
    function provideBlobs(BatchHeader calldata header, bytes32[] calldata versionedHashes, uint256 first)
        external
        nonReentrant
    {
        (uint256 index, Request storage r, bytes32 headerHash) = _answering(header);
        if (header.blobsHash == bytes32(0)) revert DataAvailabilityChallengeNoBlobCommitment(index);
        if (answerKind[headerHash] != AnswerKind.None) revert DataAvailabilityChallengeChunksRequired(index);
        bytes32 got = keccak256(abi.encodePacked(versionedHashes));
        if (got != header.blobsHash) revert DataAvailabilityChallengeBadBlobHashes(index, header.blobsHash, got);
        uint256 total = versionedHashes.length;
        if (total > MAX_ANSWER_BLOBS) revert DataAvailabilityChallengeBadBlobRange(index, total, total);
        uint256 received = blobsReceived[headerHash];
        // Walk this transaction's blobs (until the first zero blobhash): each must be the next
        // committed blob from `first` on, not posted before.
        uint256 c = 0;
        for (bytes32 carried = blobhash(0); carried != bytes32(0); carried = blobhash(++c)) {
            uint256 b = first + c;
            if (b >= total || received & (1 << b) != 0) revert DataAvailabilityChallengeBadBlobRange(index, b, total);
            if (carried != versionedHashes[b]) {
                revert DataAvailabilityChallengeWrongBlob(index, b, versionedHashes[b], carried);
            }
            received |= 1 << b;
        }
        if (c == 0) revert DataAvailabilityChallengeBadBlobRange(index, first, total);
        blobsReceived[headerHash] = received;
        emit DataBlobsProvided(index, headerHash, first, c, total);
        if (received != (total == MAX_ANSWER_BLOBS ? type(uint256).max : (1 << total) - 1)) return;
        answerKind[headerHash] = AnswerKind.Blobs;
        _answered(index, r, header.blobsHash, header.txCount);
    }

    /// @notice The subtree nodes of packed chunk `chunk` of a batch of `n` transactions
    ///         (reverts BatchChunksMalformed / BatchChunksWrongCount on bad input).
    function chunkRootsOf(bytes calldata packed, uint256 chunk, uint256 n)
        external
        pure
        returns (BatchChunks.Roots memory)
    {
        return BatchChunks.rootsOf(packed, chunk, n);
    }

    /// @dev Combine every chunk's subtree nodes (level min(8, depth)) into the three roots.
    function _chunksMatch(BatchHeader calldata header, bytes32 headerHash, uint256 chunks) private view returns (bool) {
        uint256 d = BatchChunks.depth(header.txCount);
        uint256 top = d > BatchChunks.CHUNK_HEIGHT ? d - BatchChunks.CHUNK_HEIGHT : 0;
        bytes32[] memory t = new bytes32[](chunks);
        bytes32[] memory s = new bytes32[](chunks);
        bytes32[] memory w = new bytes32[](chunks);
        for (uint256 j = 0; j < chunks; j++) {
            BatchChunks.Roots storage c = _chunkRoots[headerHash][j];
            (t[j], s[j], w[j]) = (c.txNode, c.stateNode, c.withdrawalNode);
        }
        return BatchChunks.reduce(t, top) == header.txRoot && BatchChunks.reduce(s, top) == header.stateRootsRoot
            && BatchChunks.reduce(w, top) == header.withdrawalRoot;
    }

    /// @notice After the deadline with no answer: punish the sequencer, invalidate from `index`.
    function resolveTimeout(uint256 index) external nonReentrant {
        Request storage r = _open(index);
        if (block.timestamp <= r.deadline) revert DataAvailabilityChallengeDeadlineNotReached(index, r.deadline);
        _fail(index, r, true);
    }

    /// @notice Closes an open request whose batch was meanwhile invalidated by another challenge;
    ///         the bond goes back to the verifier.
    function cancelStaleRequest(uint256 index) external nonReentrant {
        Request storage r = _open(index);
        if (stateCommitment.matchesHeader(index, r.headerHash)) revert DataAvailabilityChallengeNotStale(index);
        _cancel(index, r, r.verifier);
    }

    /// @notice Pulls the wei credited to the caller.
    function claim() external nonReentrant {
        uint256 amount = claimable[msg.sender];
        if (amount == 0) revert DataAvailabilityChallengeClaimFailed(msg.sender, 0);
        claimable[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert DataAvailabilityChallengeClaimFailed(msg.sender, amount);
        emit Claimed(msg.sender, amount);
    }

    // ------------------------------------------------------------- internals

    /// @dev The open request an answer to `header` is for, checked: the header is the requested
    ///      one, the caller its sequencer, the deadline not passed.
    function _answering(BatchHeader calldata header)
        private
        view
        returns (uint256 index, Request storage r, bytes32 headerHash)
    {
        index = header.index;
        r = _open(index);
        headerHash = keccak256(abi.encode(header));
        if (headerHash != r.headerHash) revert DataAvailabilityChallengeWrongHeader(index, headerHash, r.headerHash);
        _checkAnswerer(r);
        if (block.timestamp > r.deadline) revert DataAvailabilityChallengeDeadlinePassed(index, r.deadline);
    }

    /// @dev A matching answer: the request is Answered, the insecure state ends, the bond pays
    ///      the sequencer's gas (§11.6), {DataProvided} points verifiers at the data, and the
    ///      sequencer asked is rotated out if still current (§3.3.6).
    function _answered(uint256 index, Request storage r, bytes32 dataHash, uint256 txCount) private {
        r.status = RequestStatus.Answered;
        providedDataHash[index] = dataHash;
        stateCommitment.setDataRequest(index, false);
        claimable[r.sequencer] += r.bond;
        emit DataProvided(index, msg.sender, dataHash, txCount);
        _rotateAfterAnswer(r.sequencer);
    }

    /// @dev The staker of the batch answers, with the batch's key or the key it moved its stake to
    ///      since (LockingPool.updateSigner; punishment and answering follow the staker).
    function _checkAnswerer(Request storage r) private view {
        address seq = r.sequencer;
        if (msg.sender != seq && msg.sender != sequencerSet.currentKeyOf(seq)) {
            revert DataAvailabilityChallengeNotSequencer(msg.sender, seq);
        }
    }

        function _open(uint256 index) private view returns (Request storage r) {
        r = requests[index];
        if (r.status != RequestStatus.Open) revert DataAvailabilityChallengeNoOpenRequest(index, r.status);
    }

    /// @dev True when the posted arrays have `txCount` entries each and recompute the header's
    ///      roots: MTTBR leaf i = keccak256(abi.encode(keccak256(txs[i]), feeRecipients[i])),
    ///      MTSR leaf i = postStateRoots[i], withdrawal leaf i = withdrawalItems[i].
    function _matches(
        BatchHeader calldata header,
        bytes[] calldata txs,
        address[] calldata feeRecipients,
        bytes32[] calldata postStateRoots,
        bytes32[] calldata withdrawalItems
    ) private pure returns (bool) {
        uint256 n = header.txCount;
        if (txs.length != n || feeRecipients.length != n || postStateRoots.length != n || withdrawalItems.length != n) {
            return false;
        }
        if (postStateRoots[n - 1] != header.finalStateRoot) return false;
        bytes32[] memory items = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            items[i] = keccak256(abi.encode(keccak256(txs[i]), feeRecipients[i]));
        }
        if (MerkleTree.rootOf(items) != header.txRoot) return false;
        if (MerkleTree.rootOf(postStateRoots) != header.stateRootsRoot) return false;
        return MerkleTree.rootOf(withdrawalItems) == header.withdrawalRoot;
    }

    function _fail(uint256 index, Request storage r, bool timedOut) private {
        r.status = RequestStatus.Failed;
        // Invalidate while the request is still open (the batch cannot have finalized meanwhile).
        stateCommitment.invalidateFrom(index);
        stateCommitment.setDataRequest(index, false);
        uint256 reward = _punish(r.sequencer, r.verifier);
        claimable[r.verifier] += r.bond;
        emit DataRequestFailed(index, r.verifier, r.sequencer, timedOut, reward);
    }

    /// @dev Slash, kick and rotate. Invalidation must never be blocked by the staking side (e.g.
    ///      a sequencer whose stake is already withdrawn), so a revert of `punish` is caught and
    ///      reported; enough gas is required first so that the catch cannot be an out-of-gas
    ///      forced by the caller to dodge the slash.
    function _punish(address sequencer, address beneficiary) private returns (uint256 reward) {
        if (gasleft() < PUNISH_GAS) revert DataAvailabilityChallengeGasTooLow(gasleft(), PUNISH_GAS);
        try sequencerSet.punish(sequencer, slashAmount, beneficiary) returns (uint256 paid) {
            reward = paid;
        } catch (bytes memory reason) {
            emit PunishFailed(sequencer, reason);
        }
    }

    /// @dev Seed 001 §3.3.6: after a request resolves the sequencer asked is rotated, also when its
    ///      answer matched (a failed one is punished, which rotates). Only if it is still current
    ///      (under its current key): an answer on an older batch leaves the current slot alone.
    function _rotateAfterAnswer(address sequencer) private {
        address key = sequencerSet.currentKeyOf(sequencer);
        if (key == sequencerSet.currentSequencer()) sequencerSet.rotateOut(key);
    }

    function _cancel(uint256 index, Request storage r, address bondTo) private {
        r.status = RequestStatus.Cancelled;
        stateCommitment.setDataRequest(index, false);
        claimable[bondTo] += r.bond;
        emit DataRequestCancelled(index, r.verifier, bondTo);
    }
}
