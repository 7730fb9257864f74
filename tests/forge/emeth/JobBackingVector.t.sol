// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EmethToken} from "../../../contracts/emeth/EmethToken.sol";
import {EmethCore} from "../../../contracts/emeth/EmethCore.sol";
import {MerkleTree} from "../../../contracts/common/MerkleTree.sol";
import {VmJson} from "./TicketVector.t.sol";

/// @notice The one JSON cheatcode this test adds to VmJson.
interface VmJsonBool {
    function parseJsonBool(string calldata json, string calldata key) external pure returns (bool);
}

/// @notice The shared job-backing vector of posted Tickets (tests/vectors/job_backing.json,
///         written by the Python side): Solidity must reproduce each RegisterJob digest (the
///         execution layer's domain), recover the requester from its signature, and reproduce
///         each JobBacking leaf, the SubJob id, the jobsRoot and the leaf proofs.
contract JobBackingVectorTest is Test {
    VmJson internal constant vmj = VmJson(address(uint160(uint256(keccak256("hevm cheat code")))));
    VmJsonBool internal constant vmb = VmJsonBool(address(uint160(uint256(keccak256("hevm cheat code")))));

    EmethCore internal core;
    string internal json;

    function setUp() public {
        EmethToken token = new EmethToken(address(this));
        core = new EmethCore(token, address(this), 10, 10, 5, 1);
        json = vmj.readFile("tests/vectors/job_backing.json");
    }

    function _key(uint256 i, string memory field) internal view returns (string memory) {
        return string.concat(".jobs[", vm.toString(i), "]", field);
    }

    function _backing(uint256 i) internal view returns (EmethCore.JobBacking memory b) {
        b.jobId = bytes16(vmj.parseJsonBytes(json, _key(i, ".jobId")));
        b.requester = vmj.parseJsonAddress(json, _key(i, ".requester"));
        b.fuel = vmj.parseJsonUint(json, _key(i, ".fuel"));
        b.fee = vmj.parseJsonUint(json, _key(i, ".fee"));
        b.part = vmj.parseJsonUint(json, _key(i, ".part"));
        b.registered.jobId = bytes16(vmj.parseJsonBytes(json, _key(i, ".register.jobId")));
        b.registered.requester = vmj.parseJsonAddress(json, _key(i, ".register.requester"));
        b.registered.programIdHash = vmj.parseJsonBytes32(json, _key(i, ".programIdHash"));
        b.registered.datasetKeyHash = vmj.parseJsonBytes32(json, _key(i, ".datasetKeyHash"));
        b.registered.paramsHash = vmj.parseJsonBytes32(json, _key(i, ".paramsHash"));
        b.registered.fee = vmj.parseJsonUint(json, _key(i, ".register.fee"));
        b.registered.timeoutSeconds = vmj.parseJsonUint(json, _key(i, ".register.timeoutSeconds"));
        b.registered.expiresAt = vmj.parseJsonUint(json, _key(i, ".register.expiresAt"));
        b.registered.splittable = vmb.parseJsonBool(json, _key(i, ".register.splittable"));
        b.registerSignature = vmj.parseJsonBytes(json, _key(i, ".registerSignature"));
        b.processedAt = uint64(vmj.parseJsonUint(json, _key(i, ".processedAt")));
    }

    /// @dev The vector's domain (its verifyingContract, not this test's core).
    function _digest(EmethCore.RegisterJob memory r) internal view returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(
                core.EL_DOMAIN_TYPEHASH(),
                keccak256(bytes(vmj.parseJsonString(json, ".domain.name"))),
                keccak256(bytes(vmj.parseJsonString(json, ".domain.version"))),
                vmj.parseJsonUint(json, ".domain.chainId"),
                vmj.parseJsonAddress(json, ".domain.verifyingContract"),
                bytes32(vmj.parseJsonUint(json, ".elId"))
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domain, keccak256(abi.encode(core.REGISTER_JOB_TYPEHASH(), r))));
    }

    /// @custom:invariant Solidity signs, hashes and proves job leaves as the Python side does.
    function test_jobBackingMatchesVector() public view {
        address requester = vmj.parseJsonAddress(json, ".requester");
        bytes32[] memory items = new bytes32[](2);
        for (uint256 i = 0; i < 2; i++) {
            EmethCore.JobBacking memory b = _backing(i);
            bytes32 digest = _digest(b.registered);
            assertEq(digest, vmj.parseJsonBytes32(json, _key(i, ".registerDigest")), "register digest");
            assertEq(ECDSA.recover(digest, b.registerSignature), requester, "requester signed");
            items[i] = core.jobBackingLeaf(b);
            assertEq(items[i], vmj.parseJsonBytes32(json, _key(i, ".leaf")), "leaf");
            if (b.part != 0) {
                assertTrue(core.subJobId(b.registered.jobId, b.part - 1) == b.jobId, "SubJob id");
            }
        }
        bytes32 root = vmj.parseJsonBytes32(json, ".jobsRoot");
        for (uint256 i = 0; i < 2; i++) {
            bytes32[] memory proof = vm.parseJsonBytes32Array(json, _key(i, ".proof"));
            assertTrue(MerkleTree.verify(root, i, items[i], proof), "leaf proof");
        }
        assertEq(MerkleTree.rootOf(items), root, "jobsRoot"); // last: rootOf hashes in place
    }
}
