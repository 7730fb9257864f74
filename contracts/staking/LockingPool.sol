// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @notice Callbacks the LockingPool makes into the SequencerSet when the active set changes.
interface ISequencerSetHooks {
    /// @notice `signer` left the active set (unlock initiated or kicked).
    function onSequencerRemoved(address signer) external;

    /// @notice An active sequencer replaced its signer key `oldSigner` with `newSigner`.
    function onSignerChanged(address oldSigner, address newSigner) external;

    /// @notice L1 block at which the next draw's seed was committed (0 before the first draw):
    ///         stake added after it (from the seed block on, when the seed can be known or
    ///         ground) does not weigh in that draw.
    function drawCommitBlock() external view returns (uint256);
}

/// @title LockingPool
/// @notice Holds sequencer stakes (Metis LockingPool shape): lock / lockFor with min and max
///         amounts and a maximum number of sequencers (optional owner whitelist), relock
///         (optionally compounding rewards), a two-step unlock with a withdrawal delay and a cap
///         of 1/3 of the set exiting at once, rate-limited signer updates, per-batch rewards
///         split by L2 blocks produced, slashing and kicking by authorised rollup contracts and
///         governance (the owner), and pausing.
/// @dev    A sequencer is identified by its signer address (the node key). Signers are never
///         reused. Punishment follows the staker, not the key: every key a stake was ever held
///         under maps to the key it is held under now ({currentKeyOf}, O(1)), and {slash} and
///         {kick} act on that key, so {updateSigner} after a fault does not dodge the slash.
///         The withdrawal delay (21 days) outlasts a batch's challenge window plus its data
///         window, so the stake stays slashable for every batch its staker appended until they
///         are final. Batch signatures are weighed by stake: {activeStake} is the sum of the
///         stakes of the active set and {activeStakeOf} one member's. Slashing is pull-based so a fraud proof stays cheap: the beneficiary's share
///         is credited to {claimableReward} (paid by {claimSlashReward}) and the burn share is
///         queued in {pendingSlashBurn} (burned by anyone with {burnSlashed}); no token moves
///         inside {slash}. Accounting invariant (checked by the forge invariant tests):
///         `token.balanceOf(this) == totalLocked + rewardReserve + totalRewardsOwed
///         + slashRewardsOwed() + pendingSlashBurn()`, and `totalLocked` is the sum of the stakes
///         of sequencers that are Active, Exiting or Kicked.
contract LockingPool is Ownable, Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Life cycle of a sequencer.
    enum Status {
        None, // never locked
        Active, // in the active set, may be drawn
        Exiting, // unlock initiated, waiting for the withdrawal delay
        Kicked, // removed by a rollup contract or governance, waiting for the withdrawal delay
        Withdrawn // stake claimed back; the signer cannot be used again
    }

    /// @notice One sequencer's record.
    struct Sequencer {
        address owner; // account that staked and may unlock / claim / relock
        address signer; // node key (the sequencer's id)
        uint256 amount; // locked stake
        uint256 reward; // accrued, unclaimed reward
        uint64 unlockTime; // earliest unlockClaim time (Exiting / Kicked)
        uint64 signerUpdatedAt; // last lock or signer change (rate limit)
        Status status;
    }

    /// @notice A sequencer's stake before its increase in block `sinceBlock` (its weight in a
    ///         draw whose seed was committed before `sinceBlock`; later increases keep it).
    struct DrawBase {
        uint128 amount;
        uint64 sinceBlock;
    }

    /// @notice Governance-owned parameters (one struct keeps the setters uniform).
    struct Params {
        uint256 minLock; // minimum stake of a sequencer
        uint256 maxLock; // maximum stake of a sequencer
        uint256 maxSequencers; // maximum size of the active set
        uint256 withdrawalDelay; // seconds between unlockInit and unlockClaim
        uint256 signerUpdateInterval; // seconds between two signer updates
        uint256 rewardPerBlock; // reward per L1 block of sequencing (since the previous batch or rotation)
        uint256 slashBeneficiaryBps; // share of a slash paid to the beneficiary (rest burned)
    }

    /// @notice The staking token.
    IERC20 public immutable token;
    /// @notice Current parameters.
    Params public params;
    /// @notice The SequencerSet notified of set changes and allowed to distribute rewards.
    address public sequencerSet;
    /// @notice Contracts allowed to slash and kick (rollup contracts; the owner always may).
    mapping(address account => bool) public authorized;
    /// @notice When true, only whitelisted owners may lock.
    bool public whitelistEnabled;
    /// @notice Owners allowed to lock when the whitelist is enabled.
    mapping(address owner => bool) public whitelisted;
    /// @notice May pause at once (besides the owner): the emergency key, set by governance.
    address public guardian;
    /// @notice The current pause ends at this time (0: never paused); {paused} until then.
    uint64 public pausedUntil;

    /// @notice A pause ends by itself after this long, whoever started it.
    uint256 public constant MAX_PAUSE = 7 days;
    /// @notice After a pause ends (by itself or by {unpause}), the next may start this long after.
    uint256 public constant PAUSE_COOLDOWN = 7 days;

    /// @notice Sum of stakes of Active, Exiting and Kicked sequencers.
    uint256 public totalLocked;
    /// @notice Tokens funded for rewards, not yet credited to a sequencer.
    uint256 public rewardReserve;
    /// @notice Rewards credited to sequencers and not yet withdrawn.
    uint256 public totalRewardsOwed;
    /// @notice Sequencers in the Exiting state (the 1/3 exit cap counts these).
    uint256 public exitingCount;
    /// @notice Slash credited to `beneficiary` and not yet claimed with {claimSlashReward}.
    mapping(address beneficiary => uint256) public claimableReward;

    /// @notice Slash bookkeeping, packed so a slash writes one slot: `paid` and `burned` are the
    ///         cumulative beneficiary and burn shares (both updated by {slash}); `claimed` and
    ///         `flushed` the parts already paid out by {claimSlashReward} / burned by
    ///         {burnSlashed}. 128 bits are 3.4e20 whole tokens at 18 decimals; a slash that
    ///         would overflow them reverts (SafeCast, checked adds) instead of wrapping.
    struct SlashTotals {
        uint128 paid; // sum of beneficiary shares ever credited
        uint128 burned; // sum of burn shares ever queued
        uint128 claimed; // sum of beneficiary shares paid out
        uint128 flushed; // sum of burn shares actually burned
    }

    SlashTotals internal _slashTotals;

    mapping(address signer => Sequencer) internal _seqs;
    address[] internal _active; // active signers, unordered
    mapping(address signer => uint256) internal _activePos; // index in _active + 1 (0: absent)
    /// @dev Draw weights frozen at the seed commitment (rotation grinding, issue #10 attack 2).
    mapping(address signer => DrawBase) private _drawBase;
    /// @dev First key of the stake a retired key belonged to (0: the key is its own first key).
    mapping(address signer => address) internal _firstKey;
    /// @dev Key a stake is held under now, by its first key (0: still the first key).
    mapping(address firstKey => address) internal _latestKey;
    /// @notice Sum of the stakes of the active set (the weight of batch signatures).
    uint256 public activeStake;

    uint256 internal constant BPS = 10_000;

    // ------------------------------------------------------------------ errors
    /// @notice The amount is below the minimum stake.
    error LockingPoolStakeTooLow(address signer, uint256 amount, uint256 min);
    /// @notice The amount is above the maximum stake.
    error LockingPoolStakeTooHigh(address signer, uint256 amount, uint256 max);
    /// @notice The active set is full.
    error LockingPoolSetFull(uint256 active, uint256 max);
    /// @notice The owner is not on the whitelist while it is enabled.
    error LockingPoolNotWhitelisted(address owner);
    /// @notice The signer has been used before (or is the zero address).
    error LockingPoolSignerUnavailable(address signer);
    /// @notice The caller is not the owner of the sequencer.
    error LockingPoolNotSequencerOwner(address signer, address caller, address owner);
    /// @notice The sequencer is not in the status the operation needs.
    error LockingPoolWrongStatus(address signer, Status status);
    /// @notice Another unlock would make more than 1/3 of the set exit at once.
    error LockingPoolTooManyExiting(uint256 exiting, uint256 total);
    /// @notice The withdrawal delay has not passed yet.
    error LockingPoolWithdrawalDelayNotOver(address signer, uint256 unlockTime, uint256 nowTime);
    /// @notice The signer was updated too recently.
    error LockingPoolSignerUpdateTooSoon(address signer, uint256 nextAllowed, uint256 nowTime);
    /// @notice The caller is neither an authorised contract nor the owner.
    error LockingPoolUnauthorized(address caller);
    /// @notice Only the SequencerSet may call this.
    error LockingPoolNotSequencerSet(address caller);
    /// @notice A parameter value is out of range.
    error LockingPoolBadParam(string name, uint256 value);
    /// @notice Nothing to withdraw or relock.
    error LockingPoolNothingToClaim(address signer);
    /// @notice A zero address where one is required.
    error LockingPoolZeroAddress();
    /// @notice `account` has no slash reward to claim.
    error LockingPoolNoSlashReward(address account);
    /// @notice No slashed tokens are waiting to be burned.
    error LockingPoolNothingToBurn();
    /// @notice `caller` is neither the guardian nor the owner.
    error LockingPoolNotGuardian(address caller);
    /// @notice A new pause may start only at `nextAllowed` (the last one ended less than
    ///         {PAUSE_COOLDOWN} ago, or it is still on).
    error LockingPoolPauseCoolingDown(uint256 nextAllowed, uint256 nowTime);

    // ------------------------------------------------------------------ events
    /// @notice `owner` locked `amount` for the new sequencer `signer` (stake now `total`).
    event Locked(address indexed signer, address indexed owner, uint256 amount, uint256 total);
    /// @notice `signer`'s stake grew by `amount` fresh tokens and `compounded` reward.
    event Relocked(address indexed signer, uint256 amount, uint256 compounded, uint256 total);
    /// @notice `signer` left the active set; `amount` is claimable from `unlockTime`.
    event UnlockInitiated(address indexed signer, address indexed owner, uint256 amount, uint256 unlockTime);
    /// @notice `signer`'s remaining stake and reward were paid to `owner`.
    event UnlockClaimed(address indexed signer, address indexed owner, uint256 amount, uint256 reward);
    /// @notice The sequencer's key changed from `oldSigner` to `newSigner`.
    event SignerUpdated(address indexed oldSigner, address indexed newSigner, address indexed owner);
    /// @notice `from` added `amount` to the reward reserve.
    event RewardsFunded(address indexed from, uint256 amount, uint256 reserve);
    /// @notice `signer` was credited `reward` for `l1Blocks` L1 blocks of sequencing.
    event RewardDistributed(address indexed signer, uint256 l1Blocks, uint256 reward);
    /// @notice `signer`'s accrued reward was paid to `to`.
    event RewardsWithdrawn(address indexed signer, address indexed to, uint256 amount);
    /// @notice `slashed` was taken from `signer`: `paid` credited to `beneficiary` (claimable
    ///         with {claimSlashReward}), `burned` queued for burning ({burnSlashed}).
    event Slashed(
        address indexed signer, address indexed beneficiary, uint256 slashed, uint256 paid, uint256 burned
    );
    /// @notice `beneficiary` was paid its credited slash reward `amount`.
    event SlashRewardClaimed(address indexed beneficiary, uint256 amount);
    /// @notice `by` burned `amount` slashed tokens that were queued for burning.
    event SlashedBurned(address indexed by, uint256 amount);
    /// @notice `by` removed `signer`; its stake is claimable from `unlockTime`.
    event Kicked(address indexed signer, address indexed by, uint256 unlockTime);
    /// @notice The governance parameters changed.
    event ParamsUpdated(Params params);
    /// @notice `account` may (or may no longer) slash and kick.
    event AuthorizedSet(address indexed account, bool allowed);
    /// @notice The SequencerSet hooked to this pool changed.
    event SequencerSetChanged(address indexed sequencerSet);
    /// @notice The owner whitelist was turned on or off.
    event WhitelistEnabledSet(bool enabled);
    /// @notice `owner` was added to or removed from the whitelist.
    event WhitelistedSet(address indexed owner, bool allowed);
    /// @notice The emergency guardian is now `guardian`.
    event GuardianSet(address indexed guardian);
    /// @notice `by` paused staking operations until `until` (they resume by themselves then).
    event PausedUntil(address indexed by, uint256 until);

    // --------------------------------------------------------------- modifiers
    modifier onlySeqOwner(address signer) {
        address o = _seqs[signer].owner;
        if (o != msg.sender) revert LockingPoolNotSequencerOwner(signer, msg.sender, o);
        _;
    }

    modifier onlyAuthorized() {
        if (!authorized[msg.sender] && msg.sender != owner()) revert LockingPoolUnauthorized(msg.sender);
        _;
    }

    /// @param token_  staking token
    /// @param params_ initial parameters
    /// @param owner_  governance (deployer first, the Timelock later)
    constructor(IERC20 token_, Params memory params_, address owner_) Ownable(owner_) {
        if (address(token_) == address(0)) revert LockingPoolZeroAddress();
        token = token_;
        _setParams(params_);
    }

    // =============================================================== staking
    /// @notice Lock `amount` tokens (from the caller) to register sequencer `signer` owned by the caller.
    /// @param signer node key of the new sequencer
    /// @param amount stake (min..max)
    function lock(address signer, uint256 amount) external {
        lockFor(msg.sender, signer, amount);
    }

    /// @notice Lock `amount` tokens (paid by the caller) to register sequencer `signer` owned by `owner_`.
    /// @param owner_ account that will own the stake
    /// @param signer node key of the new sequencer
    /// @param amount stake (min..max)
    function lockFor(address owner_, address signer, uint256 amount) public whenNotPaused nonReentrant {
        if (owner_ == address(0)) revert LockingPoolZeroAddress();
        if (signer == address(0) || _seqs[signer].status != Status.None) {
            revert LockingPoolSignerUnavailable(signer);
        }
        if (whitelistEnabled && !whitelisted[owner_]) revert LockingPoolNotWhitelisted(owner_);
        if (amount < params.minLock) revert LockingPoolStakeTooLow(signer, amount, params.minLock);
        if (amount > params.maxLock) revert LockingPoolStakeTooHigh(signer, amount, params.maxLock);
        if (_active.length >= params.maxSequencers) {
            revert LockingPoolSetFull(_active.length, params.maxSequencers);
        }
        token.safeTransferFrom(msg.sender, address(this), amount);
        _noteIncrease(signer, 0);
        _seqs[signer] = Sequencer({
            owner: owner_,
            signer: signer,
            amount: amount,
            reward: 0,
            unlockTime: 0,
            signerUpdatedAt: uint64(block.timestamp),
            status: Status.Active
        });
        totalLocked += amount;
        activeStake += amount;
        _active.push(signer);
        _activePos[signer] = _active.length;
        emit Locked(signer, owner_, amount, amount);
    }

    /// @notice Add `amount` tokens (from the caller) to an active sequencer's stake and, if
    ///         `compound`, move its accrued reward into the stake too. The new stake must stay <= max.
    /// @param signer   the sequencer
    /// @param amount   fresh tokens to add (may be 0 when compounding)
    /// @param compound also lock the accrued reward
    function relock(address signer, uint256 amount, bool compound)
        external
        whenNotPaused
        nonReentrant
        onlySeqOwner(signer)
    {
        Sequencer storage s = _seqs[signer];
        if (s.status != Status.Active) revert LockingPoolWrongStatus(signer, s.status);
        uint256 compounded = compound ? s.reward : 0;
        if (amount + compounded == 0) revert LockingPoolNothingToClaim(signer);
        uint256 newAmount = s.amount + amount + compounded;
        if (newAmount > params.maxLock) revert LockingPoolStakeTooHigh(signer, newAmount, params.maxLock);
        if (amount > 0) token.safeTransferFrom(msg.sender, address(this), amount);
        if (compounded > 0) {
            s.reward = 0;
            totalRewardsOwed -= compounded;
        }
        _noteIncrease(signer, s.amount);
        s.amount = newAmount;
        totalLocked += amount + compounded;
        activeStake += amount + compounded;
        emit Relocked(signer, amount, compounded, newAmount);
    }

    /// @notice Step 1 of exiting: leave the active set now, claim after the withdrawal delay.
    ///         At most 1/3 of the set (active + exiting) may be exiting at once.
    /// @param signer the sequencer
    function unlockInit(address signer) external whenNotPaused nonReentrant onlySeqOwner(signer) {
        Sequencer storage s = _seqs[signer];
        if (s.status != Status.Active) revert LockingPoolWrongStatus(signer, s.status);
        // Cap: after this unlock, exiting * 3 <= active + exiting (the set size before exits).
        uint256 total = _active.length + exitingCount;
        if ((exitingCount + 1) * 3 > total) revert LockingPoolTooManyExiting(exitingCount, total);
        s.status = Status.Exiting;
        s.unlockTime = uint64(block.timestamp + params.withdrawalDelay);
        exitingCount += 1;
        _removeActive(signer);
        activeStake -= s.amount;
        emit UnlockInitiated(signer, s.owner, s.amount, s.unlockTime);
        _notifyRemoved(signer);
    }

    /// @notice Step 2 of exiting (also for kicked sequencers): after the withdrawal delay,
    ///         pay the remaining stake and accrued reward to the owner.
    /// @param signer the sequencer
    function unlockClaim(address signer) external whenNotPaused nonReentrant onlySeqOwner(signer) {
        Sequencer storage s = _seqs[signer];
        if (s.status != Status.Exiting && s.status != Status.Kicked) {
            revert LockingPoolWrongStatus(signer, s.status);
        }
        if (block.timestamp < s.unlockTime) {
            revert LockingPoolWithdrawalDelayNotOver(signer, s.unlockTime, block.timestamp);
        }
        if (s.status == Status.Exiting) exitingCount -= 1;
        uint256 amount = s.amount;
        uint256 reward = s.reward;
        s.amount = 0;
        s.reward = 0;
        s.status = Status.Withdrawn;
        totalLocked -= amount;
        totalRewardsOwed -= reward;
        token.safeTransfer(s.owner, amount + reward);
        emit UnlockClaimed(signer, s.owner, amount, reward);
    }

    /// @notice Replace an active sequencer's signer key; at most once per `signerUpdateInterval`.
    /// @param signer    current signer
    /// @param newSigner new, never used signer
    function updateSigner(address signer, address newSigner)
        external
        whenNotPaused
        nonReentrant
        onlySeqOwner(signer)
    {
        Sequencer storage s = _seqs[signer];
        if (s.status != Status.Active) revert LockingPoolWrongStatus(signer, s.status);
        uint256 next = uint256(s.signerUpdatedAt) + params.signerUpdateInterval;
        if (block.timestamp < next) revert LockingPoolSignerUpdateTooSoon(signer, next, block.timestamp);
        if (newSigner == address(0) || _seqs[newSigner].status != Status.None) {
            revert LockingPoolSignerUnavailable(newSigner);
        }
        // Move the record to the new key; the old key is retired (Withdrawn, empty).
        Sequencer memory moved = s;
        moved.signer = newSigner;
        moved.signerUpdatedAt = uint64(block.timestamp);
        _seqs[newSigner] = moved;
        delete _seqs[signer];
        _drawBase[newSigner] = _drawBase[signer];
        delete _drawBase[signer];
        _seqs[signer].status = Status.Withdrawn;
        uint256 pos = _activePos[signer];
        _active[pos - 1] = newSigner;
        _activePos[newSigner] = pos;
        delete _activePos[signer];
        // Punishment follows the staker: the first key (and through it every retired key) now
        // resolves to newSigner.
        address first = _firstKey[signer];
        if (first == address(0)) first = signer;
        _firstKey[newSigner] = first;
        _latestKey[first] = newSigner;
        emit SignerUpdated(signer, newSigner, moved.owner);
        if (sequencerSet != address(0)) ISequencerSetHooks(sequencerSet).onSignerChanged(signer, newSigner);
    }

    // =============================================================== rewards
    /// @notice Add `amount` tokens (from the caller) to the reward reserve.
    /// @param amount tokens to add
    function fundRewards(uint256 amount) external nonReentrant {
        token.safeTransferFrom(msg.sender, address(this), amount);
        rewardReserve += amount;
        emit RewardsFunded(msg.sender, amount, rewardReserve);
    }

    /// @notice Credit the producer of a batch with `l1Blocks * rewardPerBlock` (capped by the reserve).
    /// @dev    Called by the SequencerSet from `recordBatch` with the L1 blocks since the previous
    ///         batch or rotation (what L1 checks; never the header's `l2Blocks`); never reverts
    ///         for lack of funds.
    /// @param signer   batch producer
    /// @param l1Blocks L1 blocks of sequencing the batch is paid for
    /// @return reward  amount credited
    function distributeReward(address signer, uint256 l1Blocks) external returns (uint256 reward) {
        if (msg.sender != sequencerSet) revert LockingPoolNotSequencerSet(msg.sender);
        reward = l1Blocks * params.rewardPerBlock;
        if (reward > rewardReserve) reward = rewardReserve;
        if (reward == 0) return 0;
        rewardReserve -= reward;
        totalRewardsOwed += reward;
        _seqs[signer].reward += reward;
        emit RewardDistributed(signer, l1Blocks, reward);
    }

    /// @notice Pay the accrued reward of `signer` to its owner.
    /// @param signer the sequencer
    function withdrawRewards(address signer) external whenNotPaused nonReentrant onlySeqOwner(signer) {
        Sequencer storage s = _seqs[signer];
        uint256 r = s.reward;
        if (r == 0) revert LockingPoolNothingToClaim(signer);
        s.reward = 0;
        totalRewardsOwed -= r;
        token.safeTransfer(s.owner, r);
        emit RewardsWithdrawn(signer, s.owner, r);
    }

    // ===================================================== slashing & kicking
    /// @notice Slash up to `amount` of `signer`'s stake (Active, Exiting or Kicked): the
    ///         `slashBeneficiaryBps` share is credited to `beneficiary` (it claims it with
    ///         {claimSlashReward}), the rest is queued for burning ({burnSlashed}); everything is
    ///         burned if `beneficiary` is zero. No token moves here (pull pattern: a fraud proof
    ///         pays no ERC20Votes checkpoint writes). Works while paused.
    /// @param signer      the sequencer, under any key it ever held its stake under
    /// @param amount      requested slash (capped at the stake)
    /// @param beneficiary credited its share (e.g. the challenger)
    /// @return paid       amount credited to `beneficiary`
    function slash(address signer, uint256 amount, address beneficiary)
        external
        nonReentrant
        onlyAuthorized
        returns (uint256 paid)
    {
        signer = currentKeyOf(signer);
        Sequencer storage s = _seqs[signer];
        Status st = s.status;
        if (st == Status.None || st == Status.Withdrawn) revert LockingPoolWrongStatus(signer, st);
        uint256 stake = s.amount;
        uint256 slashed = amount < stake ? amount : stake;
        paid = beneficiary == address(0) ? 0 : (slashed * params.slashBeneficiaryBps) / BPS;
        uint256 burned = slashed - paid;
        s.amount = stake - slashed;
        totalLocked -= slashed;
        if (st == Status.Active) activeStake -= slashed;
        // One packed slot for both cumulative shares (checked adds; SafeCast rejects > 2^128).
        SlashTotals storage t = _slashTotals;
        t.paid += SafeCast.toUint128(paid);
        t.burned += SafeCast.toUint128(burned);
        if (paid > 0) claimableReward[beneficiary] += paid;
        emit Slashed(signer, beneficiary, slashed, paid, burned);
    }

    /// @notice Pay the caller the slash rewards credited to it by {slash}.
    /// @return amount tokens transferred to the caller
    function claimSlashReward() external whenNotPaused nonReentrant returns (uint256 amount) {
        amount = claimableReward[msg.sender];
        if (amount == 0) revert LockingPoolNoSlashReward(msg.sender);
        claimableReward[msg.sender] = 0;
        _slashTotals.claimed += SafeCast.toUint128(amount);
        token.safeTransfer(msg.sender, amount);
        emit SlashRewardClaimed(msg.sender, amount);
    }

    /// @notice Burn every slashed token queued for burning by {slash}. Anyone may call it
    ///         (it only destroys tokens that no one can claim); works while paused.
    /// @return amount tokens burned
    function burnSlashed() external nonReentrant returns (uint256 amount) {
        amount = pendingSlashBurn();
        if (amount == 0) revert LockingPoolNothingToBurn();
        _slashTotals.flushed += SafeCast.toUint128(amount);
        ERC20Burnable(address(token)).burn(amount);
        emit SlashedBurned(msg.sender, amount);
    }

    /// @notice Remove `signer` from the active set (or from the exit queue); its remaining stake
    ///         can be claimed by its owner after the withdrawal delay. Works while paused.
    /// @param signer the sequencer (Active or Exiting), under any key it ever held its stake under
    function kick(address signer) external nonReentrant onlyAuthorized {
        signer = currentKeyOf(signer);
        Sequencer storage s = _seqs[signer];
        Status st = s.status; // read once: status and unlockTime share a slot
        uint64 unlockTime;
        if (st == Status.Active) {
            _removeActive(signer);
            activeStake -= s.amount;
            unlockTime = uint64(block.timestamp + params.withdrawalDelay);
            s.unlockTime = unlockTime;
        } else if (st == Status.Exiting) {
            exitingCount -= 1; // keeps its unlock time; no longer counts towards the exit cap
            unlockTime = s.unlockTime;
        } else {
            revert LockingPoolWrongStatus(signer, st);
        }
        s.status = Status.Kicked;
        emit Kicked(signer, msg.sender, unlockTime);
        if (st == Status.Active) _notifyRemoved(signer);
    }

    // ================================================================= views
    /// @notice Total ever slashed (`totalSlashPaid() + totalSlashBurned()`).
    function totalSlashed() external view returns (uint256) {
        SlashTotals memory t = _slashTotals;
        return uint256(t.paid) + t.burned;
    }

    /// @notice Total ever credited to beneficiaries (claimed or not).
    function totalSlashPaid() external view returns (uint256) {
        return _slashTotals.paid;
    }

    /// @notice Total ever assigned to burning (burned or still pending in {pendingSlashBurn}).
    function totalSlashBurned() external view returns (uint256) {
        return _slashTotals.burned;
    }

    /// @notice Slashed tokens waiting for {burnSlashed} (still held by the pool).
    function pendingSlashBurn() public view returns (uint256) {
        SlashTotals memory t = _slashTotals;
        return t.burned - t.flushed;
    }

    /// @notice Slash rewards credited and not yet claimed (still held by the pool).
    function slashRewardsOwed() external view returns (uint256) {
        SlashTotals memory t = _slashTotals;
        return t.paid - t.claimed;
    }

    /// @notice The record of `signer`.
    function sequencer(address signer) external view returns (Sequencer memory) {
        return _seqs[signer];
    }

    /// @notice The key the stake once held under `signer` is held under now (`signer` itself if
    ///         it never moved). O(1): retired keys point at the first key, which points at the latest.
    function currentKeyOf(address signer) public view returns (address) {
        address first = _firstKey[signer];
        if (first == address(0)) first = signer;
        address latest = _latestKey[first];
        return latest == address(0) ? first : latest;
    }

    /// @notice Stake of `signer` if it is in the active set, else 0 (its weight in batch signatures).
    function activeStakeOf(address signer) external view returns (uint256) {
        return _activePos[signer] == 0 ? 0 : _seqs[signer].amount;
    }

    /// @notice Status of `signer`.
    function statusOf(address signer) external view returns (Status) {
        return _seqs[signer].status;
    }

    /// @notice True if `signer` is in the active set.
    function isActive(address signer) external view returns (bool) {
        return _activePos[signer] != 0;
    }

    /// @notice Size of the active set.
    function activeCount() external view returns (uint256) {
        return _active.length;
    }

    /// @notice Signers of the active set (unordered).
    function activeSigners() external view returns (address[] memory) {
        return _active;
    }

    /// @notice Signers of the active set and their weights in a draw whose seed was committed at
    ///         L1 block `commitBlock`: the stake, except that stake added after that block does
    ///         not count (a new sequencer weighs 0 until the next commitment), so nobody can
    ///         change its weight once the seed block exists. `commitBlock` 0: the stakes.
    function drawSet(uint256 commitBlock) external view returns (address[] memory signers, uint256[] memory weights) {
        signers = _active;
        weights = new uint256[](signers.length);
        for (uint256 i = 0; i < signers.length; i++) {
            uint256 amount = _seqs[signers[i]].amount;
            if (commitBlock != 0) {
                DrawBase memory d = _drawBase[signers[i]];
                if (d.sinceBlock > commitBlock && d.amount < amount) amount = d.amount;
            }
            weights[i] = amount;
        }
    }

    /// @notice Signers and stakes of the active set (same order), for stake-weighted selection.
    function activeSet() external view returns (address[] memory signers, uint256[] memory stakes) {
        signers = _active;
        stakes = new uint256[](signers.length);
        for (uint256 i = 0; i < signers.length; i++) {
            stakes[i] = _seqs[signers[i]].amount;
        }
    }

    /// @dev Record `signer`'s stake `before` an increase, once per seed commitment, so draws
    ///      committed before this block keep weighing the old stake ({drawSet}).
    function _noteIncrease(address signer, uint256 before) private {
        DrawBase storage d = _drawBase[signer];
        uint256 since = d.sinceBlock;
        // A first increase (a new lock) is always recorded: no need to ask the set.
        uint256 commit = 0;
        address set = sequencerSet;
        if (since != 0 && set != address(0)) {
            // A set without the view (or an EOA in tests) freezes nothing new: commit 0.
            (bool ok, bytes memory ret) = set.staticcall(abi.encodeCall(ISequencerSetHooks.drawCommitBlock, ()));
            if (ok && ret.length == 32) commit = abi.decode(ret, (uint256));
        }
        if (since <= commit) {
            d.amount = SafeCast.toUint128(before);
            d.sinceBlock = uint64(block.number);
        }
    }

    // ============================================================ governance
    /// @notice Replace all parameters.
    /// @param p new parameters (min <= max, maxSequencers > 0, bps <= 10000)
    function setParams(Params calldata p) external onlyOwner {
        _setParams(p);
    }

    /// @notice Set the withdrawal delay (seconds).
    function setWithdrawalDelay(uint256 delay) external onlyOwner {
        Params memory p = params;
        p.withdrawalDelay = delay;
        _setParams(p);
    }

    /// @notice Set the minimum and maximum stake.
    function setLockBounds(uint256 minLock, uint256 maxLock) external onlyOwner {
        Params memory p = params;
        p.minLock = minLock;
        p.maxLock = maxLock;
        _setParams(p);
    }

    /// @notice Set the maximum size of the active set.
    function setMaxSequencers(uint256 maxSequencers) external onlyOwner {
        Params memory p = params;
        p.maxSequencers = maxSequencers;
        _setParams(p);
    }

    /// @notice Set the reward per L2 block.
    function setRewardPerBlock(uint256 rewardPerBlock) external onlyOwner {
        Params memory p = params;
        p.rewardPerBlock = rewardPerBlock;
        _setParams(p);
    }

    /// @notice Allow or disallow `account` to slash and kick.
    function setAuthorized(address account, bool allowed) external onlyOwner {
        if (account == address(0)) revert LockingPoolZeroAddress();
        authorized[account] = allowed;
        emit AuthorizedSet(account, allowed);
    }

    /// @notice Set the SequencerSet (notified of set changes; distributes rewards; may slash/kick).
    function setSequencerSet(address set) external onlyOwner {
        if (set == address(0)) revert LockingPoolZeroAddress();
        if (sequencerSet != address(0)) {
            authorized[sequencerSet] = false;
            emit AuthorizedSet(sequencerSet, false);
        }
        sequencerSet = set;
        authorized[set] = true;
        emit AuthorizedSet(set, true);
        emit SequencerSetChanged(set);
    }

    /// @notice Turn the owner whitelist on or off.
    function setWhitelistEnabled(bool enabled) external onlyOwner {
        whitelistEnabled = enabled;
        emit WhitelistEnabledSet(enabled);
    }

    /// @notice Add or remove `owner_` from the whitelist.
    function setWhitelisted(address owner_, bool allowed) external onlyOwner {
        whitelisted[owner_] = allowed;
        emit WhitelistedSet(owner_, allowed);
    }

    /// @notice Set the emergency guardian (address(0): none, only the owner pauses).
    function setGuardian(address guardian_) external onlyOwner {
        guardian = guardian_;
        emit GuardianSet(guardian_);
    }

    /// @notice Pause staking operations (slash and kick keep working) for {MAX_PAUSE}, at once:
    ///         the guardian or the owner. The pause ends by itself; a new one may start only
    ///         {PAUSE_COOLDOWN} after it ended, so a sequencer's exit is delayed at most
    ///         {MAX_PAUSE} at a time and never held for good.
    function pause() external {
        _onlyGuardian();
        uint256 until = pausedUntil;
        if (until != 0 && block.timestamp < until + PAUSE_COOLDOWN) {
            revert LockingPoolPauseCoolingDown(until + PAUSE_COOLDOWN, block.timestamp);
        }
        until = block.timestamp + MAX_PAUSE;
        pausedUntil = uint64(until);
        emit Paused(msg.sender);
        emit PausedUntil(msg.sender, until);
    }

    /// @notice End the pause now (the guardian or the owner); the cooldown counts from now.
    function unpause() external {
        _onlyGuardian();
        if (!paused()) revert ExpectedPause();
        pausedUntil = uint64(block.timestamp);
        emit Unpaused(msg.sender);
    }

    /// @notice Whether staking operations are paused: until {pausedUntil}.
    function paused() public view override returns (bool) {
        return block.timestamp < pausedUntil;
    }

    // ============================================================== internal
    function _onlyGuardian() internal view {
        if (msg.sender != guardian && msg.sender != owner()) revert LockingPoolNotGuardian(msg.sender);
    }

    function _setParams(Params memory p) internal {
        if (p.minLock == 0) revert LockingPoolBadParam("minLock", p.minLock);
        if (p.maxLock < p.minLock) revert LockingPoolBadParam("maxLock", p.maxLock);
        if (p.maxSequencers == 0) revert LockingPoolBadParam("maxSequencers", p.maxSequencers);
        if (p.slashBeneficiaryBps > BPS) revert LockingPoolBadParam("slashBeneficiaryBps", p.slashBeneficiaryBps);
        params = p;
        emit ParamsUpdated(p);
    }

    /// @dev Swap-and-pop removal from the unordered active list.
    function _removeActive(address signer) internal {
        uint256 pos = _activePos[signer];
        uint256 last = _active.length;
        if (pos != last) {
            address moved = _active[last - 1];
            _active[pos - 1] = moved;
            _activePos[moved] = pos;
        }
        _active.pop();
        delete _activePos[signer];
    }

    function _notifyRemoved(address signer) internal {
        if (sequencerSet != address(0)) ISequencerSetHooks(sequencerSet).onSequencerRemoved(signer);
    }
}
