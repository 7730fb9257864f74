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
///         debit requesters, pay the node, burn penalties from its collateral and add to its fuel.
///         Everything else (jobs, SubJobs, verification) happens off-chain in the execution layer.
/// @dev    Withdrawal rule: deposits and collateral leave only after a delay, and Tickets may
///         still debit (or burn from) amounts pending withdrawal during that delay, so a Ticket
///         signed for work the execution layer accepted always settles if it is submitted within
///         the delay. The execution layer treats `availableDeposit` (balance minus pending) as the
///         spendable amount when it accepts new jobs.
contract EmethCore is Ownable, ReentrancyGuard, EIP712 {
    using BitMaps for BitMaps.BitMap;
    using SafeERC20 for ERC20Burnable;

    /// @notice What one requester pays in a Ticket.
    struct Debit {
        address requester;
        uint256 amount;
    }

    /// @notice A Signer's bill for a batch of one node's confirmed jobs.
    /// @dev    Field order and types are the EIP-712 type `Ticket` (see TICKET_TYPEHASH).
    struct Ticket {
        uint256 ticketId;
        address node;
        bytes32 jobsRoot;
        uint256 jobCount;
        uint256 fuel;
        uint256 penalty;
        Debit[] debits;
    }

    /// @notice A requester deposit or a node's collateral, with at most one pending withdrawal.
    struct Account {
        uint256 balance; // held by this contract, pending withdrawal included
        uint256 pending; // requested for withdrawal (never above balance)
        uint64 readyAt; // when `pending` may be withdrawn (0: nothing pending)
    }

    /// @notice The bit of a bytes16 job id that marks a SubJob (top bit of its first byte).
    uint128 public constant SUBJOB_ID_BIT = uint128(1) << 127;

    /// @notice EIP-712 type hash of `Debit(address requester,uint256 amount)`.
    bytes32 public constant DEBIT_TYPEHASH = keccak256("Debit(address requester,uint256 amount)");

    /// @notice EIP-712 type hash of `Ticket(...)Debit(...)` (referenced types appended).
    bytes32 public constant TICKET_TYPEHASH = keccak256(
        "Ticket(uint256 ticketId,address node,bytes32 jobsRoot,uint256 jobCount,uint256 fuel,uint256 penalty,Debit[] debits)"
        "Debit(address requester,uint256 amount)"
    );

    /// @notice The EMETH token (deposits, collateral, payments; penalties are burned).
    ERC20Burnable public immutable token;

    /// @notice Seconds between a requester's `requestWithdrawal` and `withdraw`.
    uint64 public withdrawalDelay;
    /// @notice Seconds between a node's `requestCollateralWithdrawal` and `withdrawCollateral`.
    uint64 public collateralWithdrawalDelay;
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
    /// @notice Debits Tickets could not take from `requester` (its deposit was short), summed.
    mapping(address requester => uint256) public unpaidDebits;
    /// @notice jobsRoot of each settled Ticket (for audits with `verifyJobInTicket`).
    mapping(uint256 ticketId => bytes32) public jobsRootOf;
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
    event ParamsUpdated(uint64 withdrawalDelay, uint64 collateralWithdrawalDelay, uint256 minCollateral);
    /// @notice A Ticket debited `amount` from `requester`.
    event RequesterDebited(uint256 indexed ticketId, address indexed requester, uint256 amount);
    /// @notice A Ticket's debit of `amount` exceeded `requester`'s `balance`: it was skipped
    ///         (the rest of the Ticket settles; the node is not paid for it).
    event RequesterDebitUnpaid(uint256 indexed ticketId, address indexed requester, uint256 amount, uint256 balance);
    /// @notice A Ticket lowered `account`'s pending withdrawal to `pending` (its balance after a
    ///         debit or a burn): the withdrawal will pay that much.
    event PendingWithdrawalReduced(address indexed account, uint256 pending);
    /// @notice A Ticket's penalty exceeded the node's collateral by `shortfall`.
    event PenaltyShortfallRecorded(uint256 indexed ticketId, address indexed node, uint256 shortfall);
    /// @notice A Ticket settled: `paid` went to the node, `burned` left its collateral.
    event TicketSettled(
        uint256 indexed ticketId,
        address indexed node,
        bytes32 jobsRoot,
        uint256 jobCount,
        uint256 fuel,
        uint256 paid,
        uint256 burned
    );

    /// @notice An amount of zero where a positive one is needed.
    error EmethCoreZeroAmount();
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

    /// @param token_                     the EMETH token.
    /// @param initialOwner               the admin (deployer; the governance Timelock after handoff).
    /// @param withdrawalDelay_           seconds a requester waits to withdraw.
    /// @param collateralWithdrawalDelay_ seconds a node waits to withdraw collateral.
    /// @param minCollateral_             collateral a node needs to be eligible.
    constructor(
        ERC20Burnable token_,
        address initialOwner,
        uint64 withdrawalDelay_,
        uint64 collateralWithdrawalDelay_,
        uint256 minCollateral_
    ) Ownable(initialOwner) EIP712("EmethCore", "1") {
        if (address(token_) == address(0)) revert EmethCoreZeroAddress();
        token = token_;
        _setParams(withdrawalDelay_, collateralWithdrawalDelay_, minCollateral_);
    }

    // ------------------------------------------------------------------ requesters

    /// @notice Deposit `amount` EMETH (approve this contract first) to pay for jobs.
    /// @param amount base units to deposit.
    function deposit(uint256 amount) external nonReentrant {
        uint256 balance = _credit(deposits[msg.sender], amount);
        emit Deposited(msg.sender, amount, balance);
    }

    /// @notice Start withdrawing `amount`; it can be taken with `withdraw` after `withdrawalDelay`.
    ///         A further request adds to the pending amount and restarts the delay. Until then,
    ///         Tickets may still debit the pending amount.
    /// @param amount base units to withdraw.
    function requestWithdrawal(uint256 amount) external {
        Account storage a = deposits[msg.sender];
        uint64 readyAt = _requestWithdrawal(a, amount, withdrawalDelay);
        emit WithdrawalRequested(msg.sender, amount, a.pending, readyAt);
    }

    /// @notice Take the pending withdrawal (less whatever Tickets debited meanwhile).
    function withdraw() external nonReentrant {
        uint256 amount = _withdraw(deposits[msg.sender]);
        emit Withdrawn(msg.sender, amount);
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
        uint64 readyAt = _requestWithdrawal(a, amount, collateralWithdrawalDelay);
        emit CollateralWithdrawalRequested(msg.sender, amount, a.pending, readyAt);
    }

    /// @notice Take the pending collateral withdrawal (less penalties burned meanwhile).
    function withdrawCollateral() external nonReentrant {
        uint256 amount = _withdraw(collaterals[msg.sender]);
        emit CollateralWithdrawn(msg.sender, amount);
    }

    // ------------------------------------------------------------------ Tickets

    /// @notice Settle a Ticket signed by an authorised signer. Anyone may submit it (a node's
    ///         billing agent or a relayer); the payment always goes to `t.node`.
    /// @dev    Debits each requester (a debit above its balance is skipped, never reverting the
    ///         Ticket), pays the node the sum of the debits taken (no protocol share),
    ///         burns `t.penalty` from the node's collateral (what there is; the rest is recorded
    ///         in `penaltyShortfall`), adds `t.fuel` to `totalFuel[t.node]`, stores `t.jobsRoot`.
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
        if (t.node == address(0)) revert EmethCoreZeroAddress();
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(ticketDigest(t), signature);
        if (err != ECDSA.RecoverError.NoError) revert EmethCoreInvalidSignature();
        if (!isSigner[signer]) revert EmethCoreUnauthorizedSigner(signer);

        _settled.set(t.ticketId);
        jobsRootOf[t.ticketId] = t.jobsRoot;
        totalFuel[t.node] += t.fuel;
        paid = _debitRequesters(t);
        burned = _burnPenalty(t);
        if (paid != 0) token.safeTransfer(t.node, paid);
        emit TicketSettled(t.ticketId, t.node, t.jobsRoot, t.jobCount, t.fuel, paid, burned);
    }

    /// @notice EIP-712 struct hash of `t` (`hashStruct(Ticket)`).
    /// @param t the Ticket.
    /// @return h keccak256(TICKET_TYPEHASH ‖ fields ‖ keccak256(hashStruct(debit_0) ‖ ...)).
    function hashTicket(Ticket calldata t) public pure returns (bytes32 h) {
        // EIP-712 array encoding: keccak256 of the concatenated struct hashes of the elements.
        bytes32[] memory debitHashes = new bytes32[](t.debits.length);
        for (uint256 i = 0; i < t.debits.length; i++) {
            debitHashes[i] = keccak256(abi.encode(DEBIT_TYPEHASH, t.debits[i].requester, t.debits[i].amount));
        }
        h = keccak256(
            abi.encode(
                TICKET_TYPEHASH,
                t.ticketId,
                t.node,
                t.jobsRoot,
                t.jobCount,
                t.fuel,
                t.penalty,
                keccak256(abi.encodePacked(debitHashes))
            )
        );
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

    /// @notice What a requester can still spend on new jobs (deposit not pending withdrawal).
    function availableDeposit(address requester) external view returns (uint256) {
        Account storage a = deposits[requester];
        return a.balance - a.pending;
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

    /// @notice Change the withdrawal delays and the minimum node collateral.
    /// @param withdrawalDelay_           seconds.
    /// @param collateralWithdrawalDelay_ seconds.
    /// @param minCollateral_             base units.
    function setParams(uint64 withdrawalDelay_, uint64 collateralWithdrawalDelay_, uint256 minCollateral_)
        external
        onlyOwner
    {
        _setParams(withdrawalDelay_, collateralWithdrawalDelay_, minCollateral_);
    }

    // ------------------------------------------------------------------ internals

    function _setParams(uint64 withdrawalDelay_, uint64 collateralWithdrawalDelay_, uint256 minCollateral_) private {
        withdrawalDelay = withdrawalDelay_;
        collateralWithdrawalDelay = collateralWithdrawalDelay_;
        minCollateral = minCollateral_;
        emit ParamsUpdated(withdrawalDelay_, collateralWithdrawalDelay_, minCollateral_);
    }

    /// @dev Pull `amount` from the caller into account `a`; returns the new balance.
    function _credit(Account storage a, uint256 amount) private returns (uint256) {
        if (amount == 0) revert EmethCoreZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        a.balance += amount;
        return a.balance;
    }

    /// @dev Add `amount` to `a`'s pending withdrawal and restart its delay; returns readyAt.
    function _requestWithdrawal(Account storage a, uint256 amount, uint64 delay) private returns (uint64 readyAt) {
        if (amount == 0) revert EmethCoreZeroAmount();
        uint256 available = a.balance - a.pending;
        if (amount > available) revert EmethCoreWithdrawalExceedsBalance(msg.sender, amount, available);
        readyAt = uint64(block.timestamp) + delay;
        a.pending += amount;
        a.readyAt = readyAt;
    }

    /// @dev Pay out `a`'s pending withdrawal to the caller once ready; returns the amount.
    function _withdraw(Account storage a) private returns (uint256 amount) {
        if (a.pending == 0) revert EmethCoreNoPendingWithdrawal(msg.sender);
        if (block.timestamp < a.readyAt) revert EmethCoreWithdrawalNotReady(msg.sender, a.readyAt, block.timestamp);
        // Tickets keep `pending <= balance`, so this is what is left of the request.
        amount = a.pending;
        a.balance -= amount;
        a.pending = 0;
        a.readyAt = 0;
        token.safeTransfer(msg.sender, amount);
    }

    /// @dev Debit every requester of `t` (in order; one requester may appear twice); returns the sum.
    ///      A debit above the requester's balance is skipped whole (event `RequesterDebitUnpaid`,
    ///      summed in `unpaidDebits`): one withdrawn requester never blocks the other payments.
    function _debitRequesters(Ticket calldata t) private returns (uint256 paid) {
        for (uint256 i = 0; i < t.debits.length; i++) {
            Debit calldata d = t.debits[i];
            Account storage a = deposits[d.requester];
            uint256 balance = a.balance;
            if (d.amount > balance) {
                unpaidDebits[d.requester] += d.amount;
                emit RequesterDebitUnpaid(t.ticketId, d.requester, d.amount, balance);
                continue;
            }
            balance -= d.amount;
            a.balance = balance;
            // A pending withdrawal can only take what Tickets left.
            if (a.pending > balance) {
                a.pending = balance;
                emit PendingWithdrawalReduced(d.requester, balance);
            }
            paid += d.amount;
            emit RequesterDebited(t.ticketId, d.requester, d.amount);
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
