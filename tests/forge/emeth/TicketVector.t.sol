// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EmethToken} from "../../../contracts/emeth/EmethToken.sol";
import {EmethCore} from "../../../contracts/emeth/EmethCore.sol";
import {MerkleTree} from "../../../contracts/common/MerkleTree.sol";

/// @notice The JSON cheatcodes this test needs (not in the shared minimal Vm interface).
interface VmJson {
    function readFile(string calldata path) external view returns (string memory);
    function parseJsonUint(string calldata json, string calldata key) external pure returns (uint256);
    function parseJsonAddress(string calldata json, string calldata key) external pure returns (address);
    function parseJsonBytes32(string calldata json, string calldata key) external pure returns (bytes32);
    function parseJsonBytes(string calldata json, string calldata key) external pure returns (bytes memory);
    function parseJsonString(string calldata json, string calldata key) external pure returns (string memory);
}

/// @notice The shared EIP-712 Ticket vector (tests/vectors/ticket.json, written by the Python
///         side): Solidity must reproduce every hash in it and recover its signer.
contract TicketVectorTest is Test {
    VmJson internal constant vmj = VmJson(address(uint160(uint256(keccak256("hevm cheat code")))));
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    EmethCore internal core;
    string internal json;

    function setUp() public {
        EmethToken token = new EmethToken(address(this));
        core = new EmethCore(token, address(this), 10, 10, 5, 1);
        json = vmj.readFile("tests/vectors/ticket.json");
    }

    function _ticket() internal view returns (EmethCore.Ticket memory t) {
        t.ticketId = vmj.parseJsonUint(json, ".ticket.ticketId");
        t.node = vmj.parseJsonAddress(json, ".ticket.node");
        t.jobsRoot = vmj.parseJsonBytes32(json, ".ticket.jobsRoot");
        t.jobCount = vmj.parseJsonUint(json, ".ticket.jobCount");
        t.fuel = vmj.parseJsonUint(json, ".ticket.fuel");
        t.penalty = vmj.parseJsonUint(json, ".ticket.penalty");
        t.debitsRoot = vmj.parseJsonBytes32(json, ".ticket.debitsRoot");
        t.debitCount = vmj.parseJsonUint(json, ".ticket.debitCount");
        t.totalDebit = vmj.parseJsonUint(json, ".ticket.totalDebit");
        t.validUntil = uint64(vmj.parseJsonUint(json, ".ticket.validUntil"));
    }

    function _domainSeparator(uint256 chainId, address verifying) internal pure returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("EmethCore"), keccak256("1"), chainId, verifying));
    }

    /// @custom:invariant Solidity's type hashes, hashStruct, domain separator and digest equal the vector's.
    function test_digestMatchesVector() public view {
        EmethCore.Ticket memory t = _ticket();
        assertEq(core.TICKET_TYPEHASH(), vmj.parseJsonBytes32(json, ".ticketTypehash"), "ticket typehash");
        bytes32 structHash = core.hashTicket(t);
        assertEq(structHash, vmj.parseJsonBytes32(json, ".hashStruct"), "hashStruct");
        bytes32 ds = _domainSeparator(
            vmj.parseJsonUint(json, ".domain.chainId"), vmj.parseJsonAddress(json, ".domain.verifyingContract")
        );
        assertEq(ds, vmj.parseJsonBytes32(json, ".domainSeparator"), "domain separator");
        bytes32 digest = keccak256(abi.encodePacked(hex"1901", ds, structHash));
        assertEq(digest, vmj.parseJsonBytes32(json, ".digest"), "digest");
        address signer = ECDSA.recover(digest, vmj.parseJsonBytes(json, ".signature"));
        assertEq(signer, vmj.parseJsonAddress(json, ".signer"), "signer");
        // The deployed contract's digest follows the same formula with its own chain and address.
        bytes32 local = keccak256(abi.encodePacked(hex"1901", _domainSeparator(block.chainid, address(core)), structHash));
        assertEq(core.ticketDigest(t), local, "ticketDigest");
        assertEq(core.domainSeparator(), _domainSeparator(block.chainid, address(core)), "domainSeparator()");
    }

    /// @custom:invariant Job leaves and their Merkle root equal the vector's.
    function test_jobLeavesAndRootMatchVector() public view {
        bytes32[] memory leaves = new bytes32[](3);
        for (uint256 i = 0; i < 3; i++) {
            string memory p = string.concat(".jobs[", vm.toString(i), "]");
            bytes32 leaf = core.jobLeaf(
                bytes16(vmj.parseJsonBytes(json, string.concat(p, ".jobId"))),
                vmj.parseJsonAddress(json, string.concat(p, ".requester")),
                vmj.parseJsonAddress(json, string.concat(p, ".node")),
                vmj.parseJsonUint(json, string.concat(p, ".fuel")),
                vmj.parseJsonUint(json, string.concat(p, ".fee"))
            );
            assertEq(leaf, vmj.parseJsonBytes32(json, string.concat(p, ".leaf")), "leaf");
            leaves[i] = leaf;
        }
        assertEq(MerkleTree.rootOf(leaves), vmj.parseJsonBytes32(json, ".ticket.jobsRoot"), "jobsRoot");
    }

    /// @custom:invariant Debit leaves, their root and their proofs equal the vector's, and each
    ///                   proof verifies against debitsRoot.
    function test_debitLeavesRootAndProofsMatchVector() public view {
        uint256 n = vmj.parseJsonUint(json, ".ticket.debitCount");
        bytes32 root = vmj.parseJsonBytes32(json, ".ticket.debitsRoot");
        bytes32[] memory leaves = new bytes32[](n);
        uint256 total = 0;
        for (uint256 i = 0; i < n; i++) {
            string memory d = string.concat(".ticket.debits[", vm.toString(i), "]");
            string memory l = string.concat(".debitLeaves[", vm.toString(i), "]");
            bytes32 leaf = core.debitLeaf(
                vmj.parseJsonAddress(json, string.concat(d, ".requester")),
                vmj.parseJsonUint(json, string.concat(d, ".cumulative")),
                vmj.parseJsonUint(json, string.concat(d, ".prevTicketId"))
            );
            assertEq(leaf, vmj.parseJsonBytes32(json, string.concat(l, ".leaf")), "debit leaf");
            leaves[i] = leaf;
            total += vmj.parseJsonUint(json, string.concat(d, ".amount"));
            bytes32[] memory proof = vm.parseJsonBytes32Array(json, string.concat(l, ".proof.proof"));
            uint256 index = vmj.parseJsonUint(json, string.concat(l, ".proof.index"));
            assertTrue(MerkleTree.verify(root, index, leaf, proof), "proof verifies");
        }
        assertEq(MerkleTree.rootOf(leaves), root, "debitsRoot");
        assertEq(total, vmj.parseJsonUint(json, ".ticket.totalDebit"), "totalDebit");
    }
}
