// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, console} from "../utils/Test.sol";
import {L2KitToken} from "../../../contracts/staking/L2KitToken.sol";
import {LockingPool} from "../../../contracts/staking/LockingPool.sol";
import {SequencerSet} from "../../../contracts/staking/SequencerSet.sol";
import {IDepositQueue} from "../../../contracts/bridge/IDepositQueue.sol";

/// @notice Drives LockingPool + SequencerSet with random actions from a fixed set of actors and
///         keeps an independent model of what each action must do (stakes, statuses, the exit
///         cap, the set-size cap, slash shares, rewards, wallets), computed from the sequence of
///         actions and the pool's parameters, never read back from the pool. Every action either
///         succeeds as the model predicts or reverts with the custom error the model predicts
///         (checked with `expectRevert`); the invariant functions run with `fail-on-revert`, so
///         a failed check inside an action fails the run.
contract StakingHandler is Test {
    enum St {
        None,
        Active,
        Exiting,
        Kicked,
        Withdrawn
    }

    L2KitToken public token;
    LockingPool public pool;
    SequencerSet public sset;
    bool public immutable allowKicks;

    address[] public actors;
    uint256 public constant MIN = 20_000 ether;
    uint256 public constant MAX = 100_000 ether;
    uint256 public constant DELAY = 100;
    uint256 public constant MAX_SEQUENCERS = 10;
    uint256 public constant REWARD_PER_BLOCK = 1 ether;
    uint256 public constant BENEFICIARY_BPS = 5_000;
    uint256 public constant RESERVE = 1_000_000 ether;
    address public constant BENEFICIARY = address(0xBEEF);

    // ------------------------------------------------------------- the model
    mapping(address => St) public mStatus;
    mapping(address => uint256) public mStake;
    mapping(address => uint256) public mReward;
    mapping(address => uint256) public mUnlock;
    mapping(address => uint256) public mWallet; // tokens the actor must hold
    uint256 public mActive;
    uint256 public mExiting;
    uint256 public mLocked; // sum of the stakes of Active, Exiting and Kicked sequencers
    uint256 public mReserve = RESERVE;
    uint256 public mRewardsOwed;
    uint256 public mSlashed;
    uint256 public mSlashPaid;
    uint256 public mSlashBurned;
    uint256 public mCredit; // the beneficiary's claimable slash reward
    uint256 public mBeneficiaryWallet;
    uint256 public mFlushed;
    uint256 public mMinted;
    uint256 public ghost_badSelections; // rotations that picked a sequencer the model says is not active

    // ------------------------------------------------------------- success counts
    uint256 public n_lock;
    uint256 public n_setFullRefused;
    uint256 public n_relock;
    uint256 public n_unlockInit;
    uint256 public n_exitCapRefused;
    uint256 public n_unlockClaim;
    uint256 public n_slash;
    uint256 public n_slashToZero;
    uint256 public n_kickExiting;
    uint256 public n_kick;
    uint256 public n_punish;
    uint256 public n_rotate;
    uint256 public n_recordBatch;
    uint256 public n_claimSlashReward;
    uint256 public n_burnSlashed;
    uint256 public n_withdrawRewards;
    uint256 public maxActive;
    uint256 public maxExiting; // most sequencers exiting at once

    constructor(bool allowKicks_) {
        allowKicks = allowKicks_;
        token = new L2KitToken("T", "T", address(this));
        LockingPool.Params memory p = LockingPool.Params({
            minLock: MIN,
            maxLock: MAX,
            maxSequencers: MAX_SEQUENCERS,
            withdrawalDelay: DELAY,
            signerUpdateInterval: 10,
            rewardPerBlock: REWARD_PER_BLOCK,
            slashBeneficiaryBps: BENEFICIARY_BPS
        });
        pool = new LockingPool(token, p, address(this));
        sset = new SequencerSet(pool, 50, 5, address(this));
        pool.setSequencerSet(address(sset));
        sset.setRollup(address(this), true);
        for (uint256 i = 1; i <= 12; i++) actors.push(vm.addr(i)); // more actors than seats
        _mint(address(this), RESERVE);
        token.approve(address(pool), type(uint256).max);
        pool.fundRewards(RESERVE);
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function _mint(address to, uint256 amount) internal {
        token.mint(to, amount);
        mMinted += amount;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    /// The first actor from `seed` on (cyclically) the model has in status `st`, or zero.
    function _find(uint256 seed, St st) internal view returns (address) {
        uint256 start = seed % actors.length;
        for (uint256 i = 0; i < actors.length; i++) {
            address a = actors[(start + i) % actors.length];
            if (mStatus[a] == st) return a;
        }
        return address(0);
    }

    function _checkCurrent() internal {
        address cur = sset.currentSequencer();
        if (cur != address(0) && mStatus[cur] != St.Active) ghost_badSelections += 1;
        if (cur == address(0) && mActive > 0 && sset.epochInfo().epoch > 0) ghost_badSelections += 1;
    }

    function _track() internal {
        if (mActive > maxActive) maxActive = mActive;
        if (mExiting > maxExiting) maxExiting = mExiting;
    }

    /// Model of `LockingPool.slash`: capped at the stake, the beneficiary's share credited.
    function _slashModel(address a, uint256 amount) internal {
        uint256 slashed = amount < mStake[a] ? amount : mStake[a];
        uint256 paid = (slashed * BENEFICIARY_BPS) / 10_000;
        mStake[a] -= slashed;
        mLocked -= slashed;
        mSlashed += slashed;
        mSlashPaid += paid;
        mSlashBurned += slashed - paid;
        mCredit += paid;
        if (mStake[a] == 0) n_slashToZero += 1;
    }

    /// Model of `LockingPool.kick` on an Active or Exiting sequencer.
    function _kickModel(address a) internal {
        if (mStatus[a] == St.Active) {
            mActive -= 1;
            mUnlock[a] = block.timestamp + DELAY;
        } else {
            mExiting -= 1; // keeps its unlock time
            n_kickExiting += 1;
        }
        mStatus[a] = St.Kicked;
    }

    // ------------------------------------------------------------- actions
    /// Lock up to three new sequencers at once (so sets of 6+ and several exits are reached);
    /// past `MAX_SEQUENCERS` active the pool must refuse with `LockingPoolSetFull`.
    function lock(uint256 seed, uint256 amount, uint256 count) external {
        count = bound(count, 1, 3);
        for (uint256 k = 0; k < count; k++) {
            address a = _find(seed % 1024 + k, St.None);
            if (a == address(0)) return;
            uint256 amt = bound(uint256(keccak256(abi.encode(amount, k))), MIN, MAX);
            _mint(a, amt);
            vm.startPrank(a);
            token.approve(address(pool), amt);
            if (mActive >= MAX_SEQUENCERS) {
                vm.expectRevert(
                    abi.encodeWithSelector(LockingPool.LockingPoolSetFull.selector, mActive, MAX_SEQUENCERS)
                );
                pool.lock(a, amt);
                vm.stopPrank();
                n_setFullRefused += 1;
                mWallet[a] += amt; // the minted tokens stay in the wallet
                return;
            }
            pool.lock(a, amt);
            vm.stopPrank();
            mStatus[a] = St.Active;
            mStake[a] = amt;
            mActive += 1;
            mLocked += amt;
            n_lock += 1;
            _track();
            if (sset.currentSequencer() == address(0)) {
                sset.advanceEpoch();
                n_rotate += 1;
            }
            _checkCurrent();
        }
    }

    function relock(uint256 seed, uint256 amount, bool compound) external {
        address a = _find(seed, St.Active);
        if (a == address(0)) return;
        uint256 room = MAX - mStake[a];
        uint256 reward = compound ? mReward[a] : 0;
        if (reward > room) return;
        amount = bound(amount, 0, room - reward);
        if (amount + reward == 0) return;
        _mint(a, amount);
        vm.startPrank(a);
        token.approve(address(pool), amount);
        pool.relock(a, amount, compound);
        vm.stopPrank();
        mStake[a] += amount + reward;
        mLocked += amount + reward;
        mReward[a] -= reward;
        mRewardsOwed -= reward;
        n_relock += 1;
    }

    /// Exit one sequencer, or several in a row (`count`): each is allowed iff after it
    /// exiting * 3 <= active + exiting, else `LockingPoolTooManyExiting(exiting, total)`.
    function unlockInit(uint256 seed, uint256 count) external {
        count = bound(count, 1, 3);
        for (uint256 k = 0; k < count; k++) {
            address a = _find(seed % 1024 + k, St.Active);
            if (a == address(0)) return;
            uint256 total = mActive + mExiting;
            vm.prank(a);
            if ((mExiting + 1) * 3 > total) {
                vm.expectRevert(
                    abi.encodeWithSelector(LockingPool.LockingPoolTooManyExiting.selector, mExiting, total)
                );
                pool.unlockInit(a);
                n_exitCapRefused += 1;
                return;
            }
            pool.unlockInit(a);
            mStatus[a] = St.Exiting;
            mActive -= 1;
            mExiting += 1;
            mUnlock[a] = block.timestamp + DELAY;
            n_unlockInit += 1;
            _track();
            _checkCurrent();
        }
    }

    function unlockClaim(uint256 seed, bool early) external {
        address a = _find(seed, St.Exiting);
        if (a == address(0)) a = _find(seed, St.Kicked);
        if (a == address(0)) return;
        if (early && block.timestamp < mUnlock[a]) {
            vm.prank(a);
            vm.expectRevert(
                abi.encodeWithSelector(
                    LockingPool.LockingPoolWithdrawalDelayNotOver.selector, a, mUnlock[a], block.timestamp
                )
            );
            pool.unlockClaim(a);
            return;
        }
        if (block.timestamp < mUnlock[a]) vm.warp(mUnlock[a]);
        vm.prank(a);
        pool.unlockClaim(a);
        if (mStatus[a] == St.Exiting) mExiting -= 1;
        mStatus[a] = St.Withdrawn;
        mLocked -= mStake[a];
        mRewardsOwed -= mReward[a];
        mWallet[a] += mStake[a] + mReward[a];
        mStake[a] = 0;
        mReward[a] = 0;
        n_unlockClaim += 1;
    }

    function slash(uint256 actorSeed, uint256 amount) external {
        address a = _actor(actorSeed);
        amount = bound(amount, 0, MAX * 2);
        St st = mStatus[a];
        if (st == St.None || st == St.Withdrawn) {
            vm.expectRevert(
                abi.encodeWithSelector(LockingPool.LockingPoolWrongStatus.selector, a, LockingPool.Status(uint8(st)))
            );
            pool.slash(a, amount, BENEFICIARY);
            return;
        }
        uint256 wallet = token.balanceOf(BENEFICIARY);
        pool.slash(a, amount, BENEFICIARY);
        _slashModel(a, amount);
        assertEq(token.balanceOf(BENEFICIARY), wallet, "slash moved tokens (pull pattern)");
        n_slash += 1;
    }

    function kick(uint256 seed) external {
        if (!allowKicks) return;
        address a = _find(seed, (seed >> 8) % 2 == 0 ? St.Active : St.Exiting);
        if (a == address(0)) return;
        pool.kick(a);
        _kickModel(a);
        n_kick += 1;
        _checkCurrent();
    }

    function punish(uint256 amount) external {
        if (!allowKicks) return;
        address cur = sset.currentSequencer();
        if (cur == address(0)) return;
        amount = bound(amount, 0, MAX);
        sset.punish(cur, amount, BENEFICIARY);
        _slashModel(cur, amount);
        _kickModel(cur);
        n_punish += 1;
        _checkCurrent();
    }

    function advanceEpoch(uint256 blocks) external {
        if (mActive == 0) return;
        vm.warp(block.timestamp + 51);
        vm.roll(block.number + bound(blocks, 1, 300));
        sset.advanceEpoch();
        n_rotate += 1;
        _checkCurrent();
    }

    function reselect(uint256 blocks) external {
        if (sset.currentSequencer() == address(0)) return;
        vm.warp(block.timestamp + 6);
        vm.roll(block.number + bound(blocks, 1, 300));
        sset.reselect();
        n_rotate += 1;
        _checkCurrent();
    }

    /// A batch of the current sequencer: rewarded `min(L1 blocks since its last reward, cap)`
    /// times the reward per block, capped at the reserve.
    function recordBatch(uint256 blocks) external {
        address cur = sset.currentSequencer();
        if (cur == address(0)) return;
        vm.roll(block.number + bound(blocks, 0, 30));
        uint256 l1Blocks = block.number - sset.epochInfo().lastRewardBlock;
        if (l1Blocks > sset.rewardCapBlocks()) l1Blocks = sset.rewardCapBlocks();
        uint256 reward = l1Blocks * REWARD_PER_BLOCK;
        if (reward > mReserve) reward = mReserve;
        sset.recordBatch(cur, 1, 0);
        mReserve -= reward;
        mRewardsOwed += reward;
        mReward[cur] += reward;
        n_recordBatch += 1;
    }

    function claimSlashReward() external {
        vm.prank(BENEFICIARY);
        if (mCredit == 0) {
            vm.expectRevert(abi.encodeWithSelector(LockingPool.LockingPoolNoSlashReward.selector, BENEFICIARY));
            pool.claimSlashReward();
            return;
        }
        pool.claimSlashReward();
        mBeneficiaryWallet += mCredit;
        mCredit = 0;
        n_claimSlashReward += 1;
    }

    function burnSlashed() external {
        uint256 pending = mSlashBurned - mFlushed;
        if (pending == 0) {
            vm.expectRevert(LockingPool.LockingPoolNothingToBurn.selector);
            pool.burnSlashed();
            return;
        }
        pool.burnSlashed();
        mFlushed += pending;
        n_burnSlashed += 1;
    }

    function withdrawRewards(uint256 actorSeed) external {
        address a = _actor(actorSeed);
        St st = mStatus[a];
        if (st == St.None || st == St.Withdrawn) return;
        vm.prank(a);
        if (mReward[a] == 0) {
            vm.expectRevert(abi.encodeWithSelector(LockingPool.LockingPoolNothingToClaim.selector, a));
            pool.withdrawRewards(a);
            return;
        }
        pool.withdrawRewards(a);
        mWallet[a] += mReward[a];
        mRewardsOwed -= mReward[a];
        mReward[a] = 0;
        n_withdrawRewards += 1;
    }

    /// Prints the per-action success counts of this run.
    function printCounts() external view {
        string[18] memory label = _names();
        uint256[18] memory c = counts();
        for (uint256 k = 0; k < 18; k++) {
            console.log(label[k], c[k]);
        }
    }

    function _names() internal pure returns (string[18] memory) {
        return [
            string("lock"), "setFullRefused", "relock", "unlockInit", "exitCapRefused", "unlockClaim",
            "slash", "slashToZero", "kick", "kickExiting", "punish", "rotate", "recordBatch",
            "claimSlashReward", "burnSlashed", "withdrawRewards", "maxActive", "maxExiting"
        ];
    }

    function names() external pure returns (string[18] memory) {
        return _names();
    }

    function counts() public view returns (uint256[18] memory) {
        return [
            n_lock, n_setFullRefused, n_relock, n_unlockInit, n_exitCapRefused, n_unlockClaim,
            n_slash, n_slashToZero, n_kick, n_kickExiting, n_punish, n_rotate, n_recordBatch,
            n_claimSlashReward, n_burnSlashed, n_withdrawRewards, maxActive, maxExiting
        ];
    }
}

/// @notice Invariants of the LockingPool / SequencerSet pair under random locks (past the set
///         cap), relocks, exits (several at once, past the exit cap), early and late claims,
///         slashes, kicks, punishments, rotations and rewards, against the handler's model.
contract StakingInvariantsTest is Test {
    StakingHandler internal h;
    uint256 internal constant CI_RUNS = 64; // foundry.toml [invariant] runs
    uint256 internal constant CI_DEPTH = 32; // foundry.toml [invariant] depth

    function setUp() public {
        h = new StakingHandler(true);
        targetContract(address(h));
        targetSelector(FuzzSelector(address(h), _selectors()));
    }

    function _selectors() internal pure returns (bytes4[] memory s) {
        s = new bytes4[](15);
        s[0] = StakingHandler.lock.selector;
        s[1] = StakingHandler.lock.selector; // locks twice as likely: sets of 6+
        s[2] = StakingHandler.relock.selector;
        s[3] = StakingHandler.unlockInit.selector;
        s[4] = StakingHandler.unlockClaim.selector;
        s[5] = StakingHandler.slash.selector;
        s[6] = StakingHandler.kick.selector;
        s[7] = StakingHandler.punish.selector;
        s[8] = StakingHandler.advanceEpoch.selector;
        s[9] = StakingHandler.reselect.selector;
        s[10] = StakingHandler.recordBatch.selector;
        s[11] = StakingHandler.claimSlashReward.selector;
        s[12] = StakingHandler.burnSlashed.selector;
        s[13] = StakingHandler.withdrawRewards.selector;
        s[14] = StakingHandler.unlockInit.selector; // exits twice as likely: several at once
    }

    /// @notice Each run prints its per-action success counts (`forge test -vv`).
    function afterInvariant() external view {
        h.printCounts();
    }

    /// @notice At the CI settings (runs x depth), a campaign with the same action mix reaches
    ///         every state the invariants are about: sets of 6+, two or more exits at once,
    ///         refused exits past the cap and locks past the set cap, claims after exits and
    ///         kicks, slashes (some to zero), kicks of exiting sequencers, punishments,
    ///         rewards withdrawn and compounded, slash rewards claimed and burned.
    function test_ciCampaignReachesStakingStates() public {
        bytes4[] memory sel = _selectors();
        uint256[18] memory total;
        uint256 widest;
        uint256 mostExiting;
        for (uint256 run = 0; run < CI_RUNS; run++) {
            uint256 snap = vm.snapshotState();
            for (uint256 step = 0; step < CI_DEPTH; step++) {
                uint256 r = uint256(keccak256(abi.encode("staking", run, step)));
                _call(sel[r % sel.length], r >> 8);
            }
            _checkAll();
            uint256[18] memory c = h.counts();
            for (uint256 k = 0; k < 18; k++) {
                total[k] += c[k];
            }
            if (c[16] > widest) widest = c[16];
            if (c[17] > mostExiting) mostExiting = c[17];
            vm.revertToState(snap);
        }
        string[18] memory label = h.names();
        for (uint256 k = 0; k < 18; k++) {
            console.log(label[k], total[k]);
            assertGe(total[k], 1, label[k]);
        }
        assertGe(widest, 6, "a set of six or more");
        assertGe(mostExiting, 2, "two or more exiting at once");
    }

    function _call(bytes4 f, uint256 a) internal {
        if (f == StakingHandler.lock.selector) h.lock(a, a >> 64, a >> 128);
        else if (f == StakingHandler.relock.selector) h.relock(a, a >> 64, (a >> 128) % 2 == 0);
        else if (f == StakingHandler.unlockInit.selector) h.unlockInit(a, a >> 64);
        else if (f == StakingHandler.unlockClaim.selector) h.unlockClaim(a, (a >> 64) % 3 == 0);
        else if (f == StakingHandler.slash.selector) h.slash(a, a >> 64);
        else if (f == StakingHandler.kick.selector) h.kick(a);
        else if (f == StakingHandler.punish.selector) h.punish(a);
        else if (f == StakingHandler.advanceEpoch.selector) h.advanceEpoch(a);
        else if (f == StakingHandler.reselect.selector) h.reselect(a);
        else if (f == StakingHandler.recordBatch.selector) h.recordBatch(a);
        else if (f == StakingHandler.claimSlashReward.selector) h.claimSlashReward();
        else if (f == StakingHandler.burnSlashed.selector) h.burnSlashed();
        else h.withdrawRewards(a);
    }

    function _checkAll() internal view {
        invariant_poolMatchesModel();
        invariant_balanceCoversAccounting();
        invariant_slashedFundsMatchModel();
        invariant_exitingOrKickedNeverSelected();
        invariant_exitCapHolds();
    }

    /// forge-config: default.invariant.fail-on-revert = true
    /// @custom:invariant Every sequencer's status and stake, the active and exiting counts,
    ///                   totalLocked, the reward reserve and rewards owed, and every actor's
    ///                   wallet equal the model's (computed from the sequence of actions).
    function invariant_poolMatchesModel() public view {
        LockingPool pool = h.pool();
        uint256 sum = 0;
        for (uint256 i = 0; i < h.actorCount(); i++) {
            address a = h.actors(i);
            LockingPool.Sequencer memory s = pool.sequencer(a);
            assertEq(uint256(s.status), uint256(h.mStatus(a)), "status != model");
            assertEq(s.amount, h.mStake(a), "stake != model");
            assertEq(s.reward, h.mReward(a), "reward != model");
            assertEq(h.token().balanceOf(a), h.mWallet(a), "wallet != model");
            if (
                s.status == LockingPool.Status.Active || s.status == LockingPool.Status.Exiting
                    || s.status == LockingPool.Status.Kicked
            ) sum += s.amount;
        }
        assertEq(pool.totalLocked(), sum, "totalLocked != sum of stakes");
        assertEq(pool.totalLocked(), h.mLocked(), "totalLocked != model");
        assertEq(pool.activeCount(), h.mActive(), "activeCount != model");
        assertEq(pool.exitingCount(), h.mExiting(), "exitingCount != model");
        assertEq(pool.rewardReserve(), h.mReserve(), "reserve != model");
        assertEq(pool.totalRewardsOwed(), h.mRewardsOwed(), "rewards owed != model");
    }

    /// forge-config: default.invariant.fail-on-revert = true
    /// @custom:invariant The pool holds exactly what it owes: stakes + reward reserve + rewards
    ///                   + unclaimed slash rewards + slashed tokens not yet burned.
    function invariant_balanceCoversAccounting() public view {
        LockingPool pool = h.pool();
        assertEq(
            h.token().balanceOf(address(pool)),
            pool.totalLocked() + pool.rewardReserve() + pool.totalRewardsOwed() + pool.slashRewardsOwed()
                + pool.pendingSlashBurn(),
            "pool balance != accounting"
        );
    }

    /// forge-config: default.invariant.fail-on-revert = true
    /// @custom:invariant Slashed stake matches the model and is counted once: slashed == paid +
    ///                   burned; the beneficiary's share is credited, then received exactly once;
    ///                   the supply shrinks by exactly what was burned.
    function invariant_slashedFundsMatchModel() public view {
        LockingPool pool = h.pool();
        assertEq(pool.totalSlashed(), h.mSlashed(), "totalSlashed != model");
        assertEq(pool.totalSlashPaid(), h.mSlashPaid(), "paid != model");
        assertEq(pool.totalSlashBurned(), h.mSlashBurned(), "burned != model");
        assertEq(pool.claimableReward(h.BENEFICIARY()), h.mCredit(), "claimable != model");
        assertEq(pool.slashRewardsOwed(), h.mCredit(), "owed != model");
        assertEq(h.token().balanceOf(h.BENEFICIARY()), h.mBeneficiaryWallet(), "received != model");
        assertEq(pool.pendingSlashBurn(), h.mSlashBurned() - h.mFlushed(), "pending burn != model");
        assertEq(h.token().totalSupply(), h.mMinted() - h.mFlushed(), "supply != model");
    }

    /// forge-config: default.invariant.fail-on-revert = true
    /// @custom:invariant The current sequencer is always one the model says is active (now and
    ///                   right after every rotation the handler caused), and there is one
    ///                   whenever any sequencer is active.
    function invariant_exitingOrKickedNeverSelected() public view {
        address cur = h.sset().currentSequencer();
        assertTrue(cur == address(0) || h.pool().isActive(cur), "current is not active");
        assertEq(h.ghost_badSelections(), 0, "a rotation picked a non-active sequencer");
    }

    /// forge-config: default.invariant.fail-on-revert = true
    /// @custom:invariant Kicks aside (they shrink the set from outside), no exit was ever let
    ///                   through past 1/3 of the set: every unlockInit the model refused
    ///                   reverted with `LockingPoolTooManyExiting` (checked in the handler).
    function invariant_exitCapHolds() public view {
        assertLe(h.mExiting(), h.mActive() + h.mExiting(), "exiting > set");
        assertEq(h.pool().exitingCount(), h.mExiting(), "exitingCount != model");
    }
}

/// @notice Without kicks (which shrink the set from outside), the exit cap holds as a state
///         invariant at all times: exiting * 3 <= active + exiting.
contract ExitCapInvariantTest is Test {
    StakingHandler internal h;

    function setUp() public {
        h = new StakingHandler(false);
        targetContract(address(h));
    }

    /// forge-config: default.invariant.fail-on-revert = true
    /// @custom:invariant At most 1/3 of the set (active + exiting) is exiting at once.
    function invariant_atMostOneThirdExiting() public view {
        uint256 exiting = h.pool().exitingCount();
        assertLe(exiting * 3, h.pool().activeCount() + exiting, "more than 1/3 exiting");
    }

    /// @notice Each run prints its per-action success counts (`forge test -vv`).
    function afterInvariant() external view {
        h.printCounts();
    }
}

/// @notice A deposit queue with a fixed count (the set only reads `depositCount`).
contract FixedQueue {
    function depositCount() external pure returns (uint256) {
        return 3;
    }
}

/// @notice Fuzz tests of the pure draw and of the batch signature check; SequencerSet refusals
///         no other test reaches, each with its custom error and values.
contract SequencerSetFuzzTest is Test {
    L2KitToken internal token;
    LockingPool internal pool;
    SequencerSet internal sset;

    function setUp() public {
        token = new L2KitToken("T", "T", address(this));
        LockingPool.Params memory p = LockingPool.Params(1 ether, 100 ether, 30, 100, 10, 0, 5_000);
        pool = new LockingPool(token, p, address(this));
        sset = new SequencerSet(pool, 50, 5, address(this));
        pool.setSequencerSet(address(sset));
    }

    /// @notice The drawn index always has a positive weight.
    function testFuzz_selectIndexHasPositiveWeight(uint256[8] memory raw, bytes32 seed) public {
        uint256[] memory w = new uint256[](8);
        uint256 total = 0;
        for (uint256 i = 0; i < 8; i++) {
            w[i] = raw[i] % 3 == 0 ? 0 : bound(raw[i], 0, 1e30);
            total += w[i];
        }
        vm.assume(total > 0);
        uint256 idx = sset.selectIndex(w, seed);
        assertTrue(idx < 8 && w[idx] > 0, "drawn a zero weight");
    }

    /// @notice Any k of n equal-stake active signers, ascending, approve (a group key) iff
    ///         k * 3 > n * 2 (the stake rule with equal stakes; the error reports signed and active
    ///         stake); no list is ever a batch signature.
    function testFuzz_thresholdIsMoreThanTwoThirds(uint8 nRaw, uint8 kRaw, bytes32 digest) public {
        uint256 n = bound(nRaw, 1, 21);
        uint256 k = bound(kRaw, 0, n);
        address[] memory signers = new address[](n);
        uint256[] memory keys = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            keys[i] = i + 1;
            signers[i] = vm.addr(keys[i]);
            token.mint(address(this), 1 ether);
            token.approve(address(pool), 1 ether);
            pool.lockFor(signers[i], signers[i], 1 ether);
        }
        // Sort keys by signer address (insertion sort; n <= 21).
        for (uint256 i = 1; i < n; i++) {
            for (uint256 j = i; j > 0 && signers[j] < signers[j - 1]; j--) {
                (signers[j], signers[j - 1]) = (signers[j - 1], signers[j]);
                (keys[j], keys[j - 1]) = (keys[j - 1], keys[j]);
            }
        }
        bytes[] memory sigs = new bytes[](k);
        for (uint256 i = 0; i < k; i++) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(keys[i], digest);
            sigs[i] = abi.encodePacked(r, s, v);
        }
        if (k * 3 > n * 2) {
            sset.verifySetSignatures(digest, sigs);
        } else {
            vm.expectRevert(abi.encodeWithSelector(SequencerSet.SequencerSetNotEnoughSignatures.selector, k * 1 ether, n * 1 ether));
            sset.verifySetSignatures(digest, sigs);
        }
        // Whatever their stake, ECDSA lists never verify as the set's batch signature.
        vm.expectRevert(abi.encodeWithSelector(SequencerSet.SequencerSetNoGroupKey.selector));
        sset.verifyBatchSignatures(digest, sigs);
    }

    /// @notice The deposit queue is set once: a second call names the queue already set.
    function test_depositQueueIsSetOnce() public {
        address first = address(new FixedQueue());
        sset.setDepositQueue(IDepositQueue(first));
        assertEq(address(sset.depositQueue()), first, "queue set");
        address second = address(new FixedQueue());
        vm.expectRevert(abi.encodeWithSelector(SequencerSet.SequencerSetDepositQueueAlreadySet.selector, first));
        sset.setDepositQueue(IDepositQueue(second));
    }

    /// @notice removeSilent of a signer that is not active (never locked, or exiting) is refused
    ///         before any signature is read.
    function test_removeSilentOfAnInactiveSignerReverts() public {
        address stranger = vm.addr(77);
        vm.expectRevert(abi.encodeWithSelector(SequencerSet.SequencerSetNotActive.selector, stranger));
        sset.removeSilent(stranger, new bytes[](0));

        address a = vm.addr(1);
        for (uint256 i = 1; i <= 4; i++) {
            token.mint(address(this), 10 ether);
            token.approve(address(pool), 10 ether);
            pool.lockFor(vm.addr(i), vm.addr(i), 10 ether);
        }
        vm.prank(a);
        pool.unlockInit(a);
        vm.expectRevert(abi.encodeWithSelector(SequencerSet.SequencerSetNotActive.selector, a));
        sset.removeSilent(a, new bytes[](0));
    }
}
