// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, console} from "../utils/Test.sol";
import {ProductionFixture} from "../attacks/ProductionFixture.sol";
import {FraudProver} from "../../../contracts/rollup/FraudProver.sol";
import {BatchHeader} from "../../../contracts/rollup/BatchHeader.sol";

/// @notice Drives the production FraudProver (ProductionFixture) with fraudulent batches (bad
///         summaries), commitments by random actors to proof calls naming random challengers,
///         new blocks, and proofs sent by random actors naming random challengers (copies of a
///         committed call, or calls nobody committed). Its model: the challenger named in a
///         proof is credited half the slash iff that exact calldata was committed in an earlier
///         block; otherwise the whole slash is burned; a batch is punished once.
contract FraudProverHandler is ProductionFixture {
    BatchHeader internal _pending;
    bool public hasPending;
    uint256 internal _salt;
    uint256 internal _nextKey = 100;
    address internal _lastCommitted; // challenger of the pending batch's latest commitment
    /// @notice Block of the model's first commitment of each calldata hash.
    mapping(bytes32 commitment => uint256 blockNumber) public modelCommittedAt;

    uint256 public ghost_unearnedRewards; // rewards to a challenger without an earlier commitment
    uint256 public ghost_missedRewards; // committed earlier, not credited half the slash
    uint256 public ghost_slashNotConserved; // reward + burn != slash
    uint256 public ghost_doublePunish; // a punished batch proven again
    uint256 public n_appended;
    uint256 public n_committed;
    uint256 public n_provenPaid;
    uint256 public n_provenBurned;
    uint256 public n_sameBlock;

    constructor() {
        setUp();
    }

    function _actor(uint256 seed) internal pure returns (address) {
        return address(uint160(0xC0DE00 + (seed % 5)));
    }

    function _call(address challenger) internal view returns (bytes memory) {
        return abi.encodeCall(
            FraudProver.proveBadSummary, (_pending, _finalState(bytes32(_salt)), new bytes32[](0), challenger)
        );
    }

    /// @notice The current sequencer appends a fraudulent batch (after a fresh staker joins if
    ///         the set got small).
    function appendBad() external {
        if (hasPending) return;
        if (pool.activeCount() < 3) {
            _stake(vm.addr(_nextKey), _nextKey, MAX_LOCK);
            _nextKey++;
        }
        if (sset.currentSequencer() == address(0)) sset.advanceEpoch();
        _salt++;
        _pending = _badHeader(sc.nextIndex(), bytes32(_salt));
        _appendBy(_pending);
        hasPending = true;
        _lastCommitted = address(0);
        n_appended++;
    }

    /// @notice `actor` commits to the proof call naming `challenger`.
    function commit(uint256 actor, uint256 challenger) external {
        if (!hasPending) return;
        bytes32 c = keccak256(_call(_actor(challenger)));
        if (modelCommittedAt[c] != 0) return;
        vm.prank(_actor(actor));
        fp.commit(c);
        modelCommittedAt[c] = block.number;
        _lastCommitted = _actor(challenger);
        n_committed++;
    }

    function roll(uint256 blocks) external {
        vm.roll(block.number + bound(blocks, 1, 3));
    }

    /// @notice `actor` sends the proof naming `challenger` (half the time the challenger of the
    ///         latest commitment: the committed call or its copy); checks the reward.
    function prove(uint256 actor, uint256 challenger) external {
        if (!hasPending) return;
        address who = challenger % 2 == 0 && _lastCommitted != address(0) ? _lastCommitted : _actor(challenger);
        bytes memory data = _call(who);
        uint256 at = modelCommittedAt[keccak256(data)];
        bool earned = at != 0 && at < block.number;
        if (at == block.number) n_sameBlock++;
        uint256 rewardBefore = pool.claimableReward(who);
        uint256 burnBefore = pool.pendingSlashBurn();
        vm.prank(_actor(actor));
        (bool ok,) = address(fp).call(data);
        if (!ok) return;
        uint256 reward = pool.claimableReward(who) - rewardBefore;
        uint256 burned = pool.pendingSlashBurn() - burnBefore;
        if (reward != 0 && !earned) ghost_unearnedRewards++;
        if (earned && reward != FRAUD_SLASH / 2) ghost_missedRewards++;
        if (reward + burned != FRAUD_SLASH) ghost_slashNotConserved++;
        if (earned) n_provenPaid++;
        else n_provenBurned++;
        // The batch is gone: proving it again is refused.
        vm.prank(_actor(actor ^ 1));
        (bool again,) = address(fp).call(data);
        if (again) ghost_doublePunish++;
        hasPending = false;
    }

    function printCounts() external view {
        console.log("fraudulent batches", n_appended);
        console.log("commitments", n_committed);
        console.log("proven, challenger paid", n_provenPaid);
        console.log("proven, slash burned", n_provenBurned);
        console.log("proofs in the commitment's block", n_sameBlock);
    }
}

/// @notice Invariants of FraudProver's commit-then-prove rewards (issue #10, attack 6).
contract FraudProverInvariantsTest is Test {
    FraudProverHandler internal h;

    function setUp() public {
        h = new FraudProverHandler();
        targetContract(address(h));
        bytes4[] memory s = new bytes4[](5);
        s[0] = FraudProverHandler.appendBad.selector;
        s[1] = FraudProverHandler.commit.selector;
        s[2] = FraudProverHandler.commit.selector;
        s[3] = FraudProverHandler.roll.selector;
        s[4] = FraudProverHandler.prove.selector;
        targetSelector(FuzzSelector(address(h), s));
    }

    function afterInvariant() external view {
        h.printCounts();
    }

    /// @notice The handler reaches both outcomes: a committed challenger paid, a copier's proof
    ///         with the slash burned, and a proof in the commitment's own block (burned).
    function test_handlerReachesPaidBurnedAndSameBlock() public {
        h.appendBad();
        h.commit(0, 1);
        h.roll(1);
        h.prove(2, 1); // the committed challenger, an earlier block: paid
        h.appendBad();
        h.commit(0, 3);
        h.prove(1, 3); // committed in this very block: burned
        h.appendBad();
        h.prove(0, 4); // nobody committed: burned
        assertEq(h.n_provenPaid(), 1, "paid");
        assertEq(h.n_provenBurned(), 2, "burned");
        assertEq(h.n_sameBlock(), 1, "same block");
        invariant_rewardOnlyToEarlierCommitment();
        invariant_slashIsRewardPlusBurn();
        invariant_punishedOnce();
    }

    /// @custom:invariant Only a challenger whose exact proof call was committed in an earlier
    ///                   block is credited, and it is credited half the slash.
    function invariant_rewardOnlyToEarlierCommitment() public view {
        assertEq(h.ghost_unearnedRewards(), 0, "a reward without an earlier commitment");
        assertEq(h.ghost_missedRewards(), 0, "a committed challenger was not paid");
    }

    /// @custom:invariant Every proven fraud slashes exactly the slash amount: reward + burn.
    function invariant_slashIsRewardPlusBurn() public view {
        assertEq(h.ghost_slashNotConserved(), 0, "reward + burn != slash");
    }

    /// @custom:invariant A punished batch cannot be proven again.
    function invariant_punishedOnce() public view {
        assertEq(h.ghost_doublePunish(), 0, "a batch was punished twice");
    }
}
