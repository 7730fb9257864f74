// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EmethCore} from "../../../contracts/emeth/EmethCore.sol";
import {EmethBase} from "./EmethCore.t.sol";

/// @notice Cheap at scale (issue #16): settling a Ticket must not cost one storage write per
///         distinct requester. 100 jobs from 100 requesters must settle for <= 3,000 gas a job.
contract EmethScaleTest is EmethBase {
    uint256 internal constant JOBS = 100;

    function setUp() public {
        _deploy();
    }

    /// @custom:invariant A 100-job Ticket from 100 distinct requesters settles for <= 300,000 gas.
    function test_hundredRequestersSettleCheaply() public {
        address[] memory who = new address[](JOBS);
        uint256[] memory amounts = new uint256[](JOBS);
        for (uint256 i = 0; i < JOBS; i++) {
            who[i] = address(uint160(0x10000 + i));
            amounts[i] = 1e16;
            _fund(who[i]);
            vm.prank(who[i]);
            core.deposit(1e18);
        }
        EmethCore.Ticket memory t = _ticket(1, nodes[0], who, amounts, 0);
        bytes memory sig = _sign(t);
        uint256 before = gasleft();
        core.settleTicket(t, sig);
        uint256 used = before - gasleft();
        assertLe(used, 3_000 * JOBS, "settlement gas for 100 requesters");
    }
}
