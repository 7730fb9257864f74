// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title BlobOpening
/// @notice Proves one 32-byte field element of an EIP-4844 blob against the blob's versioned hash
///         with a KZG opening, through the point-evaluation precompile (address 0x0a, 50,000 gas).
/// @dev    Element `j` of a blob is the blob polynomial's value at `ω^bitrev12(j)`, with `ω` the
///         primitive 4096th root of unity of the BLS12-381 scalar field (`7^((r-1)/4096) mod r`)
///         and the domain in bit-reversed order (EIP-4844, consensus-specs "polynomial-commitments").
library BlobOpening {
    /// @notice One element of blob `blob` of a batch: `y` = element `element`, with the blob's KZG
    ///         commitment and the opening proof at that element's domain point (48 bytes each).
    struct Opening {
        uint256 blob;
        uint256 element;
        bytes32 y;
        bytes commitment;
        bytes proof;
    }

    /// @notice Field elements per blob.
    uint256 internal constant FIELD_ELEMENTS = 4096;
    /// @notice BLS12-381 scalar field modulus (the precompile's BLS_MODULUS).
    uint256 internal constant BLS_MODULUS = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001;
    /// @notice Primitive 4096th root of unity of the scalar field.
    uint256 internal constant ROOT_OF_UNITY = 0x564c0a11a0f704f4fc3e8acfe0f8245f0ad1347b378fbf96e206da11a5d36306;
    /// @notice The point-evaluation precompile (EIP-4844).
    address internal constant POINT_EVALUATION = address(0x0a);

    /// @notice The domain point of element `element`: `ω^bitrev12(element)`.
    function domainPoint(uint256 element) internal pure returns (uint256 z) {
        uint256 e = 0;
        for (uint256 i = 0; i < 12; i++) {
            e = (e << 1) | ((element >> i) & 1);
        }
        z = 1;
        uint256 base = ROOT_OF_UNITY;
        while (e != 0) {
            if (e & 1 == 1) z = mulmod(z, base, BLS_MODULUS);
            base = mulmod(base, base, BLS_MODULUS);
            e >>= 1;
        }
    }

    /// @notice True iff `o` proves that element `o.element` of the blob with versioned hash
    ///         `versionedHash` is `o.y` (false for an element index past the blob, a `y` not
    ///         below the modulus, malformed points, or a proof that does not verify).
    function verify(bytes32 versionedHash, Opening calldata o) internal view returns (bool) {
        if (o.element >= FIELD_ELEMENTS || uint256(o.y) >= BLS_MODULUS) return false;
        if (o.commitment.length != 48 || o.proof.length != 48) return false;
        bytes memory input =
            abi.encodePacked(versionedHash, domainPoint(o.element), o.y, o.commitment, o.proof);
        (bool ok, bytes memory out) = POINT_EVALUATION.staticcall(input);
        return ok && out.length == 64 && uint256(bytes32(out)) == FIELD_ELEMENTS;
    }
}
