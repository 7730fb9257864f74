// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProductionFixture} from "./ProductionFixture.sol";
import {LockingPool} from "../../../contracts/staking/LockingPool.sol";
import {BatchHeader} from "../../../contracts/rollup/BatchHeader.sol";

/// @notice Attack 1 (issue #10): a sequencer that cheats and then moves its stake to a new signer
///         key must still be slashed, kicked and rotated out: punishment follows the staker.
contract SlashFollowsStakerTest is ProductionFixture {
    uint256 internal constant ATTACKER_KEY = 0xA11CE;
    uint256 internal constant NEW_KEY = 0xA11CE2;
    address internal attacker;
    address internal newSigner;
    address internal constant VERIFIER = address(0x7E51F1E5);

    function setUp() public override {
        super.setUp();
        attacker = vm.addr(ATTACKER_KEY);
        newSigner = vm.addr(NEW_KEY);
        _stake(attacker, ATTACKER_KEY, MAX_LOCK);
        keyOf[newSigner] = NEW_KEY;
        _makeCurrent(attacker);
        vm.deal(VERIFIER, 1 ether);
    }

    /// @notice Withhold a batch's data, then rotate the key before the request times out.
    function test_signerUpdateDoesNotEscapeSlash() public {
        BatchHeader memory h = _append(1, "withheld");
        vm.prank(VERIFIER);
        da.requestData{value: DA_FEE}(h);
        // The attacker moves its stake to a fresh key while the request is open.
        vm.prank(attacker);
        pool.updateSigner(attacker, newSigner);
        vm.warp(block.timestamp + DATA_WINDOW + 1);
        da.resolveTimeout(h.index);

        LockingPool.Sequencer memory s = pool.sequencer(newSigner);
        assertEq(s.amount, MAX_LOCK - DA_SLASH, "the staker's stake under its new key is slashed");
        assertTrue(s.status == LockingPool.Status.Kicked, "the staker is kicked under its new key");
        assertTrue(sset.currentSequencer() != newSigner, "the slot does not survive under the new key");
        assertTrue(!pool.isActive(newSigner), "the new key is out of the active set");
        assertEq(pool.claimableReward(VERIFIER), DA_SLASH / 2, "the verifier is paid half the slash");
    }

    /// @notice Post a provably wrong summary, then rotate the key before the fraud proof lands.
    function test_signerUpdateDoesNotEscapeFraudSlash() public {
        BatchHeader memory h = _badHeader(sc.nextIndex(), "lie");
        _appendBy(h);
        vm.prank(attacker);
        pool.updateSigner(attacker, newSigner);
        vm.prank(VERIFIER);
        fp.proveBadSummary(h, _finalState("lie"), new bytes32[](0), VERIFIER);

        LockingPool.Sequencer memory s = pool.sequencer(newSigner);
        assertEq(s.amount, MAX_LOCK - FRAUD_SLASH, "the staker's stake under its new key is slashed");
        assertTrue(s.status == LockingPool.Status.Kicked, "the staker is kicked under its new key");
        assertTrue(sset.currentSequencer() != newSigner, "the slot does not survive under the new key");
        assertEq(sc.nextIndex(), h.index, "the bad batch is invalidated");
    }
}
