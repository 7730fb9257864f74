// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {MerkleTree} from "../common/MerkleTree.sol";

/// @title EmethCore
/// @notice The L1 side of the EMETH compute marketplace (docs/spec.md, "EMETH Ticket").
///         Requesters deposit EMETH; nodes post collateral; requesters declare cancellations;
///         nodes (or anyone on their behalf) settle Tickets signed by an authorised Signer, which
///         pay the node the Ticket's pooled total, burn penalties from its collateral and add to
///         its fuel. Everything else (jobs, SubJobs, verification) happens off-chain in the
///         execution layer.
/// @dev    Lazy balances (docs/spec.md, "Debits and lazy balances"): a Ticket commits only
///         `debitsRoot`, a Merkle root over one leaf (requester, cumulative debit, previous
///         Ticket) per requester it bills, so settling writes no slot per requester. A requester's
///         spendable balance is `balance - provenDebits`, where `provenDebits` is brought up to
///         date with proofs of its newest leaves (`proveDebit`, or inside `requestWithdrawal` /
///         `withdraw`). Deposits leave only after `withdrawalDelay`, during which anyone (the
///         nodes' billing agents) may prove a newer leaf; a proof lowers a pending withdrawal to
///         what is left.
contract EmethCore is Ownable, ReentrancyGuard, EIP712 {
    using BitMaps for BitMaps.BitMap;
    using SafeERC20 for ERC20Burnable;

    /// @notice A Signer's bill for a batch of one node's confirmed jobs.
    /// @dev    Field order and types are the EIP-712 type `Ticket` (see TICKET_TYPEHASH).
    struct Ticket {
        uint256 ticketId;
        address node;
        bytes32 jobsRoot;
        uint256 jobCount;
        uint256 fuel;
        uint256 penalty;
        bytes32 debitsRoot;
        uint256 debitCount;
        uint256 totalDebit;
        uint64 validUntil; // last L1 timestamp at which it may settle (at most settleMargin after signing)
    }

    /// @notice A proof that leaf `index` of settled Ticket `ticketId`'s `debitsRoot` is
    ///         `debitLeaf(requester, cumulative, prevTicketId)`.
    struct DebitProof {
        uint256 ticketId;
        uint256 cumulative;
        uint256 prevTicketId;
        uint256 index;
        bytes32[] proof;
    }

    /// @notice The newest proven debit leaf of a requester in one execution layer.
    struct DebitMark {
        uint64 ticketId; // the Ticket holding the leaf (0: none proven)
        uint192 cumulative; // the requester's cumulative debit through that Ticket
    }

    /// @notice A requester deposit or a node's collateral, with at most one pending withdrawal.
    struct Account {
        uint256 balance; // held by this contract, pending withdrawal included
        uint256 pending; // requested for withdrawal (never above balance)
        uint64 readyAt; // when `pending` may be withdrawn (0: nothing pending)
        uint192 debited; // requesters: debits proven so far, summed over execution layers
    }

    /// @notice What a requester signed in the execution layer's `RegisterJob` (docs/spec.md,
    ///         "Signed actions"); strings are given as their keccak256, as EIP-712 hashes them.
    struct RegisterJob {
        bytes16 jobId;
        address requester;
        bytes32 programIdHash;
        bytes32 datasetKeyHash;
        bytes32 paramsHash;
        uint256 fee; // the most the requester agreed to pay for the job (SubJobs: for all of them)
        uint256 timeoutSeconds;
        uint256 expiresAt;
        bool splittable;
    }

    /// @notice One billed job of a posted Ticket with its backing: the leaf under `jobsRoot`
    ///         is `keccak256(abi.encode(JobBacking))` (docs/spec.md, "Job leaves").
    struct JobBacking {
        bytes16 jobId; // the billed job, or a SubJob of `registered.jobId`
        address requester; // who pays `fee`
        uint256 fuel;
        uint256 fee;
        uint256 part; // 0: the registered job itself; i + 1: its SubJob i
        RegisterJob registered; // the requester's signed RegisterJob (the parent's for a SubJob)
        bytes registerSignature; // the requester's 65-byte signature of `registered`
        uint64 processedAt; // when the execution layer accepted the node's signed Process
    }

    /// @notice A leaf of a posted Ticket's `jobsRoot` and its Merkle proof.
    struct LeafProof {
        uint256 index;
        JobBacking backing;
        bytes32[] proof;
    }

    /// @notice A Ticket posted by the bonded Signer set, final once its dispute window closes.
    struct PostedTicket {
        bytes32 ticketHash; // hashTicket(t): finalize and disputes pass the Ticket again
        uint64 postedAt;
        uint64 finalAt; // postedAt + ticketDisputeWindow at posting
        uint64 signers; // bitmap of the signer slots whose signatures posted it
        TicketStatus status;
    }

    /// @notice A member of the bonded Signer set (one storage slot).
    struct BondedSigner {
        uint128 bond; // EMETH held against its Tickets (slashed by a proven dispute)
        uint64 unlockAt; // removed: when the bond may be withdrawn (0: a member, or never added)
        uint8 slot; // its bit in PostedTicket.signers
        bool active; // counts towards the threshold (with bond >= signerBondMin)
        bool hasSlot;
    }

    /// @notice Where a posted Ticket stands.
    enum TicketStatus {
        None,
        Posted,
        Finalized,
        Reversed
    }

    /// @notice Why a dispute reversed a Ticket (event `TicketDisputed`).
    enum DisputeReason {
        UnsignedJob, // no valid RegisterJob signature of the leaf's requester for its job id
        FeeAboveMax, // the leaf's fee exceeds the signed maximum fee
        CancelledBeforeProcess, // the requester cancelled on L1 before the node's Process
        DoubleBilled // the job is billed in an earlier posted Ticket (or twice in one)
    }

    /// @notice The bit of a bytes16 job id that marks a SubJob (top bit of its first byte).
    uint128 public constant SUBJOB_ID_BIT = uint128(1) << 127;

    /// @notice EIP-712 type hash of `Ticket(...)`.
    bytes32 public constant TICKET_TYPEHASH = keccak256(
        "Ticket(uint256 ticketId,address node,bytes32 jobsRoot,uint256 jobCount,uint256 fuel,uint256 penalty,"
        "bytes32 debitsRoot,uint256 debitCount,uint256 totalDebit,uint64 validUntil)"
    );

    /// @notice EIP-712 type hash of the execution layer's `RegisterJob` (offchain/emeth/execution/actions.py).
    bytes32 public constant REGISTER_JOB_TYPEHASH = keccak256(
        "RegisterJob(bytes16 jobId,address requester,string programId,string datasetKey,string params,uint256 fee,"
        "uint256 timeoutSeconds,uint256 expiresAt,bool splittable)"
    );

    /// @notice EIP-712 domain type of the execution layer (its id is the salt).
    bytes32 public constant EL_DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)");

    /// @notice Most members the bonded Signer set can hold (one bit each in a uint64 bitmap).
    uint256 public constant MAX_SIGNERS = 64;

    /// @notice Ticket ids are `executionLayerId << EL_SHIFT | n`; debits are counted per
    ///         execution layer (each keeps its own cumulative debits).
    uint256 public constant EL_SHIFT = 32;

    /// @notice The EMETH token (deposits, collateral, payments; penalties are burned).
    ERC20Burnable public immutable token;

    /// @notice Seconds between a requester's `requestWithdrawal` and `withdraw`.
    uint64 public withdrawalDelay;
    /// @notice Seconds between a node's `requestCollateralWithdrawal` and `withdrawCollateral`.
    uint64 public collateralWithdrawalDelay;
    /// @notice Longest a Ticket stays valid after it is signed (the Signer's `validUntil` is
    ///         its L1 time + `settleMargin`); strictly below both withdrawal delays
    ///         (docs/spec.md, "Ticket validity").
    uint64 public settleMargin;
    /// @notice Seconds after `postTicket` during which anyone may dispute the Ticket;
    ///         `settleMargin + ticketDisputeWindow` stays below both withdrawal delays.
    uint64 public ticketDisputeWindow;
    /// @notice Collateral (not pending withdrawal) a node must hold to take jobs.
    uint256 public minCollateral;
    /// @notice Bond a member needs for its signature to count.
    uint128 public signerBondMin;
    /// @notice Signatures of distinct bonded signers a posted Ticket needs (k of n).
    uint8 public signerThreshold;
    /// @notice Share of the slashed bonds paid to the disputer, in basis points (rest burned).
    uint16 public disputerShareBps;
    /// @notice Bitmap of the slots in use (members, and removed members whose bond is locked).
    uint64 public slotsInUse;
    /// @notice Active members (with or without a sufficient bond).
    uint8 public activeSigners;
    /// @notice The bonded Signer set.
    mapping(address signer => BondedSigner) public bondedSigners;
    /// @notice The member in each bitmap slot.
    mapping(uint256 slot => address) public signerAtSlot;
    /// @notice Tickets posted by the bonded set, by id (`status` stays Posted once final:
    ///         `ticketStatus` reads finality from the settled bitmap).
    mapping(uint256 ticketId => PostedTicket) public postedTickets;

    /// @notice Requester deposits.
    mapping(address requester => Account) public deposits;
    /// @notice Node collateral.
    mapping(address node => Account) public collaterals;
    /// @notice Authorised Ticket signers.
    mapping(address signer => bool) public isSigner;
    /// @notice When `requester` declared job `jobId` cancelled (0: never).
    mapping(bytes16 jobId => mapping(address requester => uint256)) public cancelledAt;
    /// @notice Cumulative fuel of the jobs billed to each node.
    mapping(address node => uint256) public totalFuel;
    /// @notice Penalties a Ticket imposed but the node's collateral could not cover.
    mapping(address node => uint256) public penaltyShortfall;
    /// @notice jobsRoot of each settled Ticket (for audits with `verifyJobInTicket`).
    mapping(uint256 ticketId => bytes32) public jobsRootOf;
    /// @notice debitsRoot of each settled Ticket (what debit proofs are checked against).
    mapping(uint256 ticketId => bytes32) public debitsRootOf;
    /// @notice The newest proven debit leaf of `requester` in execution layer `el`.
    mapping(address requester => mapping(uint256 el => DebitMark)) public debitMarkOf;
    /// @notice EMETH burned by Ticket penalties so far.
    uint256 public totalBurned;

    BitMaps.BitMap private _settled;

    /// @notice A requester added to its deposit.
    event Deposited(address indexed requester, uint256 amount, uint256 balance);
    /// @notice A requester asked to withdraw; `pending` is its total pending amount.
    event WithdrawalRequested(address indexed requester, uint256 amount, uint256 pending, uint64 readyAt);
    /// @notice A requester withdrew `amount` (pending minus what Tickets debited meanwhile).
    event Withdrawn(address indexed requester, uint256 amount);
    /// @notice A node added to its collateral.
    event CollateralDeposited(address indexed node, uint256 amount, uint256 balance);
    /// @notice A node asked to withdraw collateral; `pending` is its total pending amount.
    event CollateralWithdrawalRequested(address indexed node, uint256 amount, uint256 pending, uint64 readyAt);
    /// @notice A node withdrew `amount` of collateral.
    event CollateralWithdrawn(address indexed node, uint256 amount);
    /// @notice A requester declared job `jobId` cancelled (watched by the execution layer).
    event JobCancelled(bytes16 indexed jobId, address indexed requester, uint256 at);
    /// @notice The owner authorised or revoked a Ticket signer.
    event SignerUpdated(address indexed signer, bool authorised);
    /// @notice The owner changed the delays or the minimum collateral.
    event ParamsUpdated(
        uint64 withdrawalDelay, uint64 collateralWithdrawalDelay, uint64 settleMargin, uint256 minCollateral
    );
    /// @notice A proof brought `requester`'s debit in Ticket `ticketId`'s execution layer up to
    ///         `cumulative`; `provenTotal` is its new `provenDebits`.
    event DebitProven(uint256 indexed ticketId, address indexed requester, uint256 cumulative, uint256 provenTotal);
    /// @notice A debit proof or a penalty lowered `account`'s pending withdrawal to `pending`
    ///         (what is left of its balance): the withdrawal will pay that much.
    event PendingWithdrawalReduced(address indexed account, uint256 pending);
    /// @notice Governance admitted `signer` to the bonded set in bitmap slot `slot`.
    event BondedSignerAdded(address indexed signer, uint8 slot);
    /// @notice Governance removed `signer`; its bond may leave at `unlockAt`.
    event BondedSignerRemoved(address indexed signer, uint64 unlockAt);
    /// @notice `signer`'s bond grew by `amount` to `bond`.
    event SignerBondDeposited(address indexed signer, uint256 amount, uint256 bond);
    /// @notice A removed signer took back its bond of `amount`.
    event SignerBondWithdrawn(address indexed signer, uint256 amount);
    /// @notice Governance set the threshold, the bond and the disputer's share.
    event SignerSetParamsUpdated(uint8 threshold, uint256 bondMin, uint16 disputerShareBps);
    /// @notice Governance set the dispute window.
    event TicketDisputeWindowUpdated(uint64 ticketDisputeWindow);
    /// @notice Ticket `ticketId` was posted with the signatures of the slots in `signers`;
    ///         it may be finalized from `finalAt` unless disputed before.
    event TicketPosted(
        uint256 indexed ticketId,
        address indexed node,
        bytes32 jobsRoot,
        bytes32 debitsRoot,
        uint256 totalDebit,
        uint64 signers,
        uint64 finalAt
    );
    /// @notice `disputer` proved job `jobId` of Ticket `ticketId` unbacked: the Ticket is
    ///         reversed (nothing paid or burned), `slashed` taken from its signers' bonds,
    ///         `reward` of it paid to the disputer and the rest burned.
    event TicketDisputed(
        uint256 indexed ticketId,
        address indexed disputer,
        DisputeReason reason,
        bytes16 jobId,
        uint256 slashed,
        uint256 reward
    );
    /// @notice `signer`'s bond lost `amount` for signing Ticket `ticketId`.
    event SignerSlashed(address indexed signer, uint256 indexed ticketId, uint256 amount);

    /// @notice A Ticket's penalty exceeded the node's collateral by `shortfall`.
    event PenaltyShortfallRecorded(uint256 indexed ticketId, address indexed node, uint256 shortfall);
    /// @notice A Ticket settled: `paid` (its totalDebit) went to the node, `burned` left its
    ///         collateral.
    event TicketSettled(
        uint256 indexed ticketId,
        address indexed node,
        bytes32 jobsRoot,
        bytes32 debitsRoot,
        uint256 jobCount,
        uint256 fuel,
        uint256 paid,
        uint256 burned
    );

    /// @notice An amount of zero where a positive one is needed.
    error EmethCoreZeroAmount();
    /// @notice Ticket `ticketId` was valid until `validUntil`; it is now `nowTs`.
    error EmethCoreTicketExpired(uint256 ticketId, uint64 validUntil, uint256 nowTs);
    /// @notice `settleMargin` must be strictly below both withdrawal delays.
    error EmethCoreSettleMarginTooLong(uint64 settleMargin, uint64 withdrawalDelay, uint64 collateralWithdrawalDelay);
    /// @notice The zero address where a real one is needed.
    error EmethCoreZeroAddress();
    /// @notice The zero job id cannot be cancelled.
    error EmethCoreZeroJobId();
    /// @notice `account` asked to withdraw more than it holds outside pending withdrawals.
    error EmethCoreWithdrawalExceedsBalance(address account, uint256 requested, uint256 available);
    /// @notice `account` has no pending withdrawal.
    error EmethCoreNoPendingWithdrawal(address account);
    /// @notice `account`'s withdrawal is not ready until `readyAt`.
    error EmethCoreWithdrawalNotReady(address account, uint64 readyAt, uint256 nowTs);
    /// @notice `jobId` is a SubJob id: only its parent can be cancelled.
    error EmethCoreSubJobCancel(bytes16 jobId);
    /// @notice `requester` already declared `jobId` cancelled at `at`.
    error EmethCoreJobAlreadyCancelled(bytes16 jobId, address requester, uint256 at);
    /// @notice Ticket `ticketId` was settled before (replay).
    error EmethCoreTicketAlreadySettled(uint256 ticketId);
    /// @notice The Ticket signature is malformed.
    error EmethCoreInvalidSignature();
    /// @notice The Ticket was signed by `signer`, which is not an authorised signer.
    error EmethCoreUnauthorizedSigner(address signer);
    /// @notice Ticket `ticketId` is not settled: no debit can be proven against it.
    error EmethCoreTicketNotSettled(uint256 ticketId);
    /// @notice The proof does not put `requester`'s leaf under Ticket `ticketId`'s debitsRoot.
    error EmethCoreInvalidDebitProof(address requester, uint256 ticketId);
    /// @notice `requester`'s debit in Ticket `ticketId` is not newer than the proven one, in
    ///         Ticket `provenTicketId`.
    error EmethCoreStaleDebitProof(address requester, uint256 ticketId, uint256 provenTicketId);
    /// @notice The leaf in Ticket `ticketId` does not follow the proven one (in Ticket
    ///         `provenTicketId`, cumulative `provenCumulative`): its previous Ticket
    ///         `prevTicketId` is older, or its cumulative debit `cumulative` is lower.
    error EmethCoreDebitChainBroken(
        address requester,
        uint256 ticketId,
        uint256 prevTicketId,
        uint256 cumulative,
        uint256 provenTicketId,
        uint256 provenCumulative
    );
    /// @notice `settleMargin + ticketDisputeWindow` must be strictly below both withdrawal delays.
    error EmethCoreDisputeWindowTooLong(
        uint64 settleMargin, uint64 ticketDisputeWindow, uint64 withdrawalDelay, uint64 collateralWithdrawalDelay
    );
    /// @notice Ticket `ticketId` was posted before.
    error EmethCoreTicketAlreadyPosted(uint256 ticketId);
    /// @notice Ticket `ticketId` was never posted.
    error EmethCoreTicketNotPosted(uint256 ticketId);
    /// @notice The Ticket passed differs from the one posted as `ticketId`.
    error EmethCoreTicketMismatch(uint256 ticketId);
    /// @notice Ticket `ticketId` was reversed by a dispute: it never finalizes.
    error EmethCoreTicketReversed(uint256 ticketId);
    /// @notice Ticket `ticketId` can be finalized only from `finalAt` (now `nowTs`).
    error EmethCoreDisputeWindowOpen(uint256 ticketId, uint64 finalAt, uint256 nowTs);
    /// @notice Ticket `ticketId`'s dispute window closed at `finalAt` (now `nowTs`).
    error EmethCoreDisputeWindowClosed(uint256 ticketId, uint64 finalAt, uint256 nowTs);
    /// @notice `count` valid signatures where the threshold is `threshold`.
    error EmethCoreNotEnoughSignatures(uint256 count, uint256 threshold);
    /// @notice `signer` signed out of slot order (signatures go by ascending slot, each once).
    error EmethCoreSignaturesNotOrdered(address signer, uint8 slot);
    /// @notice `signer` is already in the bonded set (or still holds a locked slot).
    error EmethCoreSignerExists(address signer);
    /// @notice `signer` is not an active member of the bonded set.
    error EmethCoreNotASigner(address signer);
    /// @notice The bonded set has no free slot (at most MAX_SIGNERS).
    error EmethCoreSignerSetFull();
    /// @notice `signer`'s bond is locked until `unlockAt` (0: still a member).
    error EmethCoreBondLocked(address signer, uint64 unlockAt, uint256 nowTs);
    /// @notice A threshold of zero, a bond above 2^128 - 1 or a disputer share above 10,000
    ///         basis points.
    error EmethCoreBadSignerSetParams(uint8 threshold, uint256 bondMin, uint16 disputerShareBps);
    /// @notice The leaf is not leaf `index` of Ticket `ticketId`'s jobsRoot.
    error EmethCoreInvalidJobProof(uint256 ticketId, uint256 index);
    /// @notice Job `jobId` of Ticket `ticketId` is backed: the dispute proves nothing.
    error EmethCoreJobBacked(uint256 ticketId, bytes16 jobId);
    /// @notice The two leaves are not the same job billed twice with the later in `ticketId`.
    error EmethCoreNotDoubleBilled(uint256 ticketId, uint256 otherTicketId);

    /// @notice A Ticket id or cumulative debit too large for the packed `DebitMark`.
    error EmethCoreDebitOutOfRange(uint256 ticketId, uint256 cumulative);

    /// @param token_                     the EMETH token.
    /// @param initialOwner               the admin (deployer; the governance Timelock after handoff).
    /// @param withdrawalDelay_           seconds a requester waits to withdraw.
    /// @param collateralWithdrawalDelay_ seconds a node waits to withdraw collateral.
    /// @param settleMargin_              longest Ticket validity (below both delays).
    /// @param minCollateral_             collateral a node needs to be eligible.
    constructor(
        ERC20Burnable token_,
        address initialOwner,
        uint64 withdrawalDelay_,
        uint64 collateralWithdrawalDelay_,
        uint64 settleMargin_,
        uint256 minCollateral_
    ) Ownable(initialOwner) EIP712("EmethCore", "1") {
        if (address(token_) == address(0)) revert EmethCoreZeroAddress();
        token = token_;
        _setParams(withdrawalDelay_, collateralWithdrawalDelay_, settleMargin_, minCollateral_);
    }

    // ------------------------------------------------------------------ requesters

    /// @notice Deposit `amount` EMETH (approve this contract first) to pay for jobs.
    /// @param amount base units to deposit.
    function deposit(uint256 amount) external nonReentrant {
        uint256 balance = _credit(deposits[msg.sender], amount);
        emit Deposited(msg.sender, amount, balance);
    }

    /// @notice Start withdrawing `amount`; it can be taken with `withdraw` after `withdrawalDelay`.
    ///         A further request adds to the pending amount and restarts the delay. `proofs` (the
    ///         caller's newest debit leaves, one per execution layer; older ones are skipped)
    ///         are applied first; `amount` must fit in `balance - provenDebits - pending`. Until
    ///         the delay ends anyone may prove a newer debit, which lowers the pending amount.
    /// @param amount base units to withdraw.
    /// @param proofs debit proofs of the caller (may be empty).
    function requestWithdrawal(uint256 amount, DebitProof[] calldata proofs) external {
        _applyProofs(msg.sender, proofs);
        Account storage a = deposits[msg.sender];
        uint64 readyAt = _requestWithdrawal(a, amount, withdrawalDelay, spendableDeposit(msg.sender));
        emit WithdrawalRequested(msg.sender, amount, a.pending, readyAt);
    }

    /// @notice Take the pending withdrawal (less whatever newer debits proven meanwhile took),
    ///         after applying `proofs` (the caller's newest debit leaves; older ones are skipped).
    /// @param proofs debit proofs of the caller (may be empty).
    function withdraw(DebitProof[] calldata proofs) external nonReentrant {
        _applyProofs(msg.sender, proofs);
        uint256 amount = _withdraw(deposits[msg.sender]);
        emit Withdrawn(msg.sender, amount);
    }

    /// @notice Bring `requester`'s proven debit up to its leaf in Ticket `p.ticketId`. Anyone
    ///         may call it (a node's billing agent does when a requester withdraws with an old
    ///         proof); it lowers a pending withdrawal to what is left.
    /// @param requester whose debit to prove.
    /// @param p         the leaf and its Merkle proof.
    function proveDebit(address requester, DebitProof calldata p) external {
        uint256 el = p.ticketId >> EL_SHIFT;
        uint256 proven = debitMarkOf[requester][el].ticketId;
        if (p.ticketId <= proven) revert EmethCoreStaleDebitProof(requester, p.ticketId, proven);
        _applyProof(requester, p);
    }

    /// @notice Sum over execution layers of `requester`'s proven cumulative debits.
    function provenDebits(address requester) external view returns (uint256) {
        return deposits[requester].debited;
    }

    /// @notice What `requester` can spend before pending withdrawals: `balance - provenDebits`
    ///         (0 when proven debits exceed the balance; see `unpaidDebits`).
    function spendableDeposit(address requester) public view returns (uint256) {
        Account storage a = deposits[requester];
        return a.balance > a.debited ? a.balance - a.debited : 0;
    }

    /// @notice Proven debits above `requester`'s balance (it withdrew before they were proven).
    function unpaidDebits(address requester) external view returns (uint256) {
        Account storage a = deposits[requester];
        return a.debited > a.balance ? a.debited - a.balance : 0;
    }

    /// @notice Declare job `jobId` cancelled. The execution layer then never lets a node start it,
    ///         and a Signer never bills it if the cancellation precedes the node's process
    ///         declaration. Keyed by (jobId, requester) so nobody can cancel another's job.
    ///         A SubJob id (top bit set, docs/spec.md "Ids") cannot be cancelled on its own: the
    ///         parent's cancel covers its SubJobs, so a requester cannot stop one SubJob to keep
    ///         the others' verified results unbilled.
    /// @param jobId the 16-byte job id registered in the execution layer.
    function cancel(bytes16 jobId) external {
        if (jobId == bytes16(0)) revert EmethCoreZeroJobId();
        if (uint128(jobId) & SUBJOB_ID_BIT != 0) revert EmethCoreSubJobCancel(jobId);
        uint256 at = cancelledAt[jobId][msg.sender];
        if (at != 0) revert EmethCoreJobAlreadyCancelled(jobId, msg.sender, at);
        cancelledAt[jobId][msg.sender] = block.timestamp;
        emit JobCancelled(jobId, msg.sender, block.timestamp);
    }

    // ------------------------------------------------------------------ nodes

    /// @notice Add `amount` EMETH to the caller's node collateral (approve first).
    /// @param amount base units.
    function depositCollateral(uint256 amount) external nonReentrant {
        uint256 balance = _credit(collaterals[msg.sender], amount);
        emit CollateralDeposited(msg.sender, amount, balance);
    }

    /// @notice Start withdrawing `amount` of collateral (after `collateralWithdrawalDelay`).
    ///         Pending collateral does not count towards eligibility but still pays penalties.
    /// @param amount base units.
    function requestCollateralWithdrawal(uint256 amount) external {
        Account storage a = collaterals[msg.sender];
        uint64 readyAt = _requestWithdrawal(a, amount, collateralWithdrawalDelay, a.balance);
        emit CollateralWithdrawalRequested(msg.sender, amount, a.pending, readyAt);
    }

    /// @notice Take the pending collateral withdrawal (less penalties burned meanwhile).
    function withdrawCollateral() external nonReentrant {
        uint256 amount = _withdraw(collaterals[msg.sender]);
        emit CollateralWithdrawn(msg.sender, amount);
    }

    // ------------------------------------------------------------------ Tickets

    /// @notice Settle a Ticket signed by an authorised signer. Anyone may submit it (a node's
    ///         billing agent or a relayer); the payment always goes to `t.node`. Only until
    ///         `t.validUntil` (`EmethCoreTicketExpired` after), which the Signer sets to at
    ///         most `settleMargin` after its view of L1: a Ticket that can settle once a
    ///         withdrawal requested at `T` is ready (`T + withdrawalDelay`) was signed from a
    ///         view holding the request (docs/spec.md, "Ticket validity").
    /// @dev    Pays the node `t.totalDebit` from the pool (no protocol share; requesters' balances
    ///         are debited lazily by proofs against `t.debitsRoot`), burns `t.penalty` from the
    ///         node's collateral (what there is; the rest is recorded in `penaltyShortfall`), adds
    ///         `t.fuel` to `totalFuel[t.node]`, stores `t.jobsRoot` and `t.debitsRoot`.
    /// @param t         the Ticket.
    /// @param signature 65-byte ECDSA signature of `ticketDigest(t)` by a signer.
    /// @return paid   EMETH transferred to the node.
    /// @return burned EMETH burned from the node's collateral.
    function settleTicket(Ticket calldata t, bytes calldata signature)
        external
        nonReentrant
        returns (uint256 paid, uint256 burned)
    {
        _checkFresh(t);
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(ticketDigest(t), signature);
        if (err != ECDSA.RecoverError.NoError) revert EmethCoreInvalidSignature();
        if (!isSigner[signer]) revert EmethCoreUnauthorizedSigner(signer);
        (paid, burned) = _settle(t, true);
    }

    /// @notice Post a Ticket signed by `signerThreshold` distinct members of the bonded Signer
    ///         set (each with at least `signerBondMin` bonded). Nothing moves yet: anyone may
    ///         `finalizeTicket` it once `ticketDisputeWindow` has passed, and until then anyone
    ///         may prove one of its job leaves unbacked (`disputeJob`, `disputeDoubleBilling`),
    ///         which reverses it and slashes its signers (docs/spec.md, "Disputes").
    /// @dev    Same checks as `settleTicket` (replay, `validUntil`, node); one slot written.
    /// @param t          the Ticket (its jobsRoot over `JobBacking` leaves).
    /// @param signatures 65-byte signatures of `ticketDigest(t)`, by ascending signer slot.
    /// @return finalAt   when the Ticket may be finalized.
    function postTicket(Ticket calldata t, bytes[] calldata signatures) external returns (uint64 finalAt) {
        _checkFresh(t);
        uint64 signers = _checkThreshold(ticketDigest(t), signatures);
        finalAt = uint64(block.timestamp) + ticketDisputeWindow;
        postedTickets[t.ticketId] =
            PostedTicket(hashTicket(t), uint64(block.timestamp), finalAt, signers, TicketStatus.Posted);
        emit TicketPosted(t.ticketId, t.node, t.jobsRoot, t.debitsRoot, t.totalDebit, signers, finalAt);
    }

    /// @notice Finalize a posted Ticket whose dispute window has closed (anyone): pays the
    ///         node, burns the penalty, adds the fuel and makes its debit leaves provable,
    ///         exactly as `settleTicket` does (event `TicketSettled`).
    /// @param t the posted Ticket.
    /// @return paid   EMETH transferred to the node.
    /// @return burned EMETH burned from the node's collateral.
    function finalizeTicket(Ticket calldata t) external nonReentrant returns (uint256 paid, uint256 burned) {
        PostedTicket storage p = _postedOpen(t);
        if (block.timestamp < p.finalAt) revert EmethCoreDisputeWindowOpen(t.ticketId, p.finalAt, block.timestamp);
        (paid, burned) = _settle(t, false);
    }

    /// @notice Dispute a posted Ticket by one of its job leaves (anyone, before `finalAt`):
    ///         the leaf is unbacked when its requester's RegisterJob signature does not
    ///         recover to the requester or is not for the leaf's job id (`UnsignedJob`), its
    ///         fee exceeds the signed maximum (`FeeAboveMax`), or the requester cancelled the
    ///         job on L1 at or before the node's Process (or the Process is dated after the
    ///         posting: `CancelledBeforeProcess`). A backed leaf reverts `EmethCoreJobBacked`.
    /// @param t    the posted Ticket.
    /// @param leaf the job leaf, its backing and its proof under `t.jobsRoot`.
    /// @return reason why the Ticket was reversed.
    function disputeJob(Ticket calldata t, LeafProof calldata leaf)
        external
        nonReentrant
        returns (DisputeReason reason)
    {
        PostedTicket storage p = _postedInWindow(t);
        _checkLeaf(t, leaf);
        JobBacking calldata b = leaf.backing;
        bool bad;
        (bad, reason) = _unbacked(t.ticketId >> EL_SHIFT, b, p.postedAt);
        if (!bad) revert EmethCoreJobBacked(t.ticketId, b.jobId);
        _reverse(t.ticketId, p, reason, b.jobId);
    }

    /// @notice Dispute a posted Ticket that bills a job already billed (same job id, requester
    ///         and execution layer) in an earlier posted, not reversed Ticket `other` (posted
    ///         before it, or at the same time with a lower id), or twice in itself
    ///         (`other` = `t`, two indices). The later Ticket is reversed.
    /// @param t         the later posted Ticket (in its dispute window).
    /// @param leaf      its leaf for the job.
    /// @param other     the earlier Ticket (posted or finalized).
    /// @param otherLeaf its leaf for the same job.
    function disputeDoubleBilling(
        Ticket calldata t,
        LeafProof calldata leaf,
        Ticket calldata other,
        LeafProof calldata otherLeaf
    ) external nonReentrant {
        PostedTicket storage p = _postedInWindow(t);
        PostedTicket storage q = postedTickets[other.ticketId];
        if (q.status == TicketStatus.None) revert EmethCoreTicketNotPosted(other.ticketId);
        if (q.status == TicketStatus.Reversed) revert EmethCoreTicketReversed(other.ticketId);
        if (hashTicket(other) != q.ticketHash) revert EmethCoreTicketMismatch(other.ticketId);
        _checkLeaf(t, leaf);
        _checkLeaf(other, otherLeaf);
        JobBacking calldata a = leaf.backing;
        JobBacking calldata b = otherLeaf.backing;
        bool earlier = q.postedAt < p.postedAt || (q.postedAt == p.postedAt && other.ticketId < t.ticketId)
            || (other.ticketId == t.ticketId && otherLeaf.index != leaf.index);
        if (
            !earlier || a.jobId != b.jobId || a.requester != b.requester
                || t.ticketId >> EL_SHIFT != other.ticketId >> EL_SHIFT
        ) revert EmethCoreNotDoubleBilled(t.ticketId, other.ticketId);
        _reverse(t.ticketId, p, DisputeReason.DoubleBilled, a.jobId);
    }

    /// @notice Merkle item of a posted Ticket's job leaf: keccak256(abi.encode(b)).
    /// @param b the job and its backing.
    function jobBackingLeaf(JobBacking calldata b) public pure returns (bytes32) {
        return keccak256(abi.encode(b));
    }

    /// @notice EIP-712 digest the requester signed for `r` in execution layer `el` (domain
    ///         "EmethExecutionLayer", version "1", this chain, this contract, salt = el).
    /// @param el the execution layer id (a Ticket id >> EL_SHIFT).
    /// @param r  the RegisterJob message.
    function registerJobDigest(uint256 el, RegisterJob calldata r) public view returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(
                EL_DOMAIN_TYPEHASH,
                keccak256("EmethExecutionLayer"),
                keccak256("1"),
                block.chainid,
                address(this),
                bytes32(el)
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domain, keccak256(abi.encode(REGISTER_JOB_TYPEHASH, r))));
    }

    /// @notice The id of SubJob `i` of job `parent`: bytes16(keccak256(parent ‖ uint256(i)))
    ///         with the SubJob bit set (docs/spec.md, "Ids").
    /// @param parent the registered job.
    /// @param i      the SubJob's position.
    function subJobId(bytes16 parent, uint256 i) public pure returns (bytes16) {
        return bytes16(uint128(bytes16(keccak256(abi.encodePacked(parent, i)))) | SUBJOB_ID_BIT);
    }

    /// @notice EIP-712 struct hash of `t` (`hashStruct(Ticket)`).
    /// @param t the Ticket.
    /// @return h keccak256(abi.encode(TICKET_TYPEHASH, every field in order)).
    function hashTicket(Ticket calldata t) public pure returns (bytes32 h) {
        h = keccak256(abi.encode(TICKET_TYPEHASH, t));
    }

    /// @notice The digest a signer signs: keccak256(0x1901 ‖ domainSeparator ‖ hashTicket(t)).
    /// @param t the Ticket.
    function ticketDigest(Ticket calldata t) public view returns (bytes32) {
        return _hashTypedDataV4(hashTicket(t));
    }

    /// @notice The EIP-712 domain separator (name "EmethCore", version "1", chain id, this address).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice Merkle item of one billed job (docs/spec.md, "EMETH Ticket").
    /// @param jobId     16-byte job id.
    /// @param requester who paid for it.
    /// @param node      who processed it.
    /// @param fuel      fuel it consumed.
    /// @param fee       what the requester paid the node for it.
    function jobLeaf(bytes16 jobId, address requester, address node, uint256 fuel, uint256 fee)
        external
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(jobId, requester, node, fuel, fee));
    }

    /// @notice Merkle item of one requester's debit in a Ticket (docs/spec.md, "Debits and lazy
    ///         balances").
    /// @param requester    who is debited.
    /// @param cumulative   its cumulative debit in this execution layer, this Ticket included.
    /// @param prevTicketId the previous Ticket of this execution layer that debited it (0: none).
    function debitLeaf(address requester, uint256 cumulative, uint256 prevTicketId) public pure returns (bytes32) {
        return keccak256(abi.encode(requester, cumulative, prevTicketId));
    }

    /// @notice True when Ticket `ticketId` settled with `jobsRoot` and `leafItem` is its leaf `index`.
    /// @param ticketId the Ticket.
    /// @param jobsRoot the root the auditor expects.
    /// @param index    the job's position in the Ticket.
    /// @param leafItem `jobLeaf(...)` of the job.
    /// @param proof    sibling path from the leaf up (offchain/common/merkle.py `proof`).
    function verifyJobInTicket(
        uint256 ticketId,
        bytes32 jobsRoot,
        uint256 index,
        bytes32 leafItem,
        bytes32[] calldata proof
    ) external view returns (bool) {
        if (!_settled.get(ticketId) || jobsRootOf[ticketId] != jobsRoot) return false;
        return MerkleTree.verify(jobsRoot, index, leafItem, proof);
    }

    /// @notice Where Ticket `ticketId` stands: None (never posted; a Ticket settled by
    ///         `settleTicket` reads Finalized), Posted (in or past its window, not final),
    ///         Finalized or Reversed.
    /// @param ticketId the Ticket.
    function ticketStatus(uint256 ticketId) external view returns (TicketStatus) {
        return _status(ticketId, postedTickets[ticketId]);
    }

    /// @notice Whether leaf `leaf` is under the jobsRoot of posted Ticket `t` (posted, final
    ///         or reversed: audits of what a bonded set signed).
    /// @param t    the posted Ticket.
    /// @param leaf the job leaf and its proof.
    function verifyJobInPostedTicket(Ticket calldata t, LeafProof calldata leaf) external view returns (bool) {
        PostedTicket storage p = postedTickets[t.ticketId];
        if (p.status == TicketStatus.None || p.ticketHash != hashTicket(t)) return false;
        return MerkleTree.verifyCalldata(t.jobsRoot, leaf.index, jobBackingLeaf(leaf.backing), leaf.proof);
    }

    /// @notice Whether Ticket `ticketId` was settled.
    function isSettled(uint256 ticketId) external view returns (bool) {
        return _settled.get(ticketId);
    }

    // ------------------------------------------------------------------ views for the execution layer

    /// @notice What a requester can still spend on new jobs: `spendableDeposit` not pending
    ///         withdrawal (debits not yet proven are not counted here; the execution layer
    ///         subtracts its own).
    function availableDeposit(address requester) external view returns (uint256) {
        uint256 spendable = spendableDeposit(requester);
        uint256 pending = deposits[requester].pending;
        return spendable > pending ? spendable - pending : 0;
    }

    /// @notice A node's collateral not pending withdrawal.
    function availableCollateral(address node) public view returns (uint256) {
        Account storage a = collaterals[node];
        return a.balance - a.pending;
    }

    /// @notice Whether `node` holds at least `minCollateral` outside pending withdrawals.
    function isEligibleNode(address node) external view returns (bool) {
        return availableCollateral(node) >= minCollateral;
    }

    // ------------------------------------------------------------------ governance

    /// @notice Authorise (`authorised` true) or revoke a Ticket signer.
    /// @param signer     the signer's address.
    /// @param authorised new status.
    function setSigner(address signer, bool authorised) external onlyOwner {
        if (signer == address(0)) revert EmethCoreZeroAddress();
        isSigner[signer] = authorised;
        emit SignerUpdated(signer, authorised);
    }

    /// @notice Put up (or add to) the caller's bond as a Ticket signer (approve first); it counts
    ///         once governance has added the caller and the bond reaches `signerBondMin`.
    /// @param amount base units.
    function depositSignerBond(uint256 amount) external nonReentrant {
        if (amount == 0) revert EmethCoreZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        BondedSigner storage m = bondedSigners[msg.sender];
        uint256 bond = uint256(m.bond) + amount;
        m.bond = uint128(bond);
        emit SignerBondDeposited(msg.sender, amount, bond);
    }

    /// @notice Admit `signer` to the bonded set (governance); it takes the lowest free slot.
    /// @param signer the signer's address.
    function addSigner(address signer) external onlyOwner {
        if (signer == address(0)) revert EmethCoreZeroAddress();
        BondedSigner storage m = bondedSigners[signer];
        if (m.hasSlot) revert EmethCoreSignerExists(signer);
        // Lowest clear bit of the slot bitmap.
        uint8 slot = 0;
        while (slot < MAX_SIGNERS && slotsInUse & (uint64(1) << slot) != 0) slot++;
        if (slot == MAX_SIGNERS) revert EmethCoreSignerSetFull();
        slotsInUse |= uint64(1) << slot;
        signerAtSlot[slot] = signer;
        (m.slot, m.active, m.hasSlot, m.unlockAt) = (slot, true, true, 0);
        activeSigners += 1;
        emit BondedSignerAdded(signer, slot);
    }

    /// @notice Remove `signer` from the bonded set (governance). Its signatures stop counting
    ///         at once; its bond stays slashable for the Tickets it posted and is released one
    ///         dispute window later (`withdrawSignerBond`).
    /// @param signer the member.
    function removeSigner(address signer) external onlyOwner {
        BondedSigner storage m = bondedSigners[signer];
        if (!m.active) revert EmethCoreNotASigner(signer);
        m.active = false;
        m.unlockAt = uint64(block.timestamp) + ticketDisputeWindow;
        activeSigners -= 1;
        emit BondedSignerRemoved(signer, m.unlockAt);
    }

    /// @notice A removed signer takes back what is left of its bond and frees its slot.
    function withdrawSignerBond() external nonReentrant {
        BondedSigner storage m = bondedSigners[msg.sender];
        if (m.active || (m.hasSlot && block.timestamp < m.unlockAt)) {
            revert EmethCoreBondLocked(msg.sender, m.unlockAt, block.timestamp);
        }
        uint256 amount = m.bond;
        if (m.hasSlot) {
            slotsInUse &= ~(uint64(1) << m.slot);
            delete signerAtSlot[m.slot];
        }
        delete bondedSigners[msg.sender];
        if (amount != 0) token.safeTransfer(msg.sender, amount);
        emit SignerBondWithdrawn(msg.sender, amount);
    }

    /// @notice Set the threshold `k`, the bond a member needs and the disputer's share of a
    ///         slash (governance).
    /// @param threshold         signatures a posted Ticket needs (>= 1).
    /// @param bondMin           bond per member, base units.
    /// @param disputerShareBps_ share of the slashed bonds paid to the disputer (<= 10,000).
    function setSignerSetParams(uint8 threshold, uint256 bondMin, uint16 disputerShareBps_) external onlyOwner {
        if (threshold == 0 || disputerShareBps_ > 10_000 || bondMin > type(uint128).max) {
            revert EmethCoreBadSignerSetParams(threshold, bondMin, disputerShareBps_);
        }
        (signerThreshold, signerBondMin, disputerShareBps) = (threshold, uint128(bondMin), disputerShareBps_);
        emit SignerSetParamsUpdated(threshold, bondMin, disputerShareBps_);
    }

    /// @notice Set the dispute window of posted Tickets (governance); `settleMargin` plus the
    ///         window must stay below both withdrawal delays (`EmethCoreDisputeWindowTooLong`).
    /// @param window seconds.
    function setTicketDisputeWindow(uint64 window) external onlyOwner {
        _checkDelays(withdrawalDelay, collateralWithdrawalDelay, settleMargin, window);
        ticketDisputeWindow = window;
        emit TicketDisputeWindowUpdated(window);
    }

    /// @notice Change the withdrawal delays, the Ticket settle margin and the minimum node
    ///         collateral. `settleMargin_` must be strictly below both delays
    ///         (`EmethCoreSettleMarginTooLong`).
    /// @param withdrawalDelay_           seconds.
    /// @param collateralWithdrawalDelay_ seconds.
    /// @param settleMargin_              seconds.
    /// @param minCollateral_             base units.
    function setParams(
        uint64 withdrawalDelay_,
        uint64 collateralWithdrawalDelay_,
        uint64 settleMargin_,
        uint256 minCollateral_
    ) external onlyOwner {
        _setParams(withdrawalDelay_, collateralWithdrawalDelay_, settleMargin_, minCollateral_);
    }

    // ------------------------------------------------------------------ internals

    function _setParams(
        uint64 withdrawalDelay_,
        uint64 collateralWithdrawalDelay_,
        uint64 settleMargin_,
        uint256 minCollateral_
    ) private {
        _checkDelays(withdrawalDelay_, collateralWithdrawalDelay_, settleMargin_, ticketDisputeWindow);
        withdrawalDelay = withdrawalDelay_;
        collateralWithdrawalDelay = collateralWithdrawalDelay_;
        settleMargin = settleMargin_;
        minCollateral = minCollateral_;
        emit ParamsUpdated(withdrawalDelay_, collateralWithdrawalDelay_, settleMargin_, minCollateral_);
    }

    /// @dev The delay rule: a Ticket settles (is posted, then final) before a withdrawal asked
    ///      for after its signing is ready (docs/spec.md, "Ticket validity", "Disputes").
    function _checkDelays(uint64 wDelay, uint64 cDelay, uint64 margin, uint64 window) private pure {
        if (margin >= wDelay || margin >= cDelay) revert EmethCoreSettleMarginTooLong(margin, wDelay, cDelay);
        if (uint256(margin) + window >= wDelay || uint256(margin) + window >= cDelay) {
            revert EmethCoreDisputeWindowTooLong(margin, window, wDelay, cDelay);
        }
    }

    /// @dev Checks before a Ticket settles or is posted: neither done before (replay), still
    ///      valid, a node to pay.
    function _checkFresh(Ticket calldata t) private view {
        if (_settled.get(t.ticketId)) revert EmethCoreTicketAlreadySettled(t.ticketId);
        if (postedTickets[t.ticketId].status != TicketStatus.None) revert EmethCoreTicketAlreadyPosted(t.ticketId);
        if (block.timestamp > t.validUntil) revert EmethCoreTicketExpired(t.ticketId, t.validUntil, block.timestamp);
        if (t.node == address(0)) revert EmethCoreZeroAddress();
    }

    /// @dev Effects of a final Ticket (settleTicket, finalizeTicket). A posted Ticket keeps
    ///      its whole hash in `postedTickets` (audits check leaves against it), so its
    ///      `jobsRootOf` is not written (`storeJobsRoot` false): one slot less per Ticket.
    function _settle(Ticket calldata t, bool storeJobsRoot) private returns (uint256 paid, uint256 burned) {
        _settled.set(t.ticketId);
        if (storeJobsRoot) jobsRootOf[t.ticketId] = t.jobsRoot;
        debitsRootOf[t.ticketId] = t.debitsRoot;
        totalFuel[t.node] += t.fuel;
        paid = t.totalDebit;
        burned = _burnPenalty(t);
        if (paid != 0) token.safeTransfer(t.node, paid);
        emit TicketSettled(t.ticketId, t.node, t.jobsRoot, t.debitsRoot, t.jobCount, t.fuel, paid, burned);
    }

    /// @dev Recover each signature (by ascending slot, so each member counts once) to an
    ///      active, bonded member; returns the bitmap of their slots. Reverts below threshold.
    function _checkThreshold(bytes32 digest, bytes[] calldata signatures) private view returns (uint64 bitmap) {
        uint256 minBond = signerBondMin;
        for (uint256 i = 0; i < signatures.length; i++) {
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signatures[i]);
            if (err != ECDSA.RecoverError.NoError) revert EmethCoreInvalidSignature();
            BondedSigner memory m = bondedSigners[signer];
            if (!m.active || m.bond < minBond) revert EmethCoreUnauthorizedSigner(signer);
            uint64 bit = uint64(1) << m.slot;
            if (bitmap >= bit) revert EmethCoreSignaturesNotOrdered(signer, m.slot);
            bitmap |= bit;
        }
        uint256 k = signerThreshold;
        if (signatures.length < k || k == 0) revert EmethCoreNotEnoughSignatures(signatures.length, k);
    }

    /// @dev The posted, not yet final Ticket `t` (checked against its posted hash).
    function _postedOpen(Ticket calldata t) private view returns (PostedTicket storage p) {
        p = postedTickets[t.ticketId];
        TicketStatus status = _status(t.ticketId, p);
        if (status == TicketStatus.None) revert EmethCoreTicketNotPosted(t.ticketId);
        if (status == TicketStatus.Reversed) revert EmethCoreTicketReversed(t.ticketId);
        if (status == TicketStatus.Finalized) revert EmethCoreTicketAlreadySettled(t.ticketId);
        if (hashTicket(t) != p.ticketHash) revert EmethCoreTicketMismatch(t.ticketId);
    }

    /// @dev Finality is the settled bit (finalize writes no status): see `ticketStatus`.
    function _status(uint256 ticketId, PostedTicket storage p) private view returns (TicketStatus) {
        return _settled.get(ticketId) ? TicketStatus.Finalized : p.status;
    }

    /// @dev `_postedOpen`, and still within its dispute window.
    function _postedInWindow(Ticket calldata t) private view returns (PostedTicket storage p) {
        p = _postedOpen(t);
        if (block.timestamp >= p.finalAt) revert EmethCoreDisputeWindowClosed(t.ticketId, p.finalAt, block.timestamp);
    }

    /// @dev Revert unless `leaf` is under `t.jobsRoot` at its index.
    function _checkLeaf(Ticket calldata t, LeafProof calldata leaf) private pure {
        bytes32 item = jobBackingLeaf(leaf.backing);
        if (!MerkleTree.verifyCalldata(t.jobsRoot, leaf.index, item, leaf.proof)) {
            revert EmethCoreInvalidJobProof(t.ticketId, leaf.index);
        }
    }

    /// @dev Whether job leaf `b` of a Ticket of execution layer `el` posted at `postedAt` is
    ///      unbacked, and why (the first rule it breaks).
    function _unbacked(uint256 el, JobBacking calldata b, uint64 postedAt) private view returns (bool, DisputeReason) {
        RegisterJob calldata r = b.registered;
        bool idMatches = b.part == 0 ? b.jobId == r.jobId : b.jobId == subJobId(r.jobId, b.part - 1);
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(registerJobDigest(el, r), b.registerSignature);
        if (!idMatches || r.requester != b.requester || err != ECDSA.RecoverError.NoError || signer != b.requester) {
            return (true, DisputeReason.UnsignedJob);
        }
        if (b.fee > r.fee) return (true, DisputeReason.FeeAboveMax);
        uint256 cancelled = cancelledAt[r.jobId][b.requester];
        if ((cancelled != 0 && cancelled <= b.processedAt) || b.processedAt > postedAt) {
            return (true, DisputeReason.CancelledBeforeProcess);
        }
        return (false, DisputeReason.UnsignedJob);
    }

    /// @dev Reverse posted Ticket `ticketId`: it never finalizes (nothing paid, burned or
    ///      provable); slash the bond of every signer in its bitmap; pay the disputer its share
    ///      and burn the rest.
    function _reverse(uint256 ticketId, PostedTicket storage p, DisputeReason reason, bytes16 jobId) private {
        p.status = TicketStatus.Reversed;
        uint256 slashed = 0;
        // Walk the set bits of the bitmap, lowest slot first.
        for (uint64 bits = p.signers; bits != 0; bits &= bits - 1) {
            uint8 slot = 0;
            while ((bits >> slot) & 1 == 0) slot++;
            address signer = signerAtSlot[slot];
            BondedSigner storage m = bondedSigners[signer];
            uint256 amount = m.bond;
            if (amount == 0) continue;
            m.bond = 0;
            slashed += amount;
            emit SignerSlashed(signer, ticketId, amount);
        }
        uint256 reward = slashed * disputerShareBps / 10_000;
        if (reward != 0) token.safeTransfer(msg.sender, reward);
        if (slashed > reward) {
            totalBurned += slashed - reward;
            token.burn(slashed - reward);
        }
        emit TicketDisputed(ticketId, msg.sender, reason, jobId, slashed, reward);
    }

    /// @dev Pull `amount` from the caller into account `a`; returns the new balance.
    function _credit(Account storage a, uint256 amount) private returns (uint256) {
        if (amount == 0) revert EmethCoreZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        a.balance += amount;
        return a.balance;
    }

    /// @dev Add `amount` to `a`'s pending withdrawal (at most `spendable` in all) and restart its
    ///      delay; returns readyAt.
    function _requestWithdrawal(Account storage a, uint256 amount, uint64 delay, uint256 spendable)
        private
        returns (uint64 readyAt)
    {
        if (amount == 0) revert EmethCoreZeroAmount();
        uint256 available = spendable > a.pending ? spendable - a.pending : 0;
        if (amount > available) revert EmethCoreWithdrawalExceedsBalance(msg.sender, amount, available);
        readyAt = uint64(block.timestamp) + delay;
        a.pending += amount;
        a.readyAt = readyAt;
    }

    /// @dev Pay out `a`'s pending withdrawal to the caller once ready; returns the amount.
    function _withdraw(Account storage a) private returns (uint256 amount) {
        if (a.pending == 0) revert EmethCoreNoPendingWithdrawal(msg.sender);
        if (block.timestamp < a.readyAt) revert EmethCoreWithdrawalNotReady(msg.sender, a.readyAt, block.timestamp);
        // Debit proofs and burns keep `pending` within what is left, so this is all paid.
        amount = a.pending;
        a.balance -= amount;
        a.pending = 0;
        a.readyAt = 0;
        token.safeTransfer(msg.sender, amount);
    }

    /// @dev Apply each newer proof of `requester` (an older or already proven one is skipped, so
    ///      a requester's own proof never fails because a billing agent proved it first).
    function _applyProofs(address requester, DebitProof[] calldata proofs) private {
        for (uint256 i = 0; i < proofs.length; i++) {
            DebitProof calldata p = proofs[i];
            if (p.ticketId > debitMarkOf[requester][p.ticketId >> EL_SHIFT].ticketId) _applyProof(requester, p);
        }
    }

    /// @dev Check `p` (newer than the mark: callers ensure it) and raise `requester`'s proven
    ///      debit to its leaf; cap a pending withdrawal at what is left.
    function _applyProof(address requester, DebitProof calldata p) private {
        bytes32 root = debitsRootOf[p.ticketId];
        if (root == bytes32(0)) revert EmethCoreTicketNotSettled(p.ticketId);
        if (!MerkleTree.verify(root, p.index, debitLeaf(requester, p.cumulative, p.prevTicketId), p.proof)) {
            revert EmethCoreInvalidDebitProof(requester, p.ticketId);
        }
        if (p.ticketId > type(uint64).max || p.cumulative > type(uint192).max) {
            revert EmethCoreDebitOutOfRange(p.ticketId, p.cumulative);
        }
        uint256 el = p.ticketId >> EL_SHIFT;
        DebitMark memory m = debitMarkOf[requester][el];
        // The leaf must follow the proven one: its previous Ticket is the proven one or newer,
        // and the cumulative debit never falls. (A consistent Signer always satisfies both.)
        if (p.prevTicketId < m.ticketId || p.prevTicketId >= p.ticketId || p.cumulative < m.cumulative) {
            revert EmethCoreDebitChainBroken(
                requester, p.ticketId, p.prevTicketId, p.cumulative, m.ticketId, m.cumulative
            );
        }
        debitMarkOf[requester][el] = DebitMark(uint64(p.ticketId), uint192(p.cumulative));
        Account storage a = deposits[requester];
        uint256 proven = uint256(a.debited) + (p.cumulative - m.cumulative);
        if (proven > type(uint192).max) revert EmethCoreDebitOutOfRange(p.ticketId, proven);
        a.debited = uint192(proven);
        emit DebitProven(p.ticketId, requester, p.cumulative, proven);
        uint256 left = a.balance > proven ? a.balance - proven : 0;
        if (a.pending > left) {
            a.pending = left;
            emit PendingWithdrawalReduced(requester, left);
        }
    }

    /// @dev Burn `t.penalty` from the node's collateral (as much as there is); returns the burn.
    function _burnPenalty(Ticket calldata t) private returns (uint256 burned) {
        if (t.penalty == 0) return 0;
        Account storage c = collaterals[t.node];
        burned = t.penalty <= c.balance ? t.penalty : c.balance;
        c.balance -= burned;
        if (c.pending > c.balance) {
            c.pending = c.balance;
            emit PendingWithdrawalReduced(t.node, c.balance);
        }
        if (burned < t.penalty) {
            uint256 shortfall = t.penalty - burned;
            penaltyShortfall[t.node] += shortfall;
            emit PenaltyShortfallRecorded(t.ticketId, t.node, shortfall);
        }
        if (burned != 0) {
            totalBurned += burned;
            token.burn(burned);
        }
    }
}
