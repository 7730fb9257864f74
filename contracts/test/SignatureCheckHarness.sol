// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ISequencerSet} from "../staking/ISequencerSet.sol";

/// @title SignatureCheckHarness
/// @notice Test/bench helper: a transaction that runs `ISequencerSet.verifyBatchSignatures`, so
///         the gas of the check can be read from a receipt.
contract SignatureCheckHarness {
    /// @notice Emitted after a successful check.
    event BatchSignaturesChecked(bytes32 indexed digest, uint256 count);

    /// @notice Run the check against `set` (reverts with the set's custom error on failure).
    /// @param set        the sequencer set
    /// @param digest     batch digest
    /// @param signatures ordered signatures
    function check(ISequencerSet set, bytes32 digest, bytes[] calldata signatures) external {
        set.verifyBatchSignatures(digest, signatures);
        emit BatchSignaturesChecked(digest, signatures.length);
    }
}
