// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title FrostVerifier
/// @notice Verifies a FROST(secp256k1, SHA-256) signature (RFC 9591) under a group public key
///         in constant gas, whatever the number of signers behind it.
/// @dev    RFC 9591 verification is `z G == R + c PK` with
///         `c = H2(SerializeElement(R) || SerializeElement(PK) || message)` and
///         H2 = hash_to_field (RFC 9380 expand_message_xmd, SHA-256, 48 bytes, mod n) under the
///         DST "FROST-secp256k1-SHA256-v1chal". The group key is stored by its x coordinate only
///         and must have an even y (the off-chain key generation negates the shares when it
///         does not), so SerializeElement(PK) = 0x02 || x.
///
///         The point check uses the `ecrecover` precompile (the technique of Chainlink's
///         SchnorrSECP256K1 and safe-frost): for r = PK.x, v = 27 (even y),
///         s = -c PK.x and h = -z PK.x (mod n), ecrecover returns the address of
///         r^-1 (s PK - h G) = z G - c PK, which equals R exactly when the signature is valid.
///         R is given uncompressed (x, y) and checked to be on the curve, so comparing the
///         addresses compares the points up to a 160-bit address collision.
library FrostVerifier {
    /// @notice Order of the secp256k1 group.
    uint256 internal constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    /// @notice Field prime of secp256k1.
    uint256 internal constant P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;
    /// @notice H2's domain separation tag and its length byte (DST_prime of RFC 9380).
    bytes internal constant DST_PRIME = "FROST-secp256k1-SHA256-v1chal\x1d";
    /// @notice The same 30 bytes, left-aligned in one word (for {challengeDigest}).
    bytes32 internal constant DST_PRIME_WORD = "FROST-secp256k1-SHA256-v1chal\x1d";

    /// @notice True if (x, y) is a point of secp256k1 (y^2 = x^3 + 7 mod p).
    function isOnCurve(uint256 x, uint256 y) internal pure returns (bool) {
        if (x >= P || y >= P) return false;
        return mulmod(y, y, P) == addmod(mulmod(mulmod(x, x, P), x, P), 7, P);
    }

    /// @notice True if (x, y) can be a group key: on the curve, even y, and x < n (ecrecover
    ///         takes x as its r, which must be below the group order).
    function isValidKey(uint256 x, uint256 y) internal pure returns (bool) {
        return x != 0 && x < N && y & 1 == 0 && isOnCurve(x, y);
    }

    /// @notice H2 of RFC 9591 for secp256k1: expand_message_xmd(input, DST, 48) mod n.
    /// @dev    ell = 2 blocks: b0 = H(Z_pad || input || I2OSP(48, 2) || 0x00 || DST_prime),
    ///         b1 = H(b0 || 0x01 || DST_prime), b2 = H((b0 xor b1) || 0x02 || DST_prime);
    ///         the 48 uniform bytes are b1 || b2[0:16], i.e. the integer b1 * 2^128 + (b2 >> 128).
    function h2(bytes memory input) internal pure returns (uint256) {
        bytes32 b0 = sha256(abi.encodePacked(bytes32(0), bytes32(0), input, uint16(48), uint8(0), DST_PRIME));
        bytes32 b1 = sha256(abi.encodePacked(b0, uint8(1), DST_PRIME));
        bytes32 b2 = sha256(abi.encodePacked(b0 ^ b1, uint8(2), DST_PRIME));
        return addmod(mulmod(uint256(b1), 1 << 128, N), uint256(b2) >> 128, N);
    }

    /// @notice The challenge `c = H2(0x02|0x03 || R.x || 0x02 || PK.x || message)`.
    /// @param pkX     group key x (even y)
    /// @param rx      R.x
    /// @param ry      R.y
    /// @param message signed bytes
    function challenge(uint256 pkX, uint256 rx, uint256 ry, bytes memory message) internal pure returns (uint256) {
        return h2(abi.encodePacked(uint8(2 + (ry & 1)), rx, uint8(2), pkX, message));
    }

    /// @notice {challenge} for a 32-byte message, hashing in place: the same three SHA-256
    ///         blocks as {h2} over `0x02|0x03 || R.x || 0x02 || PK.x || digest`, laid out in
    ///         scratch memory past the free-memory pointer instead of through abi.encodePacked
    ///         (saves about 1,500 gas per batch).
    /// @dev    Layout of b0's input (195 bytes): Z_pad [0, 64) | prefix(R) 64 | R.x [65, 97) |
    ///         0x02 97 | PK.x [98, 130) | digest [130, 162) | I2OSP(48, 2) || 0x00 [162, 165) |
    ///         DST_prime [165, 195). b1 and b2 hash 63 bytes: a word | counter | DST_prime.
    /// @param pkX    group key x (even y)
    /// @param rx     R.x
    /// @param ry     R.y
    /// @param digest the signed 32-byte message
    function challengeDigest(uint256 pkX, uint256 rx, uint256 ry, bytes32 digest) internal view returns (uint256) {
        bytes32 dst = DST_PRIME_WORD;
        uint256 prefix = 2 + (ry & 1);
        bytes32 b1;
        bytes32 b2;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, 0)
            mstore(add(p, 32), 0)
            mstore8(add(p, 64), prefix)
            mstore(add(p, 65), rx)
            mstore8(add(p, 97), 2)
            mstore(add(p, 98), pkX)
            mstore(add(p, 130), digest)
            mstore(add(p, 162), shl(232, 0x003000)) // I2OSP(48, 2) || I2OSP(0, 1)
            mstore(add(p, 165), dst)
            if iszero(staticcall(gas(), 0x02, p, 195, 0x00, 32)) { revert(0, 0) }
            let b0 := mload(0x00)
            mstore(p, b0)
            mstore8(add(p, 32), 1)
            mstore(add(p, 33), dst)
            if iszero(staticcall(gas(), 0x02, p, 63, 0x00, 32)) { revert(0, 0) }
            b1 := mload(0x00)
            mstore(p, xor(b0, b1))
            mstore8(add(p, 32), 2)
            mstore(add(p, 33), dst)
            if iszero(staticcall(gas(), 0x02, p, 63, 0x00, 32)) { revert(0, 0) }
            b2 := mload(0x00)
        }
        return addmod(mulmod(uint256(b1), 1 << 128, N), uint256(b2) >> 128, N);
    }

    /// @notice True if `(R = (rx, ry), z)` is a valid signature of `message` under the key
    ///         with x coordinate `pkX` (even y; see {isValidKey}).
    /// @param pkX     group key x
    /// @param message signed bytes
    /// @param rx      R.x
    /// @param ry      R.y
    /// @param z       the aggregate response
    function verify(uint256 pkX, bytes memory message, uint256 rx, uint256 ry, uint256 z)
        internal
        pure
        returns (bool)
    {
        if (pkX == 0 || pkX >= N || z >= N || !isOnCurve(rx, ry)) return false;
        return _check(pkX, rx, ry, z, challenge(pkX, rx, ry, message));
    }

    /// @notice {verify} over a 96-byte `R.x || R.y || z` signature and a 32-byte digest.
    /// @param pkX       group key x
    /// @param digest    signed 32-byte message
    /// @param signature 96 bytes
    function verifyDigest(uint256 pkX, bytes32 digest, bytes calldata signature) internal view returns (bool) {
        if (signature.length != 96) return false;
        (uint256 rx, uint256 ry, uint256 z) = abi.decode(signature, (uint256, uint256, uint256));
        if (pkX == 0 || pkX >= N || z >= N || !isOnCurve(rx, ry)) return false;
        return _check(pkX, rx, ry, z, challengeDigest(pkX, rx, ry, digest));
    }

    /// @dev `z G - c PK == R` through ecrecover (see the contract notes).
    function _check(uint256 pkX, uint256 rx, uint256 ry, uint256 z, uint256 c) private pure returns (bool) {
        uint256 cx = mulmod(c, pkX, N);
        if (cx == 0) return false; // ecrecover needs s in [1, n-1]
        // ecrecover(h, 27, PK.x, s) = PK.x^-1 (s PK - h G) with s = -c PK.x, h = -z PK.x.
        bytes32 h = bytes32((N - mulmod(z, pkX, N)) % N);
        address q = ecrecover(h, 27, bytes32(pkX), bytes32(N - cx));
        return q != address(0) && q == address(uint160(uint256(keccak256(abi.encodePacked(rx, ry)))));
    }
}
