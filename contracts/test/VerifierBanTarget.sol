// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title VerifierBanTarget
/// @notice Test helper with the `banVerifier(address)` entry point governance calls on the
///         rollup's StateCommitment (built elsewhere): an owner-only ban list.
contract VerifierBanTarget is Ownable {
    /// @notice Banned verifiers.
    mapping(address verifier => bool) public banned;

    /// @notice `verifier` may no longer request data.
    event VerifierBanned(address indexed verifier);

    /// @param owner_ governance (the Timelock)
    constructor(address owner_) Ownable(owner_) {}

    /// @notice Ban `verifier` from data requests.
    function banVerifier(address verifier) external onlyOwner {
        banned[verifier] = true;
        emit VerifierBanned(verifier);
    }
}
