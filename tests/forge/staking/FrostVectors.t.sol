// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {FrostVerifier} from "../../../contracts/staking/FrostVerifier.sol";

/// @notice RFC 9591 (E.5) and Zcash Foundation vectors of tests/vectors/frost_secp256k1.json
///         against FrostVerifier: each signature verifies, tampered copies do not.
contract FrostVectorsTest is Test {
    string internal json;

    function setUp() public {
        json = vm.readFile("tests/vectors/frost_secp256k1.json");
    }

    function _u(string memory name, string memory field) internal view returns (uint256) {
        return uint256(vm.parseJsonBytes32(json, string.concat(".l1.", name, ".", field)));
    }

    function _b(string memory name, string memory field) internal view returns (bytes memory) {
        return vm.parseJsonBytes(json, string.concat(".l1.", name, ".", field));
    }

    function _check(string memory name) internal view {
        uint256 pkX = _u(name, "pk_x");
        assertEq(vm.parseJsonUint(json, string.concat(".l1.", name, ".pk_y_parity")), 0, "even key");
        bytes memory msg_ = _b(name, "message");
        uint256 rx = _u(name, "r_x");
        uint256 ry = _u(name, "r_y");
        uint256 z = _u(name, "z");
        assertTrue(FrostVerifier.verify(pkX, msg_, rx, ry, z), "vector signature");
        assertTrue(!FrostVerifier.verify(pkX, msg_, rx, ry, _u(name, "bad_z")), "z + 1");
        assertTrue(!FrostVerifier.verify(pkX, _b(name, "bad_message"), rx, ry, z), "other message");
        assertTrue(!FrostVerifier.verify(pkX, msg_, rx, _u(name, "bad_r_y"), z), "-R");
        assertTrue(!FrostVerifier.verify(pkX, msg_, rx, ry + 1, z), "R off the curve");
        assertTrue(!FrostVerifier.verify(pkX, msg_, rx, ry, FrostVerifier.N), "z not reduced");
    }

    function test_rfc9591Vector() public view {
        _check("rfc9591");
    }

    function test_bigIdentifierVector() public view {
        _check("big_identifier");
    }

    /// @notice One verification costs well under 10,000 gas.
    function test_verifyGasBelowTenThousand() public view {
        uint256 pkX = _u("rfc9591", "pk_x");
        bytes memory m = _b("rfc9591", "message");
        (uint256 rx, uint256 ry, uint256 z) = (_u("rfc9591", "r_x"), _u("rfc9591", "r_y"), _u("rfc9591", "z"));
        uint256 g0 = gasleft();
        bool ok = FrostVerifier.verify(pkX, m, rx, ry, z);
        uint256 used = g0 - gasleft();
        assertTrue(ok, "valid");
        assertLe(used, 10_000, "verify gas");
    }

    /// @notice The in-place challenge of a 32-byte digest equals H2 over the packed input.
    function testFuzz_challengeDigestMatchesH2(uint256 pkX, uint256 rx, uint256 ry, bytes32 digest) public view {
        assertEq(
            FrostVerifier.challengeDigest(pkX, rx, ry, digest),
            FrostVerifier.challenge(pkX, rx, ry, abi.encodePacked(digest)),
            "challenge"
        );
    }
}
