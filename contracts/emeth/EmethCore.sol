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

    /// @notice The bit of a bytes16 job id that marks a SubJob (top bit of its first byte).
    uint128 public constant SUBJOB_ID_BIT = uint128(1) << 127;

    /// @notice EIP-712 type hash of `Ticket(...)`.
    bytes32 public constant TICKET_TYPEHASH = keccak256(
        "Ticket(uint256 ticketId,address node,bytes32 jobsRoot,uint256 jobCount,uint256 fuel,uint256 penalty,"
        "bytes32 debitsRoot,uint256 debitCount,uint256 totalDebit,uint64 validUntil)"
    );

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
    /// @notice Collateral (not pending withdrawal) a node must hold to take jobs.
    uint256 public minCollateral;

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
        if (_settled.get(t.ticketId)) revert EmethCoreTicketAlreadySettled(t.ticketId);
        if (block.timestamp > t.validUntil) revert EmethCoreTicketExpired(t.ticketId, t.validUntil, block.timestamp);
        if (t.node == address(0)) revert EmethCoreZeroAddress();
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(ticketDigest(t), signature);
        if (err != ECDSA.RecoverError.NoError) revert EmethCoreInvalidSignature();
        if (!isSigner[signer]) revert EmethCoreUnauthorizedSigner(signer);

        _settled.set(t.ticketId);
        jobsRootOf[t.ticketId] = t.jobsRoot;
        debitsRootOf[t.ticketId] = t.debitsRoot;
        totalFuel[t.node] += t.fuel;
        paid = t.totalDebit;
        burned = _burnPenalty(t);
        if (paid != 0) token.safeTransfer(t.node, paid);
        emit TicketSettled(t.ticketId, t.node, t.jobsRoot, t.debitsRoot, t.jobCount, t.fuel, paid, burned);
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
        if (settleMargin_ >= withdrawalDelay_ || settleMargin_ >= collateralWithdrawalDelay_) {
            revert EmethCoreSettleMarginTooLong(settleMargin_, withdrawalDelay_, collateralWithdrawalDelay_);
        }
        withdrawalDelay = withdrawalDelay_;
        collateralWithdrawalDelay = collateralWithdrawalDelay_;
        settleMargin = settleMargin_;
        minCollateral = minCollateral_;
        emit ParamsUpdated(withdrawalDelay_, collateralWithdrawalDelay_, settleMargin_, minCollateral_);
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
