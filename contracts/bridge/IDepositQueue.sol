// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IDepositQueue
/// @notice The bridge's deposit queue as seen by StateCommitment and the fraud prover.
interface IDepositQueue {
    /// @notice Number of deposits queued so far (ids 0 .. depositCount-1).
    function depositCount() external view returns (uint256);

    /// @notice Rolling hash after the first `count` deposits (bytes32(0) for count 0).
    function depositHashAt(uint256 count) external view returns (bytes32);

    /// @notice Seconds a forced transaction may wait before every batch must have consumed it.
    function forceInclusionWindow() external view returns (uint256);

    /// @notice The first forced item at queue position >= `position`: its queue position and
    ///         inclusion deadline (both 0 if there is none).
    function firstForcedFrom(uint256 position) external view returns (uint256 queueId, uint256 deadline);
}
