// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";

/// @title EmethCoreL1Baseline
/// @notice A minimal, faithful model of the public L1-only EmethCore, kept as the gas baseline
///         the Ticket design is compared with (bench/bench_emeth_l1.py). Every job lives on L1:
///         request (escrows fuelLimit × fuelPrice plus a verifier fee), cancel, process (locks a
///         node deposit), decline, submit, verify, rejectResult and timeout, with 25% penalties
///         burned on timeout/decline/failure, bytes16 job ids with parent/children, and cumulative
///         fuel per node. Datasets and results are stored as 32-byte content hashes (cheaper than
///         the original's strings, so the baseline's gas is a lower bound).
/// @dev    The two known bugs of the public contract are fixed here: `timeout` reads the status
///         before overwriting it (so the node's penalty branch is reachable), and it refunds the
///         requester's full escrow (fuelLimit × fuelPrice + verifier fee, not fuelUsed × price).
contract EmethCoreL1Baseline {
    using SafeERC20 for ERC20Burnable;

    uint8 internal constant NONE = 0;
    uint8 internal constant REQUESTED = 1;
    uint8 internal constant PROCESSING = 2;
    uint8 internal constant SUBMITTED = 3;
    uint8 internal constant VERIFIED = 4;
    uint8 internal constant CANCELED = 5;
    uint8 internal constant TIMEOUT = 6;
    uint8 internal constant FAILED = 7;
    uint8 internal constant DECLINED = 8;

    /// @notice Penalty on timeout, decline and failed verification: 25% of the fee limit.
    uint256 public constant PENALTY_RATE_PERMILLE = 250;
    /// @notice Node deposit locked by `process`: enough to cover the penalty.
    uint256 public constant DEPOSIT_RATE_PERMILLE = 250;
    /// @notice Verifier fee on top of the fee limit.
    uint256 public constant VERIFIER_FEE_PERMILLE = 50;

    /// @notice A job as the requester registered it.
    struct Job {
        address requester;
        uint64 deadline;
        uint8 status;
        bytes16 parentId;
        uint256 programId;
        uint256 fuelLimit;
        uint256 fuelPrice;
        bytes32 dataset;
    }

    /// @notice The node working on a job and what it reported.
    struct Assignment {
        address node;
        uint64 startedAt;
        uint64 submittedAt;
        uint256 deposit;
        uint256 fuelUsed;
        bytes32 result;
    }

    /// @notice The EMETH token.
    ERC20Burnable public immutable token;
    /// @notice The verifier (verify, rejectResult, timeout).
    address public immutable verifier;

    /// @notice Jobs by id.
    mapping(bytes16 jobId => Job) public jobs;
    /// @notice Assignments by job id.
    mapping(bytes16 jobId => Assignment) public assignments;
    /// @notice Children of a parent job.
    mapping(bytes16 jobId => bytes16[]) public children;
    /// @notice Node deposits (free balance; `process` locks part of it per job).
    mapping(address node => uint256) public nodeDeposits;
    /// @notice Cumulative fuel of each node's verified jobs.
    mapping(address node => uint256) public totalFuel;

    /// @notice Job `jobId` moved to `status` by `by`.
    event StatusChanged(bytes16 indexed jobId, address indexed by, uint8 status);

    /// @notice `jobId` is already taken.
    error EmethCoreL1BaselineJobExists(bytes16 jobId);
    /// @notice `jobId` is in `status`, not `expected`.
    error EmethCoreL1BaselineBadStatus(bytes16 jobId, uint8 status, uint8 expected);
    /// @notice `caller` may not do this to `jobId`.
    error EmethCoreL1BaselineNotAllowed(bytes16 jobId, address caller);
    /// @notice Node `node` has `balance` free deposit, needs `needed`.
    error EmethCoreL1BaselineInsufficientDeposit(address node, uint256 balance, uint256 needed);
    /// @notice Reported fuel exceeds the job's limit.
    error EmethCoreL1BaselineFuelExceedsLimit(bytes16 jobId, uint256 fuelUsed, uint256 fuelLimit);
    /// @notice The deadline of `jobId` has not passed.
    error EmethCoreL1BaselineNotTimedOut(bytes16 jobId, uint64 deadline);

    /// @param token_    the EMETH token.
    /// @param verifier_ the verifier.
    constructor(ERC20Burnable token_, address verifier_) {
        token = token_;
        verifier = verifier_;
    }

    modifier onlyVerifier(bytes16 jobId) {
        if (msg.sender != verifier) revert EmethCoreL1BaselineNotAllowed(jobId, msg.sender);
        _;
    }

    /// @notice Add to the caller's node deposit.
    function depositNode(uint256 amount) external {
        token.safeTransferFrom(msg.sender, address(this), amount);
        nodeDeposits[msg.sender] += amount;
    }

    /// @notice Register a job and escrow its fee limit plus the verifier fee.
    function request(
        bytes16 jobId,
        bytes16 parentId,
        uint256 programId,
        bytes32 dataset,
        uint256 fuelLimit,
        uint256 fuelPrice,
        uint64 deadline
    ) external {
        if (jobs[jobId].status != NONE) revert EmethCoreL1BaselineJobExists(jobId);
        jobs[jobId] = Job(msg.sender, deadline, REQUESTED, parentId, programId, fuelLimit, fuelPrice, dataset);
        if (parentId != bytes16(0)) children[parentId].push(jobId);
        token.safeTransferFrom(msg.sender, address(this), _escrow(jobs[jobId]));
        emit StatusChanged(jobId, msg.sender, REQUESTED);
    }

    /// @notice The requester cancels a job nobody started; the escrow is refunded.
    function cancel(bytes16 jobId) external {
        Job storage job = _expect(jobId, REQUESTED);
        if (job.requester != msg.sender) revert EmethCoreL1BaselineNotAllowed(jobId, msg.sender);
        job.status = CANCELED;
        token.safeTransfer(job.requester, _escrow(job));
        emit StatusChanged(jobId, msg.sender, CANCELED);
    }

    /// @notice A node takes a job, locking part of its deposit.
    function process(bytes16 jobId) external {
        Job storage job = _expect(jobId, REQUESTED);
        uint256 needed = job.fuelLimit * job.fuelPrice * DEPOSIT_RATE_PERMILLE / 1000;
        uint256 free = nodeDeposits[msg.sender];
        if (free < needed) revert EmethCoreL1BaselineInsufficientDeposit(msg.sender, free, needed);
        nodeDeposits[msg.sender] = free - needed;
        job.status = PROCESSING;
        Assignment storage a = assignments[jobId];
        a.node = msg.sender;
        a.startedAt = uint64(block.timestamp);
        a.deposit = needed;
        emit StatusChanged(jobId, msg.sender, PROCESSING);
    }

    /// @notice The node gives a job up: penalty burned, escrow refunded.
    function decline(bytes16 jobId) external {
        Job storage job = _expect(jobId, PROCESSING);
        if (assignments[jobId].node != msg.sender) revert EmethCoreL1BaselineNotAllowed(jobId, msg.sender);
        job.status = DECLINED;
        _penalise(jobId, job);
        token.safeTransfer(job.requester, _escrow(job));
        emit StatusChanged(jobId, msg.sender, DECLINED);
    }

    /// @notice The node reports its result and the fuel it used.
    function submit(bytes16 jobId, bytes32 result, uint256 fuelUsed) external {
        Job storage job = _expect(jobId, PROCESSING);
        Assignment storage a = assignments[jobId];
        if (a.node != msg.sender) revert EmethCoreL1BaselineNotAllowed(jobId, msg.sender);
        if (fuelUsed > job.fuelLimit) revert EmethCoreL1BaselineFuelExceedsLimit(jobId, fuelUsed, job.fuelLimit);
        job.status = SUBMITTED;
        a.result = result;
        a.fuelUsed = fuelUsed;
        a.submittedAt = uint64(block.timestamp);
        emit StatusChanged(jobId, msg.sender, SUBMITTED);
    }

    /// @notice The verifier accepts the result: node paid for fuel used, deposit unlocked,
    ///         unused escrow refunded, verifier fee paid, node fuel counted.
    function verify(bytes16 jobId) external onlyVerifier(jobId) {
        Job storage job = _expect(jobId, SUBMITTED);
        Assignment storage a = assignments[jobId];
        job.status = VERIFIED;
        uint256 feeLimit = job.fuelLimit * job.fuelPrice;
        uint256 feeUsed = a.fuelUsed * job.fuelPrice;
        nodeDeposits[a.node] += a.deposit;
        totalFuel[a.node] += a.fuelUsed;
        if (feeUsed != 0) token.safeTransfer(a.node, feeUsed);
        if (feeLimit > feeUsed) token.safeTransfer(job.requester, feeLimit - feeUsed);
        uint256 fee = feeLimit * VERIFIER_FEE_PERMILLE / 1000;
        if (fee != 0) token.safeTransfer(verifier, fee);
        emit StatusChanged(jobId, msg.sender, VERIFIED);
    }

    /// @notice The verifier rejects the result: penalty burned, escrow refunded.
    function rejectResult(bytes16 jobId) external onlyVerifier(jobId) {
        Job storage job = _expect(jobId, SUBMITTED);
        job.status = FAILED;
        _penalise(jobId, job);
        token.safeTransfer(job.requester, _escrow(job));
        emit StatusChanged(jobId, msg.sender, FAILED);
    }

    /// @notice A job past its deadline that was never submitted times out: full escrow refunded,
    ///         and if a node had started it, its penalty burned.
    function timeout(bytes16 jobId) external onlyVerifier(jobId) {
        Job storage job = jobs[jobId];
        uint8 status = job.status; // read BEFORE overwriting (the public contract's bug)
        if (status != REQUESTED && status != PROCESSING) revert EmethCoreL1BaselineBadStatus(jobId, status, PROCESSING);
        if (block.timestamp < job.deadline) revert EmethCoreL1BaselineNotTimedOut(jobId, job.deadline);
        job.status = TIMEOUT;
        if (status == PROCESSING) _penalise(jobId, job);
        token.safeTransfer(job.requester, _escrow(job)); // the whole escrow, not fuelUsed × price
        emit StatusChanged(jobId, msg.sender, TIMEOUT);
    }

    /// @notice Number of children of `parentId`.
    function childCount(bytes16 parentId) external view returns (uint256) {
        return children[parentId].length;
    }

    function _expect(bytes16 jobId, uint8 expected) private view returns (Job storage job) {
        job = jobs[jobId];
        if (job.status != expected) revert EmethCoreL1BaselineBadStatus(jobId, job.status, expected);
    }

    function _escrow(Job storage job) private view returns (uint256) {
        uint256 feeLimit = job.fuelLimit * job.fuelPrice;
        return feeLimit + feeLimit * VERIFIER_FEE_PERMILLE / 1000;
    }

    /// @dev Burn 25% of the fee limit from the node's locked deposit and unlock the rest.
    function _penalise(bytes16 jobId, Job storage job) private {
        Assignment storage a = assignments[jobId];
        uint256 penalty = job.fuelLimit * job.fuelPrice * PENALTY_RATE_PERMILLE / 1000;
        if (penalty > a.deposit) penalty = a.deposit;
        nodeDeposits[a.node] += a.deposit - penalty;
        a.deposit = 0;
        if (penalty != 0) token.burn(penalty);
    }
}
