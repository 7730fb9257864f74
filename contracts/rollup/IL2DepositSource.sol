// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IL2DepositSource
/// @notice What L1 re-execution of an L2 deposit needs from the bridge (docs/spec.md, "L2 ledger").
interface IL2DepositSource {
    /// @notice keccak256(abi.encode(depositId, l1Sender, recipient, token, amount)) of deposit
    ///         `depositId`, or bytes32(0) if there is no such deposit.
    function depositHash(uint256 depositId) external view returns (bytes32);

    /// @notice True iff queue position `queueId` holds `item` (checked against the rolling hashes;
    ///         how a forced transaction's item keccak256(abi.encodePacked(queueId, l2Tx)) is checked).
    function queueItemMatches(uint256 queueId, bytes32 item) external view returns (bool);
}
