// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProductionFixture, console} from "./ProductionFixture.sol";
import {BatchHeader} from "../../../contracts/rollup/BatchHeader.sol";
import {DataAvailabilityChallenge} from "../../../contracts/rollup/DataAvailabilityChallenge.sol";

/// @notice Attack 7 (issue #10): a spammer opens a data request on every pending batch from fresh
///         addresses. At most one request is open per batch, each bond is paid to the sequencer
///         when its answer matches (the spammer loses it), and finality checks stay O(1) whatever
///         the number of open requests.
contract DataRequestSpamTest is ProductionFixture {
    uint256 internal constant SPAM = 100;

    function _spammer(uint256 i) internal returns (address a) {
        a = address(uint160(0x5BA_0000 + i));
        vm.deal(a, 1 ether);
    }

    /// @notice 100 open requests on later batches: batch 0's finality check costs what it costs
    ///         with none.
    function test_finalityCheckIsConstantWithOpenRequests() public {
        _append(1, "b0");
        vm.warp(block.timestamp + CHALLENGE_WINDOW - 1 hours);
        BatchHeader[] memory hs = new BatchHeader[](SPAM);
        for (uint256 i = 0; i < SPAM; i++) {
            hs[i] = _append(1, bytes32(i + 1));
        }
        vm.warp(block.timestamp + 1 hours + 1);
        uint256 g0 = gasleft();
        assertTrue(sc.isFinalized(0), "batch 0 is final");
        uint256 noneGas = g0 - gasleft();
        for (uint256 i = 0; i < SPAM; i++) {
            vm.prank(_spammer(i));
            da.requestData{value: DA_FEE}(hs[i]);
        }
        g0 = gasleft();
        assertTrue(sc.isFinalized(0), "batch 0 is still final");
        uint256 spamGas = g0 - gasleft();
        console.log("isFinalized gas: no open requests / 100 open", noneGas, spamGas);
        assertLe(spamGas, noneGas + 5_000, "finality check independent of the open requests");
        assertTrue(!sc.isFinalized(SPAM), "the requested batches are held");
    }

    /// @notice A second request on the same batch is refused; the sequencer's matching answer
    ///         earns it the spammer's bond.
    function test_spamBondPaysTheSequencer() public {
        address cur = sset.currentSequencer();
        BatchHeader memory h = _append(1, "answered");
        address s1 = _spammer(1);
        vm.prank(s1);
        da.requestData{value: DA_FEE}(h);
        address s2 = _spammer(2);
        vm.prank(s2);
        vm.expectRevert(
            abi.encodeWithSelector(
                DataAvailabilityChallenge.DataAvailabilityChallengeAlreadyRequested.selector,
                uint256(h.index),
                DataAvailabilityChallenge.RequestStatus.Open
            )
        );
        da.requestData{value: DA_FEE}(h);
        _answer(h, "answered", cur);
        assertEq(da.claimable(cur), DA_FEE, "the sequencer is paid the bond");
        assertEq(da.claimable(s1), 0, "the spammer gets nothing back");
        assertEq(s1.balance, 1 ether - DA_FEE, "the spammer lost its bond");
        assertTrue(!sc.insecureAt(h.index), "the hold ends with the answer");
    }
}
