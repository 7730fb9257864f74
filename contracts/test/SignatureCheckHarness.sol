// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ISequencerSet} from "../staking/ISequencerSet.sol";
import {SequencerSet} from "../staking/SequencerSet.sol";

/// @title SignatureCheckHarness
/// @notice Test/bench helper: a transaction that runs `ISequencerSet.verifyBatchSignatures` (or
///         the key approval check `SequencerSet.verifySetSignatures`), so
///         the gas of the check can be read from a receipt (whole transaction) and from the
///         event (the check alone: gas between just before and just after the call).
contract SignatureCheckHarness {
    /// @notice Emitted after a successful check; `gasUsed` is what the call itself cost, with
    ///         the set's account already warm (as in appendBatch, which also calls recordBatch).
    event BatchSignaturesChecked(bytes32 indexed digest, uint256 count, uint256 gasUsed);

    /// @notice Run the check against `set` (reverts with the set's custom error on failure).
    /// @param set        the sequencer set
    /// @param digest     batch digest
    /// @param signatures one FROST signature
    function check(ISequencerSet set, bytes32 digest, bytes[] calldata signatures) external {
        set.currentSequencer(); // warm the account: appendBatch touches it anyway
        uint256 before = gasleft();
        set.verifyBatchSignatures(digest, signatures);
        uint256 used = before - gasleft();
        emit BatchSignaturesChecked(digest, signatures.length, used);
    }

    /// @notice The same measurement for `SequencerSet.verifySetSignatures`: the >2/3-of-stake
    ///         ECDSA list that only installs or recovers the group key (never a batch).
    /// @param set        the sequencer set
    /// @param digest     signed digest
    /// @param signatures ordered ECDSA signatures
    function checkApproval(SequencerSet set, bytes32 digest, bytes[] calldata signatures) external {
        set.currentSequencer(); // warm the account, as in check
        uint256 before = gasleft();
        set.verifySetSignatures(digest, signatures);
        uint256 used = before - gasleft();
        emit BatchSignaturesChecked(digest, signatures.length, used);
    }
}
