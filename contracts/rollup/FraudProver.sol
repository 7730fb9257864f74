// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {MerkleTree} from "../common/MerkleTree.sol";
import {ISequencerSet} from "../staking/ISequencerSet.sol";
import {BatchHeader} from "./BatchHeader.sol";
import {BlobOpening} from "./BlobOpening.sol";
import {IL2DepositSource} from "./IL2DepositSource.sol";
import {IStateCommitment} from "./IStateCommitment.sol";
import {L2StateTransition} from "./L2StateTransition.sol";

/// @title FraudProver
/// @notice MTSR fraud proofs (seed 001 §11.4–11.5): within a batch's challenge window anyone may
///         re-execute one disputed step on L1 from Merkle witnesses (L2StateTransition). If the
///         transaction was invalid (bad signature, wrong nonce, overdraft, deposit skipped or
///         not matching the bridge, malformed...) or the committed post-state root or withdrawal
///         item differs from honest execution, the batch and every later one are invalidated,
///         the sequencer that appended it is slashed, kicked and rotated out, and the challenger
///         is paid from the slash. A false claim reverts ({FraudProverNoFraud}) and costs only gas.
///         The challenger's reward is bound to a commitment made in an earlier block ({commit}):
///         the proof call names its `challenger`, and the reward goes to it only if
///         keccak256 of the call's full calldata was committed before; otherwise the whole slash
///         is burned. A bot that copies a proof from the mempool thus gains nothing: verbatim it
///         pays the committed challenger, with itself as `challenger` it has no earlier commitment.
/// @dev    Pre-state of step 0: the last leaf of the previous batch's MTSR (proven against its
///         stored header), or the genesis root for batch 0. The header's own summary fields are
///         provable too ({proveBadSummary}): final state root and deposit position must be those
///         of the last MTSR leaf.
contract FraudProver is Ownable {
    /// @notice The previous batch's final state (needed for step 0 of a batch other than batch 0).
    struct PrevBatch {
        BatchHeader header;
        bytes32 finalStateRoot;
        bytes32[] proof;
    }

    /// @notice Why a batch's blobs do not decode (docs/spec.md, "Data availability modes",
    ///         "Blob-mode faults"); each is a refusal of the verifiers' decoder.
    enum BlobFault {
        None,
        NonCanonicalElement,
        EmptyFrame,
        LengthPastCapacity,
        BlobTooMany,
        BadFrameVersion,
        NotZstd,
        NonzeroPadding
    }

    /// @notice Gas that must be left before calling ISequencerSet.punish (slash + kick + rotation).
    uint256 public constant PUNISH_GAS = 600_000;

    /// @notice The batch chain.
    IStateCommitment public immutable stateCommitment;
    /// @notice Punishes sequencers (slash + kick + rotate).
    ISequencerSet public immutable sequencerSet;
    /// @notice L2 chain id (EIP-712 domain of L2 transactions).
    uint256 public immutable l2ChainId;
    /// @notice Stake slashed on a proven fraud.
    uint256 public slashAmount;
    /// @notice Block in which each proof commitment (keccak256 of a proof call's calldata) was
    ///         made; 0 if never.
    mapping(bytes32 commitment => uint256 blockNumber) public committedAt;

    /// @notice `by` committed to the proof call whose calldata hashes to `commitment`.
    event ProofCommitted(bytes32 indexed commitment, address indexed by);
    /// @notice Fraud proven at `step` of batch `index` for `challenger`, who was credited `reward`
    ///         (0 when the call was not committed in an earlier block: the slash is burned).
    event FraudProven(
        uint256 indexed index,
        uint256 indexed step,
        address indexed challenger,
        address sequencer,
        L2StateTransition.Status status,
        uint256 reward
    );
    /// @notice The blobs of batch `index` do not decode (`fault`), shown by the KZG opening of
    ///         field element `element` of blob `blob` (with element 0 of blob 0).
    event BlobFaultProven(uint256 indexed index, BlobFault fault, uint256 blob, uint256 element);
    /// @notice ISequencerSet.punish reverted with `reason` (the batches were invalidated anyway).
    event PunishFailed(address indexed sequencer, bytes reason);
    /// @notice The slash amount changed.
    event SlashAmountChanged(uint256 amount);

    /// @notice The step was executed correctly: nothing to punish.
    error FraudProverNoFraud(uint256 index, uint256 step);
    /// @notice Batch `index` left its challenge window at `finalizesAt`.
    error FraudProverWindowClosed(uint256 index, uint256 finalizesAt);
    /// @notice The previous batch's final state is not proven (wrong header or MTSR proof).
    error FraudProverBadPrevious(uint256 index);
    /// @notice The final state decomposition is not the last MTSR leaf of the batch.
    error FraudProverBadFinalState(uint256 index);
    /// @notice Proving needs at least `needed` gas left at punishment (so it cannot be starved).
    error FraudProverGasTooLow(uint256 left, uint256 needed);
    /// @notice The versioned hashes given do not hash to the header's `dataHash` (`got`).
    error FraudProverBadBlobHashes(uint256 index, bytes32 dataHash, bytes32 got);
    /// @notice Opening `i` is malformed (not element 0 of blob 0 first, a blob past the batch's)
    ///         or its KZG proof does not verify through the point-evaluation precompile.
    error FraudProverBadBlobOpening(uint256 index, uint256 i, uint256 blob, uint256 element);
    /// @notice The slash amount must be positive.
    error FraudProverBadSlashAmount(uint256 amount);
    /// @notice `commitment` was already made in block `blockNumber`.
    error FraudProverAlreadyCommitted(bytes32 commitment, uint256 blockNumber);

    /// @param owner_           governance (timelock) in production.
    /// @param stateCommitment_ the batch chain (this contract must be its challenger).
    /// @param sequencerSet_    the sequencer set (this contract must be allowed to punish).
    /// @param l2ChainId_       the L2 chain id.
    /// @param slashAmount_     stake slashed on a proven fraud.
    constructor(
        address owner_,
        IStateCommitment stateCommitment_,
        ISequencerSet sequencerSet_,
        uint256 l2ChainId_,
        uint256 slashAmount_
    ) Ownable(owner_) {
        stateCommitment = stateCommitment_;
        sequencerSet = sequencerSet_;
        l2ChainId = l2ChainId_;
        _setSlashAmount(slashAmount_);
    }

    /// @notice Changes the slash amount.
    function setSlashAmount(uint256 amount) external onlyOwner {
        _setSlashAmount(amount);
    }

    function _setSlashAmount(uint256 amount) private {
        if (amount == 0) revert FraudProverBadSlashAmount(amount);
        slashAmount = amount;
        emit SlashAmountChanged(amount);
    }

    /// @notice Commits to a proof call to be sent in a later block: `commitment` is keccak256
    ///         of its full calldata (selector and arguments, `challenger` included), so it
    ///         reveals neither the proof nor lets anyone else's call match it. Anyone may commit;
    ///         only the first commitment of a hash counts.
    /// @param commitment keccak256 of the {proveFraud}, {proveBadSummary} or {proveBlobFault} calldata.
    function commit(bytes32 commitment) external {
        uint256 at = committedAt[commitment];
        if (at != 0) revert FraudProverAlreadyCommitted(commitment, at);
        committedAt[commitment] = block.number;
        emit ProofCommitted(commitment, msg.sender);
    }

    /// @notice Proves that step `p.step` of batch `header` is fraudulent (see the contract notice).
    /// @param header     the disputed batch (checked against the stored hash).
    /// @param prev       the previous batch's final state; only read for step 0 of a batch > 0.
    /// @param p          the step with its proofs and state witnesses.
    /// @param challenger credited the reward if this exact call was committed in an earlier block.
    function proveFraud(
        BatchHeader calldata header,
        PrevBatch calldata prev,
        L2StateTransition.StepProof calldata p,
        address challenger
    ) external {
        uint256 index = _checkOpen(header);
        L2StateTransition.BatchRef memory b = L2StateTransition.BatchRef({
            mttbr: header.txRoot,
            mtsr: header.stateRootsRoot,
            withdrawalRoot: header.withdrawalRoot,
            numTxs: header.txCount,
            prevFinalStateRoot: p.step == 0 ? _prevFinalStateRoot(index, prev) : bytes32(0)
        });
        L2StateTransition.Context memory ctx = L2StateTransition.Context({
            chainId: l2ChainId,
            verifyingContract: address(stateCommitment),
            deposits: IL2DepositSource(address(stateCommitment.bridge()))
        });
        (bool fraud, L2StateTransition.Result memory r) = L2StateTransition.proveStep(ctx, b, p);
        if (!fraud) revert FraudProverNoFraud(index, p.step);
        _punish(index, p.step, r.status, challenger);
    }

    /// @notice Proves that the header's summary is not its own MTSR's: `finalState` (the last
    ///         MTSR leaf, decomposed) differs from `header.finalStateRoot`, or its deposit counter
    ///         from `header.depositCount`.
    /// @param header     the disputed batch.
    /// @param finalState decomposition of leaf txCount-1 of the MTSR.
    /// @param proof      its MTSR proof.
    /// @param challenger credited the reward if this exact call was committed in an earlier block.
    function proveBadSummary(
        BatchHeader calldata header,
        L2StateTransition.State calldata finalState,
        bytes32[] calldata proof,
        address challenger
    ) external {
        uint256 index = _checkOpen(header);
        bytes32 lastRoot = L2StateTransition.stateRoot(finalState);
        if (!MerkleTree.verifyCalldata(header.stateRootsRoot, uint256(header.txCount) - 1, lastRoot, proof)) {
            revert FraudProverBadFinalState(index);
        }
        if (lastRoot == header.finalStateRoot && finalState.nextDepositId == header.depositCount) {
            revert FraudProverNoFraud(index, header.txCount);
        }
        _punish(index, header.txCount, L2StateTransition.Status.Valid, challenger);
    }

    /// @notice Proves that the blobs of a batch do not decode (docs/spec.md, "Blob-mode faults"):
    ///         a Blobs-mode batch's, or the blobs a Storage-mode header's `blobsHash` commits
    ///         (posted by a data answer, DataAvailabilityChallenge.provideBlobs): with the KZG opening of element 0 of blob 0 (the payload's first 31
    ///         bytes: `len:u32 ‖ frame[0..26]`) and optionally of one more element, one of: an
    ///         element whose first byte is not zero; `len = 0`; `4 + len` past the blobs'
    ///         capacity; a blob more than `4 + len` needs; a frame version other than 0x01; a
    ///         frame that is not a Zstandard frame (`frame[1..4]` is not its magic `28 b5 2f fd`);
    ///         or a nonzero payload byte after the frame. The batch and every later one are
    ///         invalidated and its sequencer slashed, as for {proveFraud}.
    /// @param header          the disputed batch (its `blobsHash`, or else its `dataHash`, commits
    ///                        to the versioned hashes).
    /// @param versionedHashes the versioned hashes of the batch's blobs, in order.
    /// @param openings        element 0 of blob 0, then at most one more element.
    /// @param challenger      credited the reward if this exact call was committed in an earlier block.
    function proveBlobFault(
        BatchHeader calldata header,
        bytes32[] calldata versionedHashes,
        BlobOpening.Opening[] calldata openings,
        address challenger
    ) external {
        uint256 index = _checkOpen(header);
        // The blobs committed: a Storage batch's `blobsHash` (posted in a data answer), else a
        // Blobs batch's `dataHash`.
        bytes32 committed = header.blobsHash != bytes32(0) ? header.blobsHash : header.dataHash;
        bytes32 got = keccak256(abi.encodePacked(versionedHashes));
        if (got != committed) revert FraudProverBadBlobHashes(index, committed, got);
        if (openings.length == 0 || openings.length > 2 || openings[0].blob != 0 || openings[0].element != 0) {
            revert FraudProverBadBlobOpening(index, 0, 0, 0);
        }
        for (uint256 i = 0; i < openings.length; i++) {
            BlobOpening.Opening calldata o = openings[i];
            if (o.blob >= versionedHashes.length || !BlobOpening.verify(versionedHashes[o.blob], o)) {
                revert FraudProverBadBlobOpening(index, i, o.blob, o.element);
            }
        }
        BlobOpening.Opening calldata last = openings[openings.length - 1];
        BlobFault fault = _blobFault(versionedHashes.length, openings[0].y, last);
        if (fault == BlobFault.None) revert FraudProverNoFraud(index, header.txCount);
        emit BlobFaultProven(index, fault, last.blob, last.element);
        _punish(index, header.txCount, L2StateTransition.Status.Malformed, challenger);
    }

    /// @dev The decoder's refusal shown by element 0 (`first`) of `k` blobs and element `o`.
    function _blobFault(uint256 k, bytes32 first, BlobOpening.Opening calldata o) private pure returns (BlobFault) {
        uint256 capacity = 31 * BlobOpening.FIELD_ELEMENTS;
        if (first[0] != 0 || o.y[0] != 0) return BlobFault.NonCanonicalElement;
        uint256 len = uint32(bytes4(first << 8));
        if (len == 0) return BlobFault.EmptyFrame;
        if (4 + len > k * capacity) return BlobFault.LengthPastCapacity;
        if (4 + len <= (k - 1) * capacity) return BlobFault.BlobTooMany;
        if (first[5] != 0x01) return BlobFault.BadFrameVersion;
        if (len < 5 || bytes4(first << 48) != bytes4(0x28b52ffd)) return BlobFault.NotZstd;
        // Payload bytes 31 g .. 31 g + 30 of element g; those at or past 4 + len must be zero.
        uint256 start = 31 * (o.blob * BlobOpening.FIELD_ELEMENTS + o.element);
        uint256 end = 4 + len;
        if (start + 31 > end) {
            uint256 keep = end > start ? end - start : 0; // payload bytes of the frame in o
            uint256 tail = uint256(o.y) & ((uint256(1) << (8 * (31 - keep))) - 1);
            if (tail != 0) return BlobFault.NonzeroPadding;
        }
        return BlobFault.None;
    }

    /// @dev The header is the stored, valid batch and its challenge window is open.
    function _checkOpen(BatchHeader calldata header) private view returns (uint256 index) {
        stateCommitment.checkHeader(header);
        index = header.index;
        uint256 end = stateCommitment.finalizesAt(index);
        if (block.timestamp >= end) revert FraudProverWindowClosed(index, end);
    }

    /// @dev Pre-state of step 0: genesis for batch 0, else the last MTSR leaf of batch index-1.
    function _prevFinalStateRoot(uint256 index, PrevBatch calldata prev) private view returns (bytes32) {
        if (index == 0) return stateCommitment.genesisStateRoot();
        if (prev.header.index != index - 1) revert FraudProverBadPrevious(index);
        stateCommitment.checkHeader(prev.header);
        if (!MerkleTree.verifyCalldata(prev.header.stateRootsRoot, uint256(prev.header.txCount) - 1, prev.finalStateRoot, prev.proof)) {
            revert FraudProverBadPrevious(index);
        }
        return prev.finalStateRoot;
    }

    /// @dev Invalidate from `index`, slash/kick/rotate its sequencer, credit `challenger` if this
    ///      call (its whole calldata) was committed in an earlier block, else burn the whole slash.
    function _punish(uint256 index, uint256 step, L2StateTransition.Status status, address challenger) private {
        uint256 at = committedAt[keccak256(msg.data)];
        address beneficiary = at != 0 && at < block.number ? challenger : address(0);
        address sequencer = stateCommitment.batchSequencer(index);
        stateCommitment.invalidateFrom(index);
        // Invalidation must never be blocked by the staking side (e.g. a stake already withdrawn):
        // a revert of punish is caught and reported, after requiring enough gas that the catch
        // cannot be an out-of-gas forced by the caller to dodge the slash.
        if (gasleft() < PUNISH_GAS) revert FraudProverGasTooLow(gasleft(), PUNISH_GAS);
        uint256 reward = 0;
        try sequencerSet.punish(sequencer, slashAmount, beneficiary) returns (uint256 paid) {
            reward = paid;
        } catch (bytes memory reason) {
            emit PunishFailed(sequencer, reason);
        }
        emit FraudProven(index, step, challenger, sequencer, status, reward);
    }
}
