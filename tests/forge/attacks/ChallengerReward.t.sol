// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProductionFixture} from "./ProductionFixture.sol";
import {BatchHeader} from "../../../contracts/rollup/BatchHeader.sol";

/// @notice Attack 6 (issue #10): a bot copies a verifier's public fraud proof from the mempool,
///         lands it first and takes the challenger's half of the slash. The reward must go to
///         whoever committed to the proof in an earlier block.
contract ChallengerRewardTest is ProductionFixture {
    address internal constant VERIFIER = address(0x7E51F1E5);
    address internal constant BOT = address(0xB07);

    function test_frontRunnerDoesNotTakeTheReward() public {
        BatchHeader memory h = _badHeader(sc.nextIndex(), "lie");
        _appendBy(h, _allActive());
        // The bot lands the verifier's proof first (same calldata, higher gas price).
        vm.prank(BOT);
        fp.proveBadSummary(h, _finalState("lie"), new bytes32[](0));
        assertEq(sc.nextIndex(), h.index, "the fraud is still punished");
        assertEq(pool.claimableReward(BOT), 0, "the copier is paid nothing");
    }
}
