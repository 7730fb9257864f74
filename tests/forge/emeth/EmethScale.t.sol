// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EmethCore} from "../../../contracts/emeth/EmethCore.sol";
import {EmethBase} from "./EmethCore.t.sol";

/// @notice Cheap at scale (issue #16): settling a Ticket must not cost one storage write per
///         distinct requester. 100 jobs from 100 requesters must settle for <= 3,000 gas a job,
///         and a requester's withdrawal with a lazy-balance proof for <= 120,000 gas.
contract EmethScaleTest is EmethBase {
    uint256 internal constant JOBS = 100;

    address[] internal who;

    function setUp() public {
        _deploy();
        uint256[] memory amounts = new uint256[](JOBS);
        for (uint256 i = 0; i < JOBS; i++) {
            who.push(address(uint160(0x10000 + i)));
            amounts[i] = 1e16;
            _fund(who[i]);
            vm.prank(who[i]);
            core.deposit(1e18);
        }
    }

    function _hundred(uint256 id) internal returns (EmethCore.Ticket memory t) {
        uint256[] memory amounts = new uint256[](JOBS);
        for (uint256 i = 0; i < JOBS; i++) {
            amounts[i] = 1e16;
        }
        t = _ticket(id, nodes[0], who, amounts, 0);
    }

    /// @custom:invariant A 100-job Ticket from 100 distinct requesters settles for <= 300,000 gas.
    function test_hundredRequestersSettleCheaply() public {
        EmethCore.Ticket memory t = _hundred(1);
        bytes memory sig = _sign(t);
        uint256 before = gasleft();
        core.settleTicket(t, sig);
        uint256 used = before - gasleft();
        assertLe(used, 3_000 * JOBS, "settlement gas for 100 requesters");
    }

    /// @custom:invariant Each of 100 requesters in one Ticket proves its own debit and withdraws
    ///                   exactly its deposit less its debit; the pool ends holding nothing of theirs.
    function test_everyRequesterWithdrawsItsLazyBalance() public {
        EmethCore.Ticket memory t = _hundred(1);
        core.settleTicket(t, _sign(t));
        for (uint256 i = 0; i < JOBS; i++) {
            vm.prank(who[i]);
            core.requestWithdrawal(1e18 - 1e16, _newestProofs(who[i]));
        }
        vm.warp(block.timestamp + 100);
        for (uint256 i = 0; i < JOBS; i++) {
            uint256 before = token.balanceOf(who[i]);
            vm.prank(who[i]);
            core.withdraw(_none());
            assertEq(token.balanceOf(who[i]) - before, 1e18 - 1e16, "lazy balance withdrawn");
        }
        assertEq(token.balanceOf(address(core)), 0, "pool empty: every debit was paid to the node");
    }
}
