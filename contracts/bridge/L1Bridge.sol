// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {MerkleTree} from "../common/MerkleTree.sol";
import {BatchHeader} from "../rollup/BatchHeader.sol";
import {IStateCommitment} from "../rollup/IStateCommitment.sol";
import {IDepositQueue} from "./IDepositQueue.sol";
import {IL2DepositSource} from "../rollup/IL2DepositSource.sol";

/// @notice A withdrawal as the L2 records it (docs/spec.md, "L2 ledger" > Execution, Withdraw).
/// @dev    Its Merkle item is keccak256(abi.encode(txHash, recipient, token, amount)) (= the
///         abi encoding of this struct); it is leaf `txIndex` of the batch's withdrawal root
///         (the position of the Withdraw transaction in the batch).
struct Withdrawal {
    /// keccak256 of the Withdraw transaction's encoding (makes the item unique).
    bytes32 txHash;
    /// L1 address paid.
    address recipient;
    /// L1 token (address(0) for ETH).
    address token;
    /// Amount in the token's smallest unit.
    uint256 amount;
}

/// @title L1Bridge
/// @notice Deposits of ETH and ERC20 tokens into an ordered queue the L2 must consume in order
///         (rolling hash per position), and withdrawals paid against the withdrawal root of a
///         finalized batch, each at most once.
/// @dev    Deposit item: keccak256(abi.encode(depositId, sender, l2Recipient, token, amount));
///         rolling hash h(n+1) = keccak256(abi.encode(h(n), item n)), h(0) = bytes32(0).
///         Fee-on-transfer (and other balance-altering) tokens are refused: the bridge must
///         receive exactly `amount`.
contract L1Bridge is IDepositQueue, IL2DepositSource, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Where batches and their status live.
    IStateCommitment public immutable stateCommitment;
    /// @inheritdoc IDepositQueue
    uint256 public depositCount;
    /// @notice Withdrawals already paid, by withdrawal hash ({withdrawalHash}).
    mapping(bytes32 => bool) public finalized;
    /// @notice Total queued minus total paid, per token (address(0): ETH).
    mapping(address => uint256) public locked;

    /// @dev Rolling hash after n deposits, for n >= 1.
    mapping(uint256 => bytes32) private _depositHashes;
    /// @dev Item hash of each deposit, by id (what L2 re-execution checks a deposit against).
    mapping(uint256 => bytes32) private _depositItems;

    /// @notice A deposit joined the queue at position `depositId`.
    event DepositQueued(
        uint256 indexed depositId,
        address indexed sender,
        address indexed l2Recipient,
        address token,
        uint256 amount,
        bytes32 rollingHash
    );
    /// @notice A withdrawal was paid.
    event WithdrawalFinalized(
        bytes32 indexed withdrawalHash,
        uint256 indexed batchIndex,
        address indexed recipient,
        address token,
        uint256 amount,
        uint256 txIndex
    );

    /// @notice Zero amount or zero recipient.
    error L1BridgeBadDeposit(address l2Recipient, uint256 amount);
    /// @notice The token moved `received` into the bridge instead of `amount` (fee-on-transfer).
    error L1BridgeFeeOnTransfer(address token, uint256 amount, uint256 received);
    /// @notice address(0) is ETH: use depositETH.
    error L1BridgeBadToken(address token);
    /// @notice Position `count` is past the queue (`queued` deposits so far).
    error L1BridgeUnknownPosition(uint256 count, uint256 queued);
    /// @notice The batch is not final yet (window running, data request open, or invalid).
    error L1BridgeBatchNotFinalized(uint256 batchIndex);
    /// @notice The withdrawal was already paid.
    error L1BridgeAlreadyFinalized(bytes32 withdrawalHash);
    /// @notice The proof does not put the withdrawal at `txIndex` of the batch's withdrawal root.
    error L1BridgeBadProof(uint256 batchIndex, uint256 txIndex);
    /// @notice The bridge never holds less than it received: `amount` exceeds what is locked.
    error L1BridgeInsufficientLocked(address token, uint256 amount, uint256 available);
    /// @notice Paying ETH to `recipient` failed.
    error L1BridgeEthTransferFailed(address recipient, uint256 amount);

    /// @param stateCommitment_ the StateCommitment whose batches withdrawals are proven against.
    constructor(IStateCommitment stateCommitment_) {
        stateCommitment = stateCommitment_;
    }

    // -------------------------------------------------------------- deposits

    /// @notice Deposits `msg.value` ETH for `l2Recipient`.
    /// @return depositId the deposit's position in the queue.
    function depositETH(address l2Recipient) external payable nonReentrant returns (uint256 depositId) {
        if (l2Recipient == address(0) || msg.value == 0) revert L1BridgeBadDeposit(l2Recipient, msg.value);
        locked[address(0)] += msg.value;
        depositId = _enqueue(l2Recipient, address(0), msg.value);
    }

    /// @notice Deposits `amount` of `token` (approved first) for `l2Recipient`.
    /// @return depositId the deposit's position in the queue.
    function depositERC20(address token, address l2Recipient, uint256 amount)
        external
        nonReentrant
        returns (uint256 depositId)
    {
        if (token == address(0)) revert L1BridgeBadToken(token);
        if (l2Recipient == address(0) || amount == 0) revert L1BridgeBadDeposit(l2Recipient, amount);
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        if (received != amount) revert L1BridgeFeeOnTransfer(token, amount, received);
        locked[token] += amount;
        depositId = _enqueue(l2Recipient, token, amount);
    }

    function _enqueue(address l2Recipient, address token, uint256 amount) private returns (uint256 id) {
        id = depositCount;
        bytes32 prev = _depositHashes[id]; // bytes32(0) for the first deposit
        bytes32 item = keccak256(abi.encode(id, msg.sender, l2Recipient, token, amount));
        bytes32 rolling = keccak256(abi.encode(prev, item));
        _depositItems[id] = item;
        _depositHashes[id + 1] = rolling;
        depositCount = id + 1;
        emit DepositQueued(id, msg.sender, l2Recipient, token, amount, rolling);
    }

    /// @inheritdoc IDepositQueue
    function depositHashAt(uint256 count) external view returns (bytes32) {
        if (count > depositCount) revert L1BridgeUnknownPosition(count, depositCount);
        return _depositHashes[count];
    }

    /// @inheritdoc IL2DepositSource
    function depositHash(uint256 depositId) external view returns (bytes32) {
        return _depositItems[depositId];
    }

    // ----------------------------------------------------------- withdrawals

    /// @notice Replay key of `w`: its item keccak256(abi.encode(w)), unique per L2 transaction
    ///         (it commits to the transaction hash), so a withdrawal is paid at most once even if
    ///         it appeared in two batches.
    function withdrawalHash(Withdrawal calldata w) public pure returns (bytes32) {
        return keccak256(abi.encode(w));
    }

    /// @notice Pays withdrawal `w`, leaf `txIndex` of the withdrawal root of the finalized batch `header`.
    /// @param header  the batch header (checked against the stored hash).
    /// @param txIndex the withdraw transaction's position in the batch.
    /// @param w       the withdrawal.
    /// @param proof   sibling path of leaf `txIndex` in `header.withdrawalRoot`.
    function finalizeWithdrawal(
        BatchHeader calldata header,
        uint256 txIndex,
        Withdrawal calldata w,
        bytes32[] calldata proof
    ) external nonReentrant {
        uint256 batchIndex = header.index;
        if (txIndex >= header.txCount) revert L1BridgeBadProof(batchIndex, txIndex);
        stateCommitment.checkHeader(header);
        if (!stateCommitment.isFinalized(batchIndex)) revert L1BridgeBatchNotFinalized(batchIndex);
        bytes32 item = keccak256(abi.encode(w));
        if (!MerkleTree.verify(header.withdrawalRoot, txIndex, item, proof)) {
            revert L1BridgeBadProof(batchIndex, txIndex);
        }
        if (finalized[item]) revert L1BridgeAlreadyFinalized(item);
        finalized[item] = true;
        uint256 available = locked[w.token];
        if (w.amount > available) revert L1BridgeInsufficientLocked(w.token, w.amount, available);
        locked[w.token] = available - w.amount;
        emit WithdrawalFinalized(item, batchIndex, w.recipient, w.token, w.amount, txIndex);
        // Interactions last (checks-effects-interactions, plus the reentrancy guard).
        if (w.token == address(0)) {
            (bool ok,) = w.recipient.call{value: w.amount}("");
            if (!ok) revert L1BridgeEthTransferFailed(w.recipient, w.amount);
        } else {
            IERC20(w.token).safeTransfer(w.recipient, w.amount);
        }
    }
}
