// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {L2KitToken} from "../../../contracts/staking/L2KitToken.sol";
import {LockingPool} from "../../../contracts/staking/LockingPool.sol";
import {SequencerSet} from "../../../contracts/staking/SequencerSet.sol";

/// @notice Drives LockingPool + SequencerSet with random actions from a fixed set of actors and
///         keeps ghost sums of what went in and out, for the invariant tests below.
contract StakingHandler is Test {
    L2KitToken public token;
    LockingPool public pool;
    SequencerSet public sset;
    bool public immutable allowKicks;

    address[] public actors;
    uint256 public constant MIN = 20_000 ether;
    uint256 public constant MAX = 100_000 ether;
    uint256 public constant DELAY = 100;

    // Ghost sums.
    uint256 public ghost_minted; // every token minted
    uint256 public ghost_locked; // every token locked or relocked (fresh)
    uint256 public ghost_compounded; // rewards moved into stakes
    uint256 public ghost_claimedStake; // stake paid back by unlockClaim
    uint256 public ghost_slashed; // stake removed by slash (measured on the record)
    uint256 public ghost_slashPaid; // slash rewards credited to the beneficiary (claimable)
    uint256 public ghost_slashClaimed; // tokens the beneficiary received by claimSlashReward
    uint256 public ghost_slashFlushed; // tokens burned by burnSlashed (supply decrease)
    uint256 public ghost_rewardsFunded;
    uint256 public ghost_badSelections; // rotations that picked a non-active sequencer
    uint256 public ghost_capViolations; // unlockInit that left more than 1/3 exiting
    address public constant BENEFICIARY = address(0xBEEF);

    constructor(bool allowKicks_) {
        allowKicks = allowKicks_;
        token = new L2KitToken("T", "T", address(this));
        LockingPool.Params memory p = LockingPool.Params({
            minLock: MIN,
            maxLock: MAX,
            maxSequencers: 10,
            withdrawalDelay: DELAY,
            signerUpdateInterval: 10,
            rewardPerBlock: 1 ether,
            slashBeneficiaryBps: 5_000
        });
        pool = new LockingPool(token, p, address(this));
        sset = new SequencerSet(pool, 50, 5, address(this));
        pool.setSequencerSet(address(sset));
        sset.setRollup(address(this), true);
        for (uint256 i = 1; i <= 8; i++) actors.push(vm.addr(i));
        _mint(address(this), 1_000_000 ether);
        token.approve(address(pool), type(uint256).max);
        pool.fundRewards(1_000_000 ether);
        ghost_rewardsFunded = 1_000_000 ether;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function _mint(address to, uint256 amount) internal {
        token.mint(to, amount);
        ghost_minted += amount;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    function _status(address a) internal view returns (LockingPool.Status) {
        return pool.statusOf(a);
    }

    function _checkCurrent() internal {
        address cur = sset.currentSequencer();
        if (cur != address(0) && !pool.isActive(cur)) ghost_badSelections += 1;
    }

    // ------------------------------------------------------------- actions
    function lock(uint256 actorSeed, uint256 amount) external {
        address a = _actor(actorSeed);
        if (_status(a) != LockingPool.Status.None) return;
        amount = bound(amount, MIN, MAX);
        _mint(a, amount);
        vm.startPrank(a);
        token.approve(address(pool), amount);
        pool.lock(a, amount);
        vm.stopPrank();
        ghost_locked += amount;
        if (sset.currentSequencer() == address(0)) sset.advanceEpoch();
        _checkCurrent();
    }

    function relock(uint256 actorSeed, uint256 amount, bool compound) external {
        address a = _actor(actorSeed);
        if (_status(a) != LockingPool.Status.Active) return;
        LockingPool.Sequencer memory s = pool.sequencer(a);
        uint256 room = MAX - s.amount;
        uint256 reward = compound ? s.reward : 0;
        if (reward > room) return;
        amount = bound(amount, 0, room - reward);
        if (amount + reward == 0) return;
        _mint(a, amount);
        vm.startPrank(a);
        token.approve(address(pool), amount);
        pool.relock(a, amount, compound);
        vm.stopPrank();
        ghost_locked += amount;
        ghost_compounded += reward;
    }

    function unlockInit(uint256 actorSeed) external {
        address a = _actor(actorSeed);
        if (_status(a) != LockingPool.Status.Active) return;
        vm.prank(a);
        try pool.unlockInit(a) {
            uint256 exiting = pool.exitingCount();
            if (exiting * 3 > pool.activeCount() + exiting) ghost_capViolations += 1;
        } catch {}
        _checkCurrent();
    }

    function unlockClaim(uint256 actorSeed) external {
        address a = _actor(actorSeed);
        LockingPool.Status st = _status(a);
        if (st != LockingPool.Status.Exiting && st != LockingPool.Status.Kicked) return;
        LockingPool.Sequencer memory s = pool.sequencer(a);
        if (block.timestamp < s.unlockTime) vm.warp(s.unlockTime);
        vm.prank(a);
        pool.unlockClaim(a);
        ghost_claimedStake += s.amount;
    }

    function slash(uint256 actorSeed, uint256 amount) external {
        address a = _actor(actorSeed);
        LockingPool.Status st = _status(a);
        if (st == LockingPool.Status.None || st == LockingPool.Status.Withdrawn) return;
        uint256 before = pool.sequencer(a).amount;
        amount = bound(amount, 0, MAX * 2);
        uint256 balBefore = token.balanceOf(BENEFICIARY);
        uint256 creditBefore = pool.claimableReward(BENEFICIARY);
        pool.slash(a, amount, BENEFICIARY);
        ghost_slashed += before - pool.sequencer(a).amount;
        ghost_slashPaid += pool.claimableReward(BENEFICIARY) - creditBefore;
        assertEq(token.balanceOf(BENEFICIARY), balBefore, "slash moved tokens (pull pattern)");
    }

    function kick(uint256 actorSeed) external {
        if (!allowKicks) return;
        address a = _actor(actorSeed);
        LockingPool.Status st = _status(a);
        if (st != LockingPool.Status.Active && st != LockingPool.Status.Exiting) return;
        pool.kick(a);
        _checkCurrent();
    }

    function punish(uint256 amount) external {
        if (!allowKicks) return;
        address cur = sset.currentSequencer();
        if (cur == address(0)) return;
        uint256 before = pool.sequencer(cur).amount;
        uint256 creditBefore = pool.claimableReward(BENEFICIARY);
        sset.punish(cur, bound(amount, 0, MAX), BENEFICIARY);
        ghost_slashed += before - pool.sequencer(cur).amount;
        ghost_slashPaid += pool.claimableReward(BENEFICIARY) - creditBefore;
        _checkCurrent();
    }

    function advanceEpoch(uint256 blocks) external {
        if (pool.activeCount() == 0) return;
        vm.warp(block.timestamp + 51);
        vm.roll(block.number + bound(blocks, 1, 300));
        sset.advanceEpoch();
        _checkCurrent();
    }

    function reselect(uint256 blocks) external {
        if (sset.currentSequencer() == address(0)) return;
        vm.warp(block.timestamp + 6);
        vm.roll(block.number + bound(blocks, 1, 300));
        sset.reselect();
        _checkCurrent();
    }

    function recordBatch(uint256 blocks) external {
        address cur = sset.currentSequencer();
        if (cur == address(0)) return;
        sset.recordBatch(cur, bound(blocks, 1, 1_000));
    }

    function claimSlashReward() external {
        uint256 owed = pool.claimableReward(BENEFICIARY);
        if (owed == 0) return;
        uint256 balBefore = token.balanceOf(BENEFICIARY);
        vm.prank(BENEFICIARY);
        pool.claimSlashReward();
        ghost_slashClaimed += token.balanceOf(BENEFICIARY) - balBefore;
    }

    function burnSlashed() external {
        if (pool.pendingSlashBurn() == 0) return;
        uint256 supplyBefore = token.totalSupply();
        pool.burnSlashed();
        ghost_slashFlushed += supplyBefore - token.totalSupply();
    }

    function withdrawRewards(uint256 actorSeed) external {
        address a = _actor(actorSeed);
        if (pool.sequencer(a).reward == 0) return;
        vm.prank(a);
        pool.withdrawRewards(a);
    }
}

/// @notice Invariants of the LockingPool / SequencerSet pair under random locks, relocks,
///         exits, claims, slashes, kicks, punishments, rotations and rewards.
contract StakingInvariantsTest is Test {
    StakingHandler internal h;

    function setUp() public {
        h = new StakingHandler(true);
        targetContract(address(h));
    }

    /// @custom:invariant Total locked equals the sum of the stakes of Active, Exiting and
    ///                   Kicked sequencers (stakes + pending exits), and the ghost flow
    ///                   locked + compounded - claimed - slashed.
    function invariant_totalLockedIsSumOfStakesAndPendingExits() public view {
        LockingPool pool = h.pool();
        uint256 sum = 0;
        for (uint256 i = 0; i < h.actorCount(); i++) {
            LockingPool.Sequencer memory s = pool.sequencer(h.actors(i));
            if (
                s.status == LockingPool.Status.Active || s.status == LockingPool.Status.Exiting
                    || s.status == LockingPool.Status.Kicked
            ) sum += s.amount;
        }
        assertEq(pool.totalLocked(), sum, "totalLocked != sum of stakes");
        assertEq(
            pool.totalLocked(),
            h.ghost_locked() + h.ghost_compounded() - h.ghost_claimedStake() - h.ghost_slashed(),
            "totalLocked != ghost flow"
        );
    }

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

    /// @custom:invariant Slashed stake is conserved and counted once: slashed == paid + burned;
    ///                   `paid` is exactly what was credited, and is either claimed (received by
    ///                   the beneficiary) or still claimable; `burned` is either burned (the
    ///                   supply shrank by exactly that) or pending.
    function invariant_slashedFundsNeverDoubleCounted() public view {
        LockingPool pool = h.pool();
        assertEq(pool.totalSlashed(), h.ghost_slashed(), "totalSlashed != ghost");
        assertEq(pool.totalSlashed(), pool.totalSlashPaid() + pool.totalSlashBurned(), "paid + burned");
        assertEq(pool.totalSlashPaid(), h.ghost_slashPaid(), "paid != credited");
        assertEq(pool.totalSlashPaid(), h.ghost_slashClaimed() + pool.slashRewardsOwed(), "paid split");
        assertEq(pool.slashRewardsOwed(), pool.claimableReward(h.BENEFICIARY()), "owed != claimable");
        assertEq(h.token().balanceOf(h.BENEFICIARY()), h.ghost_slashClaimed(), "claimed != received");
        assertEq(pool.totalSlashBurned(), h.ghost_slashFlushed() + pool.pendingSlashBurn(), "burn split");
        assertEq(h.token().totalSupply(), h.ghost_minted() - h.ghost_slashFlushed(), "supply");
    }

    /// @custom:invariant The current sequencer is never an exiting, kicked or withdrawn one,
    ///                   neither now nor right after any rotation the handler caused.
    function invariant_exitingOrKickedNeverSelected() public view {
        address cur = h.sset().currentSequencer();
        assertTrue(cur == address(0) || h.pool().isActive(cur), "current is not active");
        assertEq(h.ghost_badSelections(), 0, "a rotation picked a non-active sequencer");
    }

    /// @custom:invariant No unlockInit ever left more than 1/3 of the set exiting.
    function invariant_noUnlockExceedsOneThird() public view {
        assertEq(h.ghost_capViolations(), 0, "an unlock exceeded the 1/3 cap");
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

    /// @custom:invariant At most 1/3 of the set (active + exiting) is exiting at once.
    function invariant_atMostOneThirdExiting() public view {
        uint256 exiting = h.pool().exitingCount();
        assertLe(exiting * 3, h.pool().activeCount() + exiting, "more than 1/3 exiting");
    }
}

/// @notice Fuzz tests of the pure draw and of the batch signature check.
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

    /// @notice Any k of n equal-stake active signers, ascending, pass iff k * 3 > n * 2 (the stake rule
    ///         with equal stakes; the error reports signed and active stake).
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
            sset.verifyBatchSignatures(digest, sigs);
        } else {
            vm.expectRevert(abi.encodeWithSelector(SequencerSet.SequencerSetNotEnoughSignatures.selector, k * 1 ether, n * 1 ether));
            sset.verifyBatchSignatures(digest, sigs);
        }
    }
}
