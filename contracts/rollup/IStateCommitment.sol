// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BatchHeader, BatchStatus} from "./BatchHeader.sol";
import {IDepositQueue} from "../bridge/IDepositQueue.sol";

/// @title IStateCommitment
/// @notice What the bridge and the challenge contracts need from StateCommitment.
interface IStateCommitment {
    /// @notice Reverts unless `header` is the batch currently stored at `header.index`.
    function checkHeader(BatchHeader calldata header) external view returns (bytes32 headerHash);

    /// @notice Status of the batch at `index` (Finalized only once its window passed and no data
    ///         request is open on it or on an earlier batch).
    function batchStatus(uint256 index) external view returns (BatchStatus);

    /// @notice True when the batch at `index` is final: withdrawals from it may be paid.
    function isFinalized(uint256 index) external view returns (bool);

    /// @notice Signer address of the sequencer that appended the batch at `index`.
    function batchSequencer(uint256 index) external view returns (address);

    /// @notice Number of batches in the valid chain (the index the next batch must carry).
    function nextIndex() external view returns (uint256);

    /// @notice The bridge whose deposit queue the batches consume.
    function bridge() external view returns (IDepositQueue);

    /// @notice State root before batch 0.
    function genesisStateRoot() external view returns (bytes32);

    /// @notice Timestamp at which batch `index` leaves its challenge window (0 if unknown).
    function finalizesAt(uint256 index) external view returns (uint256);

    /// @notice True when `headerHash` is the hash of the valid batch stored at `index`.
    function matchesHeader(uint256 index, bytes32 headerHash) external view returns (bool);

    /// @notice When the rollup froze (0 while it is not frozen): see StateCommitment.freeze.
    function frozenAt() external view returns (uint256);

    /// @notice Indices with an open data-availability request.
    function openDataRequests() external view returns (uint256[] memory);

    /// @notice Marks batch `index` and every later one invalid (challenge contracts only), and
    ///         closes the data requests open on them.
    function invalidateFrom(uint256 index) external;

    /// @notice Opens (`open` = true) or closes a data-availability request on batch `index`
    ///         (challenge contracts only). While open, that batch and later ones cannot finalize.
    ///         Closing is idempotent: invalidating a batch already closes requests on it.
    function setDataRequest(uint256 index, bool open) external;
}
