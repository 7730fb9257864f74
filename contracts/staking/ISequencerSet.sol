// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ISequencerSet
/// @notice What the rollup contracts (StateCommitment, challenges) need from the sequencer set.
/// @dev    A sequencer is identified by its signer address: the node key that produces blocks,
///         signs batch digests and sends appendBatch. Its stake lives in the LockingPool.
interface ISequencerSet {
    /// @notice Signer address of the sequencer that may append the next batch.
    function currentSequencer() external view returns (address);

    /// @notice Signer addresses of the active set (locked, not exiting, not kicked).
    function activeSigners() external view returns (address[] memory);

    /// @notice Reverts unless the set signed `digest`: exactly one 96-byte FROST signature
    ///         `R.x || R.y || z` under the installed group key (constant gas). With no key
    ///         installed nothing verifies (the ECDSA list of the set only installs the key).
    function verifyBatchSignatures(bytes32 digest, bytes[] calldata signatures) external view;

    /// @notice x coordinate of the set's FROST group key (even y), zero while there is none
    ///         (then no batch can be appended).
    function groupKeyX() external view returns (uint256);

    /// @notice Called by StateCommitment when `signer` appended a batch covering `l2Blocks`
    ///         blocks: counts as its heartbeat and accrues its batch reward. `absent` is the
    ///         batch's signed absence bitmap (bit i: member i of the active set, in
    ///         `activeSigners()` order, took no part in co-signing it).
    function recordBatch(address signer, uint256 l2Blocks, uint256 absent) external;

    /// @notice The key the staker behind `signer` uses now: `signer` itself unless its owner moved
    ///         the stake to a new key with LockingPool.updateSigner (punishment follows the staker).
    function currentKeyOf(address signer) external view returns (address);

    /// @notice Called by the rollup contracts on a proven fault: slashes up to `amount` of the
    ///         stake of the staker behind `signer` (under whatever key it holds it now: see
    ///         {currentKeyOf}) (to `beneficiary` and burn), kicks it and, if it is current,
    ///         rotates to a new sequencer. Returns the amount paid to `beneficiary`.
    function punish(address signer, uint256 amount, address beneficiary) external returns (uint256 paid);

    /// @notice Called by StateCommitment when the current sequencer `signer` left an expired
    ///         forced transaction unconsumed past its grace (StateCommitment.reportCensorship),
    ///         and by DataAvailabilityChallenge when it answered a data request with matching
    ///         data (seed 001 §3.3.6): rotates it out like a missed heartbeat (no slash; it is
    ///         excluded from the draw).
    function rotateOut(address signer) external;
}
