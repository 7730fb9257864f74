// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IDepositQueue} from "../bridge/IDepositQueue.sol";
import {FrostVerifier} from "./FrostVerifier.sol";
import {ISequencerSet} from "./ISequencerSet.sol";
import {ISequencerSetHooks, LockingPool} from "./LockingPool.sol";

/// @title SequencerSet
/// @notice Epochs and rotation of the decentralized sequencer: which active sequencer may append
///         the next batch, stake-weighted random selection at each epoch boundary, re-selection
///         when the current sequencer misses its heartbeat (or >2/3 of the stake ask for it), the
///         batch-signature check (one FROST signature under the set's group key, whose shares
///         are weighted by stake, so it means more than 2/3 of the active STAKE; the >2/3-of-stake
///         ECDSA list only installs or recovers that key), removal of a silent co-signer by the
///         same signature ({removeSilent}), and punishment of proven faults (following the staker across keys).
///         Liveness is judged by progress, not pings: once deposits queued on L1 after the
///         current sequencer's last batch have been waiting (noted by {noteWork}) longer than the
///         heartbeat timeout without a batch, anyone may {reselect} it even if it keeps calling
///         {heartbeat}; peers (>2/3 of the stake) replace one that pings but produces nothing
///         with {reselectWithSignatures}.
///         Batch rewards are paid for what L1 checks: the L1 blocks since the previous batch or
///         rotation (capped at the heartbeat timeout), never the header's unchecked `l2Blocks`.
/// @dev    Epochs are measured in L1 seconds (`block.timestamp`): anyone may call
///         {advanceEpoch} once `epochEnd` has passed. Selection seed: at every rotation the
///         contract commits to the next L1 block (`seedBlock = block.number + 1`); the next
///         draw uses `keccak256(abi.encode(blockhash(seedBlock), epoch, round))`, so nobody knows
///         the seed when the commitment is made. The hash is stored ({seedHash}) by the first
///         heartbeat, batch or {recordSeed} while L1 returns it, so a draw hours later still
///         uses it; only if nobody touched the set for 256 blocks (or the draw is in the seed
///         block itself) the previous block's hash is used instead. The draw weighs the stakes
///         as of the commitment (LockingPool.drawSet(drawCommitBlock())): stake added once the
///         seed block exists weighs from the next draw on (no grinding; see docs/spec.md).
contract SequencerSet is ISequencerSet, ISequencerSetHooks, Ownable {
    /// @notice Why a rotation happened (in {SequencerRotated}).
    enum Reason {
        EpochEnded, // advanceEpoch after epochEnd (or the first draw)
        HeartbeatMissed, // reselect() after the heartbeat deadline
        SetVote, // reselectWithSignatures() with >2/3 of the stake
        Removed, // the current sequencer exited or was kicked (or removed as silent)
        Punished, // punish() on the current sequencer
        NoProgress // reselect() after work waited a heartbeat timeout with no batch
    }

    /// @notice Progress of the current sequencer (one slot): liveness by batches, not pings.
    struct Progress {
        uint64 lastBatchAt; // time of the last batch (any sequencer's), or of the deployment
        uint64 workSince; // when work waiting for a batch was noted (0: none noted)
        uint64 queuedAtBatch; // deposits queued on L1 at the last batch
        uint64 seedRecordedFor; // the seed block whose hash {seedHash} holds (0: none)
    }

    /// @notice Rotation timing (seconds).
    struct Timing {
        uint64 epochLength; // seconds per epoch
        uint64 heartbeatTimeout; // seconds without a batch before reselect() is allowed
    }

    /// @notice Where the rotation stands. Packed into three slots (epoch+round |
    ///         current+epochStart | epochEnd+lastHeartbeat+seedBlock+lastRewardBlock) so a rotation (on every
    ///         punishment) touches three slots, and `round` shares its slot with the non-zero
    ///         `epoch` (no zero-to-non-zero write). 64 bits outlast any L1 clock or block number.
    struct EpochInfo {
        uint64 epoch; // increases at every epoch boundary
        uint64 round; // re-selections within the epoch
        address current; // current sequencer (signer), or zero before the first draw
        uint64 epochStart; // timestamp the epoch started
        uint64 epochEnd; // timestamp after which advanceEpoch() is allowed
        uint64 lastHeartbeat; // last batch of the current sequencer (or its start)
        uint64 seedBlock; // L1 block whose hash seeds the next draw
        uint64 lastRewardBlock; // L1 block up to which the current sequencer has been rewarded
    }

    /// @dev {EpochInfo} as stored: the same fields, and the count of members with missed
    ///      rounds in the spare bits of the slot that holds `current` (read by every batch).
    struct EpochState {
        uint64 epoch;
        uint64 round;
        address current;
        uint64 epochStart;
        uint32 absentMembers; // members whose {missedRounds} is not zero
        uint64 epochEnd;
        uint64 lastHeartbeat;
        uint64 seedBlock;
        uint64 lastRewardBlock;
    }

    /// @notice The LockingPool holding the stakes and the active set.
    LockingPool public immutable pool;
    /// @notice Epoch length and heartbeat timeout.
    Timing public timing;
    /// @notice Rollup contracts allowed to call recordBatch and punish.
    mapping(address account => bool) public rollup;

    EpochState internal _info;
    Progress internal _progress;
    /// @notice blockhash of the seed block, stored while it is readable (see {recordSeed}), so
    ///         a draw long after it still uses it instead of a hash its caller could pick.
    bytes32 public seedHash;

    /// @notice The bridge's deposit queue: deposits queued after the last batch are work the
    ///         current sequencer must include (set once by governance after the bridge deploys).
    IDepositQueue public depositQueue;

    /// @notice x coordinate of the set's FROST group key (its y is even), zero until the first
    ///         key is installed. Resharing to a new set keeps it; only a new DKG changes it.
    uint256 public groupKeyX;
    /// @notice Number of group keys installed so far (part of {groupKeyDigest}: no replay).
    uint256 public groupKeyVersion;

    /// @notice Domain tag of the reselection message signed by the set.
    bytes32 public constant RESELECT_TAG = keccak256("l2kit.SequencerSet.reselect");
    /// @notice Domain tag of the key-installation message signed by the set (ECDSA).
    bytes32 public constant GROUP_KEY_TAG = keccak256("l2kit.SequencerSet.groupKey");
    /// @notice Domain tag of the message by which the set removes a silent co-signer.
    bytes32 public constant SILENT_TAG = keccak256("l2kit.SequencerSet.removeSilent");
    /// @notice L1 slot time the per-batch reward cap assumes (seconds).
    uint256 public constant L1_BLOCK_TIME = 12;
    /// @notice Nonce of the removal messages (one removal consumes it: no replay).
    uint256 public silentNonce;
    /// @notice Consecutive co-signing rounds (batches) a member missed, as the batches' signed
    ///         absence bitmaps say (0 once it takes part again).
    mapping(address signer => uint256 missed) public missedRounds;
    /// @notice A member that misses this many consecutive rounds is kicked without a slash
    ///         (governance parameter, slow lane; 0: never).
    uint256 public missLimit;
    /// @notice Most members an absence bitmap can name (bit i: member i of {activeSigners}).
    uint256 public constant MAX_BITMAP_MEMBERS = 256;

    // ------------------------------------------------------------------ errors
    /// @notice The signers hold no more than 2/3 of the active stake.
    error SequencerSetNotEnoughSignatures(uint256 signedStake, uint256 activeStake);
    /// @notice Signature `index` does not recover to a valid address.
    error SequencerSetInvalidSignature(uint256 index);
    /// @notice Signature `index` is not from a signer strictly above the previous one.
    error SequencerSetSignersNotAscending(uint256 index, address signer, address previous);
    /// @notice Signature `index` is from an address that is not an active signer.
    error SequencerSetSignerNotActive(uint256 index, address signer);
    /// @notice The caller is not an authorised rollup contract.
    error SequencerSetNotRollup(address caller);
    /// @notice Only the LockingPool may call this.
    error SequencerSetNotPool(address caller);
    /// @notice `signer` is not the current sequencer.
    error SequencerSetNotCurrent(address signer, address current);
    /// @notice The epoch has not ended yet.
    error SequencerSetEpochNotOver(uint256 epochEnd, uint256 nowTime);
    /// @notice The current sequencer's heartbeat deadline has not passed.
    error SequencerSetHeartbeatNotMissed(uint256 deadline, uint256 nowTime);
    /// @notice There is no active sequencer to draw.
    error SequencerSetNoActiveSequencers();
    /// @notice There is no current sequencer yet (call advanceEpoch first).
    error SequencerSetNoCurrentSequencer();
    /// @notice A timing value is out of range.
    error SequencerSetBadTiming(uint256 epochLength, uint256 heartbeatTimeout);
    /// @notice A zero address where one is required.
    error SequencerSetZeroAddress();
    /// @notice Selection over an empty or all-zero weight list.
    error SequencerSetZeroWeight();
    /// @notice (x, y) is not a usable group key (not on secp256k1, odd y, or x >= n).
    error SequencerSetInvalidGroupKey(uint256 x, uint256 y);
    /// @notice No group key is installed yet: the set signs nothing but its first key
    ///         ({installGroupKey}, or governance's {setGroupKey}).
    error SequencerSetNoGroupKey();
    /// @notice A set signature is exactly one 96-byte FROST signature (`count` given, the first
    ///         `length` bytes long).
    error SequencerSetBadFrostSignature(uint256 count, uint256 length);
    /// @notice The FROST signature does not verify over `digest` under the group key.
    error SequencerSetInvalidFrostSignature(bytes32 digest, uint256 groupKeyX);
    /// @notice `signer` is not in the active set.
    error SequencerSetNotActive(address signer);
    /// @notice No deposit is waiting: `queued` deposits on L1, `queuedAtBatch` at the last batch.
    error SequencerSetNoWork(uint256 queued, uint256 queuedAtBatch);
    /// @notice Waiting work was already noted at `since`.
    error SequencerSetWorkAlreadyNoted(uint256 since);
    /// @notice The seed block's hash is not readable now (the seed block is the current or a
    ///         future block, or more than 256 blocks old), or it is recorded already.
    error SequencerSetSeedUnavailable(uint256 seedBlock, uint256 blockNumber);
    /// @notice The deposit queue is set already (to `queue`).
    error SequencerSetDepositQueueAlreadySet(address queue);
    /// @notice The absence bitmap names members beyond the `members` of the active set.
    error SequencerSetBadAbsence(uint256 absent, uint256 members);

    // ------------------------------------------------------------------ events
    /// @notice A new sequencer became current.
    event SequencerRotated(
        uint256 indexed epoch, uint256 round, address indexed previous, address indexed next, Reason reason
    );
    /// @notice A batch by `signer` was recorded (its heartbeat); `l2Blocks` is the header's claim
    ///         (not checked, not rewarded); `reward` paid for `l1Blocks` L1 blocks of service.
    event BatchRecorded(
        address indexed signer, uint256 indexed epoch, uint256 l2Blocks, uint256 l1Blocks, uint256 reward
    );
    /// @notice More than 2/3 of the stake removed the silent co-signer `signer` (no slash).
    event SilentRemoved(address indexed signer, uint256 nonce);
    /// @notice `signer` missed `missed` consecutive co-signing rounds (>= {missLimit}): kicked,
    ///         no slash.
    event MissedRoundsRemoved(address indexed signer, uint256 missed);
    /// @notice The miss limit changed (0: off).
    event MissLimitSet(uint256 limit);
    /// @notice `queued` deposits are on L1, `queuedAtBatch` were at the current sequencer's last
    ///         batch: it must append a batch by `deadline` or be reselectable ({Reason.NoProgress}).
    event WorkNoted(uint256 queued, uint256 queuedAtBatch, uint256 deadline);
    /// @notice The hash of seed block `seedBlock` was stored for the next draw.
    event SeedRecorded(uint256 indexed seedBlock, bytes32 hash);
    /// @notice The deposit queue whose waiting deposits count as work was set.
    event DepositQueueSet(address indexed queue);
    /// @notice The current sequencer `signer` sent a liveness ping.
    event Heartbeat(address indexed signer, uint256 indexed epoch);
    /// @notice `signer` was punished by `by`.
    event SequencerPunished(address indexed signer, address indexed by, address indexed beneficiary, uint256 paid);
    /// @notice A rollup contract was allowed or disallowed.
    event RollupSet(address indexed account, bool allowed);
    /// @notice Timing parameters changed.
    event TimingSet(uint256 epochLength, uint256 heartbeatTimeout);
    /// @notice Group key number `version` was installed, by >2/3 of the set (`byGovernance`
    ///         false) or by governance (recovery).
    event GroupKeyInstalled(uint256 indexed version, uint256 indexed x, uint256 previousX, bool byGovernance);

    modifier onlyRollup() {
        if (!rollup[msg.sender]) revert SequencerSetNotRollup(msg.sender);
        _;
    }

    modifier onlyPool() {
        if (msg.sender != address(pool)) revert SequencerSetNotPool(msg.sender);
        _;
    }

    /// @param pool_             the LockingPool
    /// @param epochLength      seconds per epoch
    /// @param heartbeatTimeout seconds of silence before reselect() is allowed
    /// @param owner_           governance (deployer first, the Timelock later)
    constructor(LockingPool pool_, uint64 epochLength, uint64 heartbeatTimeout, address owner_) Ownable(owner_) {
        if (address(pool_) == address(0)) revert SequencerSetZeroAddress();
        pool = pool_;
        _setTiming(epochLength, heartbeatTimeout);
        _info.seedBlock = uint64(block.number);
        // Non-zero from the start, so recording a seed (in a heartbeat or batch) never pays a
        // zero-to-non-zero write that a gas estimate in the previous block did not see.
        _progress.lastBatchAt = uint64(block.timestamp);
        seedHash = bytes32(uint256(1)); // a placeholder: valid only once seedRecordedFor matches
    }

    // ========================================================= ISequencerSet
    /// @inheritdoc ISequencerSet
    function currentSequencer() external view returns (address) {
        return _info.current;
    }

    /// @inheritdoc ISequencerSet
    function activeSigners() external view returns (address[] memory) {
        return pool.activeSigners();
    }

    /// @notice Signers and stakes of the active set (same order): the weights of batch signatures.
    function activeStakes() external view returns (address[] memory signers, uint256[] memory stakes) {
        return pool.activeSet();
    }

    /// @inheritdoc ISequencerSet
    /// @dev Exactly one 96-byte `R.x || R.y || z` FROST signature over `digest` under the
    ///      installed group key (constant gas, see {FrostVerifier}); custom errors
    ///      {SequencerSetNoGroupKey} (none installed yet: no batch before the first key),
    ///      {SequencerSetBadFrostSignature}, {SequencerSetInvalidFrostSignature}. An ECDSA list is
    ///      never accepted here: it only installs or recovers the key ({installGroupKey}).
    function verifyBatchSignatures(bytes32 digest, bytes[] calldata signatures) public view {
        uint256 key = groupKeyX;
        if (key == 0) revert SequencerSetNoGroupKey();
        if (signatures.length != 1 || signatures[0].length != 96) {
            revert SequencerSetBadFrostSignature(signatures.length, signatures.length == 0 ? 0 : signatures[0].length);
        }
        if (!FrostVerifier.verifyDigest(key, digest, signatures[0])) {
            revert SequencerSetInvalidFrostSignature(digest, key);
        }
    }

    /// @notice Reverts unless `signatures` (65-byte ECDSA over `digest`, no prefix, strictly
    ///         ascending signers) come from active signers holding more than 2/3 of the active
    ///         STAKE (so cheap minimum-stake sybils can neither halt nor sign). Used only to
    ///         install or recover the group key ({installGroupKey}); batches, reselection and
    ///         removals are signed by that key ({verifyBatchSignatures}).
    /// @dev Custom errors: {SequencerSetNotEnoughSignatures}, {SequencerSetInvalidSignature},
    ///      {SequencerSetSignersNotAscending}, {SequencerSetSignerNotActive}.
    /// @param digest     signed 32-byte digest
    /// @param signatures ordered ECDSA signatures
    function verifySetSignatures(bytes32 digest, bytes[] calldata signatures) public view {
        uint256 signed = 0;
        address previous = address(0);
        for (uint256 i = 0; i < signatures.length; i++) {
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signatures[i]);
            if (err != ECDSA.RecoverError.NoError) revert SequencerSetInvalidSignature(i);
            // Strictly ascending signers make duplicates impossible without a "seen" set.
            if (signer <= previous) revert SequencerSetSignersNotAscending(i, signer, previous);
            uint256 stake = pool.activeStakeOf(signer);
            if (stake == 0) revert SequencerSetSignerNotActive(i, signer);
            signed += stake;
            previous = signer;
        }
        // More than 2/3 of the active stake: signed * 3 > active * 2.
        uint256 active = pool.activeStake();
        if (signed * 3 <= active * 2) revert SequencerSetNotEnoughSignatures(signed, active);
    }

    /// @inheritdoc ISequencerSet
    /// @dev The reward counts L1 blocks since the last batch or rotation, capped at the heartbeat
    ///      timeout's worth ({rewardCapBlocks}): L1 checks those, not the header's `l2Blocks`, so
    ///      a signing majority cannot inflate it and a burst of batches earns nothing extra.
    function recordBatch(address signer, uint256 l2Blocks, uint256 absent) external onlyRollup {
        if (signer != _info.current) revert SequencerSetNotCurrent(signer, _info.current);
        uint256 l1Blocks = block.number - _info.lastRewardBlock;
        uint256 cap = rewardCapBlocks();
        if (l1Blocks > cap) l1Blocks = cap;
        _info.lastHeartbeat = uint64(block.timestamp);
        _info.lastRewardBlock = uint64(block.number);
        IDepositQueue q = depositQueue;
        Progress memory p = _progress;
        p.lastBatchAt = uint64(block.timestamp);
        p.workSince = 0;
        p.queuedAtBatch = uint64(address(q) == address(0) ? 0 : q.depositCount());
        _recordSeed(p);
        _progress = p;
        uint256 reward = l1Blocks == 0 ? 0 : pool.distributeReward(signer, l1Blocks);
        emit BatchRecorded(signer, _info.epoch, l2Blocks, l1Blocks, reward);
        if (absent != 0 || _info.absentMembers != 0) _recordAbsence(signer, absent);
    }

    /// @dev Count, per member of the active set (in {activeSigners} order, as signed), the
    ///      consecutive batches whose absence bitmap `absent` marks it (bit i: member i); a
    ///      member that took part goes back to 0. The appending sequencer took part whatever the
    ///      bitmap says. Members whose count reaches {missLimit} are kicked (no slash) after
    ///      every count is written, so the pool's swap-and-pop cannot shift the positions read.
    function _recordAbsence(address signer, uint256 absent) internal {
        address[] memory members = pool.activeSigners();
        uint256 n = members.length;
        if (n < MAX_BITMAP_MEMBERS && absent >> n != 0) revert SequencerSetBadAbsence(absent, n);
        uint256 limit = missLimit;
        uint256 counted = 0;
        address[] memory out = new address[](n);
        uint256[] memory outMissed = new uint256[](n);
        uint256 kicks = 0;
        for (uint256 i = 0; i < n; i++) {
            address m = members[i];
            uint256 before = missedRounds[m];
            uint256 missed = (absent >> i) & 1 == 1 && m != signer ? before + 1 : 0;
            if (limit != 0 && missed >= limit) {
                (out[kicks], outMissed[kicks]) = (m, missed);
                kicks++;
                missed = 0; // the kick below starts it afresh should it lock again
            } else if (missed != 0) {
                counted++;
            }
            if (missed != before) missedRounds[m] = missed;
        }
        _info.absentMembers = uint32(counted);
        for (uint256 k = 0; k < kicks; k++) {
            emit MissedRoundsRemoved(out[k], outMissed[k]);
            pool.kick(out[k]); // rotates through onSequencerRemoved if it is current
        }
    }

    /// @notice Most L1 blocks one batch is rewarded for: the heartbeat timeout in L1 slots.
    function rewardCapBlocks() public view returns (uint256) {
        return uint256(timing.heartbeatTimeout) / L1_BLOCK_TIME + 1;
    }

    /// @inheritdoc ISequencerSet
    function currentKeyOf(address signer) external view returns (address) {
        return pool.currentKeyOf(signer);
    }

    /// @inheritdoc ISequencerSet
    function punish(address signer, uint256 amount, address beneficiary)
        external
        onlyRollup
        returns (uint256 paid)
    {
        // The pool slashes and kicks the staker under its current key (it may have moved since).
        signer = pool.currentKeyOf(signer);
        paid = pool.slash(signer, amount, beneficiary);
        LockingPool.Status st = pool.statusOf(signer);
        // Kicking an active sequencer calls back onSequencerRemoved, which rotates if it is current.
        if (st == LockingPool.Status.Active || st == LockingPool.Status.Exiting) pool.kick(signer);
        emit SequencerPunished(signer, msg.sender, beneficiary, paid);
    }

    /// @notice Liveness ping of the current sequencer between batches: moves its heartbeat
    ///         deadline like {recordBatch} does, without a reward. Only the current sequencer.
    ///         It does not move the progress deadline ({progressDeadline}): pinging while work
    ///         waits does not keep the slot.
    function heartbeat() external {
        if (msg.sender != _info.current) revert SequencerSetNotCurrent(msg.sender, _info.current);
        _info.lastHeartbeat = uint64(block.timestamp);
        Progress memory p = _progress;
        if (_recordSeed(p)) _progress = p;
        emit Heartbeat(msg.sender, _info.epoch);
    }

    // ============================================================== rotation
    /// @notice Start the next epoch with a stake-weighted draw. Anyone may call it once the
    ///         epoch has ended, or at any time while there is no current sequencer.
    function advanceEpoch() external {
        if (_info.current != address(0) && block.timestamp < _info.epochEnd) {
            revert SequencerSetEpochNotOver(_info.epochEnd, block.timestamp);
        }
        if (pool.activeCount() == 0) revert SequencerSetNoActiveSequencers();
        _rotate(address(0), Reason.EpochEnded);
    }

    /// @notice Replace the current sequencer because it missed its heartbeat deadline
    ///         (`lastHeartbeat + heartbeatTimeout`, {Reason.HeartbeatMissed}) or made no progress:
    ///         work noted by {noteWork} waited past {progressDeadline} without a batch
    ///         ({Reason.NoProgress}), heartbeats notwithstanding. The replaced sequencer is
    ///         excluded from the draw unless it is the only active one. Anyone may call it.
    /// @dev Reverts {SequencerSetHeartbeatNotMissed} with the earliest time it will be allowed.
    function reselect() external {
        if (_info.current == address(0)) revert SequencerSetNoCurrentSequencer();
        uint256 deadline = heartbeatDeadline();
        if (block.timestamp > deadline) {
            _rotate(_info.current, Reason.HeartbeatMissed);
            return;
        }
        uint256 stalled = progressDeadline();
        if (stalled != 0 && block.timestamp > stalled) {
            _rotate(_info.current, Reason.NoProgress);
            return;
        }
        if (stalled != 0 && stalled < deadline) deadline = stalled;
        revert SequencerSetHeartbeatNotMissed(deadline, block.timestamp);
    }

    /// @notice Record that work waits for the current sequencer: deposits queued on L1 after its
    ///         last batch. From now it has one heartbeat timeout to append a batch, whatever it
    ///         pings, or anyone may {reselect} it. Anyone may call it (once per batch).
    function noteWork() external {
        if (_info.current == address(0)) revert SequencerSetNoCurrentSequencer();
        Progress memory p = _progress;
        if (p.workSince != 0) revert SequencerSetWorkAlreadyNoted(p.workSince);
        IDepositQueue q = depositQueue;
        uint256 queued = address(q) == address(0) ? 0 : q.depositCount();
        if (queued <= p.queuedAtBatch) revert SequencerSetNoWork(queued, p.queuedAtBatch);
        _progress.workSince = uint64(block.timestamp);
        emit WorkNoted(queued, p.queuedAtBatch, block.timestamp + timing.heartbeatTimeout);
    }

    /// @notice Time after which {reselect} may replace the current sequencer for lack of
    ///         progress: `workSince + heartbeatTimeout` (the sequencer's turn restarts it), or 0
    ///         while no work is noted.
    function progressDeadline() public view returns (uint256) {
        uint256 since = _progress.workSince;
        return since == 0 ? 0 : since + timing.heartbeatTimeout;
    }

    /// @notice The current sequencer's progress record ({Progress}).
    function progress() external view returns (Progress memory) {
        return _progress;
    }

    /// @inheritdoc ISequencerSet
    function rotateOut(address signer) external onlyRollup {
        if (signer != _info.current) revert SequencerSetNotCurrent(signer, _info.current);
        _rotate(signer, Reason.HeartbeatMissed);
    }

    /// @notice Replace the current sequencer with the agreement of more than 2/3 of the active
    ///         set's stake: the group key's FROST signature over {reselectDigest}, checked as in
    ///         {verifyBatchSignatures}.
    /// @param signatures one 96-byte FROST signature over `reselectDigest()`
    function reselectWithSignatures(bytes[] calldata signatures) external {
        if (_info.current == address(0)) revert SequencerSetNoCurrentSequencer();
        verifyBatchSignatures(reselectDigest(), signatures);
        _rotate(_info.current, Reason.SetVote);
    }

    /// @notice Remove `signer`, a member that stays silent in co-signing, from the active set with
    ///         the agreement of more than 2/3 of the stake: the group key's FROST signature over
    ///         {silentDigest}, checked as in {verifyBatchSignatures}. No governance vote and no
    ///         slash: the member is kicked and may claim its stake after the withdrawal delay. A
    ///         member holding more than 1/3 of the shares cannot be removed this way (the rest
    ///         cannot sign: then the seed's rule holds and the set halts).
    /// @param signer     the silent member
    /// @param signatures one 96-byte FROST signature over `silentDigest(signer)`
    function removeSilent(address signer, bytes[] calldata signatures) external {
        if (!pool.isActive(signer)) revert SequencerSetNotActive(signer);
        verifyBatchSignatures(silentDigest(signer), signatures);
        uint256 nonce = silentNonce;
        silentNonce = nonce + 1;
        emit SilentRemoved(signer, nonce);
        pool.kick(signer); // rotates through onSequencerRemoved if it is current
    }

    /// @notice The message the set signs to remove the silent member `signer`:
    ///         `keccak256(abi.encode(SILENT_TAG, chainid, this, signer, silentNonce))`.
    function silentDigest(address signer) public view returns (bytes32) {
        return keccak256(abi.encode(SILENT_TAG, block.chainid, address(this), signer, silentNonce));
    }

    /// @notice The message the set signs to replace the current sequencer now:
    ///         `keccak256(abi.encode(RESELECT_TAG, chainid, this, epoch, round, current))`.
    function reselectDigest() public view returns (bytes32) {
        return keccak256(abi.encode(RESELECT_TAG, block.chainid, address(this), _info.epoch, _info.round, _info.current));
    }

    /// @notice Time after which {reselect} is allowed.
    function heartbeatDeadline() public view returns (uint256) {
        return uint256(_info.lastHeartbeat) + timing.heartbeatTimeout;
    }

    /// @notice Where the rotation stands.
    function epochInfo() external view returns (EpochInfo memory) {
        EpochState storage i = _info;
        return EpochInfo(
            i.epoch, i.round, i.current, i.epochStart, i.epochEnd, i.lastHeartbeat, i.seedBlock, i.lastRewardBlock
        );
    }

    /// @notice Store the seed block's hash while L1 still returns it (within 256 blocks), so the
    ///         next draw uses it however late it happens. Anyone may call it; batches and
    ///         heartbeats of the current sequencer do it too.
    function recordSeed() external {
        Progress memory p = _progress;
        if (!_recordSeed(p)) revert SequencerSetSeedUnavailable(_info.seedBlock, block.number);
        _progress = p;
    }

    /// @notice L1 block in which the next draw's seed was committed (the last rotation's): stake
    ///         added after it (from the seed block on) does not weigh in that draw
    ///         (LockingPool.drawSet). 0 before the first draw (the launch draw weighs the stakes
    ///         as they are).
    function drawCommitBlock() public view returns (uint256) {
        return _info.epoch == 0 ? 0 : uint256(_info.seedBlock) - 1;
    }

    /// @notice The seed the next draw would use if it happened in this block: the seed block's
    ///         hash (recorded, or read from L1 within 256 blocks); only if neither is available,
    ///         the previous block's hash.
    function nextSeed() public view returns (bytes32) {
        uint64 sb = _info.seedBlock;
        bytes32 h = _progress.seedRecordedFor == sb && sb != 0 ? seedHash : blockhash(sb);
        if (h == bytes32(0) && block.number > 0) h = blockhash(block.number - 1);
        uint256 epoch = _info.epoch;
        uint256 round = _info.round;
        return keccak256(abi.encode(h, epoch, round));
    }

    /// @notice Stake-weighted draw: the index `i` such that
    ///         `sum(weights[0..i)) <= uint256(seed) % sum(weights) < sum(weights[0..i])`.
    /// @dev    The modulo bias is below total/2^256 (negligible). Pure: tests and the offchain
    ///         simulation call exactly this code.
    /// @param weights stakes (zero weight: never drawn)
    /// @param seed    random seed
    /// @return index  drawn position in `weights`
    function selectIndex(uint256[] memory weights, bytes32 seed) public pure returns (uint256 index) {
        uint256 total = 0;
        for (uint256 i = 0; i < weights.length; i++) total += weights[i];
        if (total == 0) revert SequencerSetZeroWeight();
        uint256 r = uint256(seed) % total;
        // Walk the cumulative sums until the point r falls inside weights[i].
        for (uint256 i = 0; i < weights.length; i++) {
            if (r < weights[i]) return i;
            r -= weights[i];
        }
        // Unreachable: r < total.
        revert SequencerSetZeroWeight();
    }

    // ================================================================= hooks
    /// @inheritdoc ISequencerSetHooks
    function onSequencerRemoved(address signer) external onlyPool {
        if (missedRounds[signer] != 0) {
            delete missedRounds[signer];
            _info.absentMembers -= 1;
        }
        if (signer == _info.current) _rotate(signer, Reason.Removed);
    }

    /// @inheritdoc ISequencerSetHooks
    function onSignerChanged(address oldSigner, address newSigner) external onlyPool {
        if (oldSigner == _info.current) _info.current = newSigner;
        uint256 missed = missedRounds[oldSigner];
        if (missed != 0) {
            // The count follows the staker to its new key (a key change does not reset it).
            missedRounds[newSigner] = missed;
            delete missedRounds[oldSigner];
        }
    }

    // ============================================================ group key
    /// @notice Install the group key (x, y) with the agreement of more than 2/3 of the active
    ///         set: ECDSA `signatures` over {groupKeyDigest}(x), ordered as in
    ///         {verifySetSignatures}. The first key after the DKG, or a new one when resharing
    ///         could not complete (recovery). Anyone may submit it.
    /// @param x          group key x coordinate
    /// @param y          group key y coordinate (must be even)
    /// @param signatures ECDSA signatures of >2/3 of the active set
    function installGroupKey(uint256 x, uint256 y, bytes[] calldata signatures) external {
        if (!FrostVerifier.isValidKey(x, y)) revert SequencerSetInvalidGroupKey(x, y);
        verifySetSignatures(groupKeyDigest(x), signatures);
        _installGroupKey(x, false);
    }

    /// @notice Governance recovery: install (x, y) without the set's signatures.
    /// @param x group key x coordinate
    /// @param y group key y coordinate (must be even)
    function setGroupKey(uint256 x, uint256 y) external onlyOwner {
        if (!FrostVerifier.isValidKey(x, y)) revert SequencerSetInvalidGroupKey(x, y);
        _installGroupKey(x, true);
    }

    /// @notice What the set signs (ECDSA) to install group key `x` as the next version:
    ///         `keccak256(abi.encode(GROUP_KEY_TAG, chainid, this, groupKeyVersion, x))`.
    /// @param x group key x coordinate
    function groupKeyDigest(uint256 x) public view returns (bytes32) {
        return keccak256(abi.encode(GROUP_KEY_TAG, block.chainid, address(this), groupKeyVersion, x));
    }

    // ============================================================ governance
    /// @notice Allow or disallow rollup contract `account` to call recordBatch and punish.
    function setRollup(address account, bool allowed) external onlyOwner {
        if (account == address(0)) revert SequencerSetZeroAddress();
        rollup[account] = allowed;
        emit RollupSet(account, allowed);
    }

    /// @notice Set the bridge's deposit queue (once): its deposits queued after a batch are work.
    function setDepositQueue(IDepositQueue queue) external onlyOwner {
        if (address(queue) == address(0)) revert SequencerSetZeroAddress();
        if (address(depositQueue) != address(0)) revert SequencerSetDepositQueueAlreadySet(address(depositQueue));
        depositQueue = queue;
        _progress.queuedAtBatch = uint64(queue.depositCount());
        emit DepositQueueSet(address(queue));
    }

    /// @notice Number of members whose {missedRounds} is not zero (while it is zero, a batch
    ///         that marks nobody absent reads nothing more).
    function absentMembers() external view returns (uint256) {
        return _info.absentMembers;
    }

    /// @notice Set the number of consecutive missed co-signing rounds that removes a member
    ///         (0: never). A new limit applies from the next batch, to counts already run up.
    function setMissLimit(uint256 limit) external onlyOwner {
        missLimit = limit;
        emit MissLimitSet(limit);
    }

    /// @notice Set the epoch length and heartbeat timeout (seconds).
    function setTiming(uint64 epochLength, uint64 heartbeatTimeout) external onlyOwner {
        _setTiming(epochLength, heartbeatTimeout);
    }

    // ============================================================== internal
    function _installGroupKey(uint256 x, bool byGovernance) internal {
        uint256 previous = groupKeyX;
        groupKeyX = x;
        groupKeyVersion += 1;
        emit GroupKeyInstalled(groupKeyVersion, x, previous, byGovernance);
    }

    function _setTiming(uint64 epochLength, uint64 heartbeatTimeout) internal {
        if (epochLength == 0 || heartbeatTimeout == 0) revert SequencerSetBadTiming(epochLength, heartbeatTimeout);
        timing = Timing(epochLength, heartbeatTimeout);
        emit TimingSet(epochLength, heartbeatTimeout);
    }

    /// @dev Store the seed block's hash in `p`/{seedHash} if readable and not stored yet.
    function _recordSeed(Progress memory p) internal returns (bool) {
        uint64 sb = _info.seedBlock;
        if (p.seedRecordedFor == sb) return false;
        bytes32 h = blockhash(sb);
        if (h == bytes32(0)) return false;
        seedHash = h;
        p.seedRecordedFor = sb;
        emit SeedRecorded(sb, h);
        return true;
    }

    /// @dev Draw weights: the stakes, with `exclude` zeroed when anyone else is active. If no
    ///      eligible sequencer has stake left (all slashed to zero), fall back to equal weights
    ///      over the eligible ones, so a rotation (and therefore a kick) can never revert.
    function _weights(address[] memory signers, uint256[] memory stakes, address exclude)
        internal
        pure
        returns (uint256[] memory w)
    {
        w = stakes;
        bool excluding = signers.length > 1;
        uint256 total = 0;
        for (uint256 i = 0; i < signers.length; i++) {
            if (excluding && signers[i] == exclude) w[i] = 0;
            total += w[i];
        }
        if (total != 0) return w;
        for (uint256 i = 0; i < signers.length; i++) {
            w[i] = (excluding && signers[i] == exclude) ? 0 : 1;
        }
    }

    /// @dev Draw the next sequencer from the active set, excluding `exclude` when anyone else is
    ///      active. A new epoch starts if the current one has ended (or none was drawn yet);
    ///      otherwise the round increases and the epoch end stays.
    function _rotate(address exclude, Reason reason) internal {
        (address[] memory signers, uint256[] memory stakes) = pool.drawSet(drawCommitBlock());
        address previous = _info.current;
        bytes32 seed = nextSeed();
        bool newEpoch = previous == address(0) || block.timestamp >= _info.epochEnd;
        if (newEpoch) {
            _info.epoch += 1;
            _info.round = 0;
            _info.epochStart = uint64(block.timestamp);
            _info.epochEnd = uint64(block.timestamp + timing.epochLength);
        } else {
            _info.round += 1;
        }
        address next = address(0);
        if (signers.length > 0) next = signers[selectIndex(_weights(signers, stakes, exclude), seed)];
        _info.current = next;
        _info.lastHeartbeat = uint64(block.timestamp);
        _info.lastRewardBlock = uint64(block.number);
        // A new turn: the next sequencer gets a full timeout for work already waiting.
        if (_progress.workSince != 0) _progress.workSince = uint64(block.timestamp);
        _info.seedBlock = uint64(block.number + 1);
        emit SequencerRotated(_info.epoch, _info.round, previous, next, reason);
    }
}
