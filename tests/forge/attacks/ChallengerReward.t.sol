// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProductionFixture} from "./ProductionFixture.sol";
import {FraudProver} from "../../../contracts/rollup/FraudProver.sol";
import {BatchHeader} from "../../../contracts/rollup/BatchHeader.sol";
import {L2StateTransition} from "../../../contracts/rollup/L2StateTransition.sol";

/// @notice Attack 6 (issue #10): a bot copies a verifier's public fraud proof from the mempool,
///         lands it first and takes the challenger's half of the slash. Before the fix the bot
///         was credited FRAUD_SLASH / 2 (commit 13d121a). Now the reward goes only to the
///         `challenger` named in a call whose calldata hash was committed in an earlier block
///         (FraudProver.commit), so the copier gains nothing, whatever it changes.
contract ChallengerRewardTest is ProductionFixture {
    address internal constant BOT = address(0xB07);
    address internal constant VERIFIER = address(0x5E1);

    BatchHeader internal h;

    function setUp() public override {
        super.setUp();
        h = _badHeader(sc.nextIndex(), "lie");
        _appendBy(h);
    }

    function _call(address challenger) internal view returns (bytes memory) {
        return abi.encodeCall(FraudProver.proveBadSummary, (h, _finalState("lie"), new bytes32[](0), challenger));
    }

    function _send(address from, bytes memory data) internal {
        vm.prank(from);
        (bool ok, bytes memory ret) = address(fp).call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    /// @notice The verifier commits, the bot lands the same proof first naming itself: the fraud
    ///         is punished, the bot is credited nothing and the whole slash is burned.
    function test_frontRunnerDoesNotTakeTheReward() public {
        vm.prank(VERIFIER);
        fp.commit(keccak256(_call(VERIFIER)));
        vm.roll(block.number + 1);
        uint256 burnBefore = pool.pendingSlashBurn();

        _send(BOT, _call(BOT));

        assertEq(sc.nextIndex(), h.index, "the fraud is punished");
        assertEq(pool.claimableReward(BOT), 0, "the copier is credited nothing");
        assertEq(pool.claimableReward(VERIFIER), 0, "no reward without the committed call");
        assertEq(pool.pendingSlashBurn() - burnBefore, FRAUD_SLASH, "the whole slash is burned");
    }

    /// @notice A bot that copies the committed call verbatim (higher gas price) pays the verifier.
    function test_verbatimCopyPaysTheCommittedChallenger() public {
        bytes memory data = _call(VERIFIER);
        vm.prank(VERIFIER);
        fp.commit(keccak256(data));
        vm.roll(block.number + 1);

        _send(BOT, data);

        assertEq(pool.claimableReward(BOT), 0, "the copier is credited nothing");
        assertEq(pool.claimableReward(VERIFIER), FRAUD_SLASH / 2, "the committed challenger is paid");
    }

    /// @notice A bot that sees the proof in the mempool and commits in the same block (ahead of
    ///         its own copy) is not paid: the commitment must be from an earlier block.
    function test_sameBlockCommitEarnsNothing() public {
        bytes memory data = _call(BOT);
        vm.prank(BOT);
        fp.commit(keccak256(data));
        _send(BOT, data);

        assertEq(sc.nextIndex(), h.index, "the fraud is punished");
        assertEq(pool.claimableReward(BOT), 0, "a same-block commitment earns nothing");
    }

    /// @notice The honest path: commit, reveal a block later, claim the reward.
    function test_committedChallengerIsPaid() public {
        bytes memory data = _call(VERIFIER);
        vm.prank(VERIFIER);
        fp.commit(keccak256(data));
        vm.roll(block.number + 1);
        address sequencer = sc.batchSequencer(h.index);
        vm.expectEmit(true, true, true, true);
        emit FraudProver.FraudProven(
            h.index, h.txCount, VERIFIER, sequencer, L2StateTransition.Status.Valid, FRAUD_SLASH / 2
        );
        _send(VERIFIER, data);

        vm.prank(VERIFIER);
        assertEq(pool.claimSlashReward(), FRAUD_SLASH / 2, "the verifier claims half the slash");
    }

    /// @notice A commitment is made once: a copy of the commit transaction reverts with its block.
    function test_commitmentIsMadeOnce() public {
        bytes32 c = keccak256(_call(VERIFIER));
        vm.prank(VERIFIER);
        fp.commit(c);
        uint256 at = block.number;
        vm.roll(block.number + 1);
        vm.expectRevert(abi.encodeWithSelector(FraudProver.FraudProverAlreadyCommitted.selector, c, at));
        vm.prank(BOT);
        fp.commit(c);
        assertEq(fp.committedAt(c), at, "the first block stays");
    }
}
