// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProductionFixture} from "./ProductionFixture.sol";
import {BatchHeader} from "../../../contracts/rollup/BatchHeader.sol";

/// @notice Attack 6 (issue #10), OPEN: a bot copies a verifier's public fraud proof from the
///         mempool, lands it first and takes the challenger's half of the slash. Not fixed yet
///         (a commit-reveal FraudProver.commit / claimReward was drafted but not landed), so the
///         attack is kept here as a demonstration that asserts what the bot gains today; when
///         the fix lands this becomes `test_frontRunnerDoesNotTakeTheReward` asserting zero.
contract ChallengerRewardTest is ProductionFixture {
    address internal constant BOT = address(0xB07);

    function test_openAttack_frontRunnerTakesTheRewardToday() public {
        BatchHeader memory h = _badHeader(sc.nextIndex(), "lie");
        _appendBy(h, _allActive());
        // The bot lands a verifier's proof first (same calldata, higher gas price).
        vm.prank(BOT);
        fp.proveBadSummary(h, _finalState("lie"), new bytes32[](0));
        assertEq(sc.nextIndex(), h.index, "the fraud is punished");
        assertEq(pool.claimableReward(BOT), FRAUD_SLASH / 2, "today the copier is credited the reward");
    }
}
