// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "./Test.sol";
import {FrostVerifier} from "../../../contracts/staking/FrostVerifier.sol";

/// @notice A FROST(secp256k1, SHA-256) group key held whole by a test, and its signatures.
/// @dev    On L1 a threshold signature is an ordinary Schnorr signature under the group key
///         (RFC 9591 aggregates the shares into `(R, z)` with `z G = R + c PK`), so a test that
///         knows the group secret `s` signs as the set does: `R = k G`, `c = H2(R || PK || m)`,
///         `z = k + c s mod n`. The off-chain DKG and signing rounds are tested in Python
///         (tests/staking); here the contracts see the same 96-byte `R.x || R.y || z`. Points are
///         computed by forge's `createWallet` cheatcode (k G as a public key).
library FrostSigner {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @notice A group key: its secret and the (even-y) public point.
    struct Key {
        uint256 secret;
        uint256 x;
        uint256 y;
    }

    /// @notice The group key whose secret is derived from `seed`, negated if needed so that its
    ///         y is even (as the off-chain key generation does; the set stores x only).
    function key(uint256 seed) internal returns (Key memory k) {
        uint256 s = uint256(keccak256(abi.encode("l2kit.FrostSigner.key", seed))) % FrostVerifier.N;
        if (s == 0) s = 1;
        Vm.Wallet memory w = VM.createWallet(s);
        k = Key(s, w.publicKeyX, w.publicKeyY);
        if (k.y & 1 == 1) k = Key(FrostVerifier.N - s, w.publicKeyX, FrostVerifier.P - w.publicKeyY);
    }

    /// @notice The 96-byte signature `R.x || R.y || z` of `digest` under `k` (deterministic nonce).
    function sign(Key memory k, bytes32 digest) internal returns (bytes memory) {
        uint256 nonce = uint256(keccak256(abi.encode("l2kit.FrostSigner.nonce", k.secret, digest))) % FrostVerifier.N;
        if (nonce == 0) nonce = 1;
        Vm.Wallet memory r = VM.createWallet(nonce);
        uint256 c = FrostVerifier.challengeDigest(k.x, r.publicKeyX, r.publicKeyY, digest);
        uint256 z = addmod(nonce, mulmod(c, k.secret, FrostVerifier.N), FrostVerifier.N);
        return abi.encode(r.publicKeyX, r.publicKeyY, z);
    }

    /// @notice {sign} as the one-element `bytes[]` that appendBatch and the set take.
    function signatures(Key memory k, bytes32 digest) internal returns (bytes[] memory sigs) {
        sigs = new bytes[](1);
        sigs[0] = sign(k, digest);
    }
}
