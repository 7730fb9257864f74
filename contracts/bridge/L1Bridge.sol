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
import {StateTree} from "../rollup/StateTree.sol";

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

/// @notice Proof of an L2 balance in the last final state (docs/spec.md, "Escape hatch").
struct EscapeProof {
    /// The last final batch (checked against the stored hash): its `finalStateRoot` is the root.
    BatchHeader header;
    /// Decomposition of `header.finalStateRoot`: keccak256(abi.encode(treeRoot, size, nextDepositId)).
    bytes32 treeRoot;
    uint256 size;
    uint256 nextDepositId;
    /// Inclusion (or exclusion) witness of balanceKey(account, token) in `treeRoot`.
    StateTree.KeyWitness witness;
}

/// @title L1Bridge
/// @notice Deposits of ETH and ERC20 tokens into an ordered queue the L2 must consume in order
///         (rolling hash per position), and withdrawals paid against the withdrawal root of a
///         finalized batch, each at most once. The same queue carries **forced** L2 transactions
///         ({forceTx}: censorship resistance, docs/spec.md "Forced inclusion") which every batch
///         appended after their deadline must have consumed; and once StateCommitment is frozen
///         (batches stopped), every balance of the last final state root leaves through
///         {escape} and every deposit that root had not consumed is refunded ({refundDeposit}).
/// @dev    Forced item: keccak256(abi.encodePacked(queueId, l2Tx)) (= keccak256 of the L2
///         encoding `0x04 ‖ queueId ‖ l2Tx` without its kind byte), not stored per id (L1
///         re-execution checks it against the rolling hashes: {queueItemMatches}). After a forced
///         item the rolling hash keeps its high 176 bits; its low 80 bits link to the previous
///         forced item (position + 1, 40 bits) and hold the deadline (40 bits): one new storage
///         slot per forced tx.
/// @dev    Deposit item: keccak256(abi.encode(depositId, sender, l2Recipient, token, amount));
///         rolling hash h(n+1) = keccak256(abi.encode(h(n), item n)), h(0) = bytes32(0).
///         Fee-on-transfer (and other balance-altering) tokens are refused: the bridge must
///         receive exactly `amount`.
contract L1Bridge is IDepositQueue, IL2DepositSource, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Where batches and their status live.
    IStateCommitment public immutable stateCommitment;
    /// @notice Seconds after {forceTx} by which a batch must have consumed the forced item.
    uint256 public immutable forceInclusionWindow;
    /// @notice Length of the user-transaction encoding that {forceTx} takes (docs/spec.md).
    uint256 public constant FORCED_TX_LENGTH = 289;
    /// @notice Queue counters in one slot: items queued (deposits and forced txs), forced txs,
    ///         and the position + 1 of the last forced tx (0: none).
    struct Counts {
        uint64 queued;
        uint64 forced;
        uint64 lastForced;
    }

    Counts private _counts;
    /// @notice Balances already paid by {escape}, by balanceKey(account, token).
    mapping(uint256 => bool) public escaped;
    /// @notice Deposits already refunded after the freeze, by deposit id.
    mapping(uint256 => bool) public refunded;

    /// @notice The state every escape and refund is against, fixed by the first of them after
    ///         the freeze (a batch that finalizes later, e.g. when a data request is answered,
    ///         never moves it): `none` when no batch was final (every deposit is refunded).
    struct EscapeAnchor {
        bool set;
        bool none;
        uint64 index;
        uint64 depositCount;
    }

    /// @notice See {EscapeAnchor}.
    EscapeAnchor public escapeAnchor;
    /// @notice Withdrawals already paid, by withdrawal hash ({withdrawalHash}).
    mapping(bytes32 => bool) public finalized;
    /// @notice Total queued minus total paid, per token (address(0): ETH).
    mapping(address => uint256) public locked;

    /// @dev Rolling hash after n deposits, for n >= 1.
    mapping(uint256 => bytes32) private _depositHashes;
    /// @dev Item hash of each deposit, by id (what L2 re-execution checks a deposit against).
    mapping(uint256 => bytes32) private _depositItems;
    /// @dev Low 80 bits of the stored rolling hash after a forced tx: the position + 1 of the
    ///      previous forced tx (40 bits, 0: none) and the inclusion deadline (40 bits).
    uint256 private constant FORCED_LINK_BITS = 80;
    /// @dev High 176 bits of a rolling hash (what a forced position keeps of it).
    bytes32 private constant FORCED_HASH_MASK = ~bytes32((uint256(1) << FORCED_LINK_BITS) - 1);

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

    /// @notice A signed L2 transaction was queued at `queueId` for forced inclusion by `deadline`.
    event ForcedTxQueued(uint256 indexed queueId, address indexed sender, uint256 deadline, bytes l2Tx);
    /// @notice After the freeze, `balance` of `token` held by `account` in the last final state
    ///         (batch `batchIndex`) was paid to `account` on L1.
    event Escaped(address indexed account, address indexed token, uint256 balance, uint256 indexed batchIndex);
    /// @notice After the freeze, deposit `depositId` (not consumed by a final batch) went back to `sender`.
    event DepositRefunded(uint256 indexed depositId, address indexed sender, address token, uint256 amount);

    /// @notice The escape anchor was fixed: batch `index` (consuming `depositCount` queue items),
    ///         or no batch (`none`).
    event EscapeAnchorFixed(bool none, uint256 index, uint256 depositCount);

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
    /// @notice {forceTx} takes a Transfer or Withdraw encoding (289 bytes, kind 0x01/0x02, clean
    ///         address and `v` words): `length` bytes of kind `kind` are not one.
    error L1BridgeMalformedForcedTx(uint256 length, uint8 kind);
    /// @notice A forced transaction must pay the sequencer that includes it a fee.
    error L1BridgeZeroForcedFee();
    /// @notice Escapes and refunds only exist once StateCommitment is frozen.
    error L1BridgeNotFrozen();
    /// @notice `index` is not the last final batch (not final, or batch index+1 is final too).
    error L1BridgeNotLastFinal(uint256 index);
    /// @notice The proof does not give `account` a balance of `claimed` `token` (`proven` instead),
    ///         or the state decomposition does not hash to the final state root.
    error L1BridgeBadEscapeProof(address account, address token, uint256 claimed, uint256 proven);
    /// @notice This (account, token) balance was already paid by {escape}.
    error L1BridgeAlreadyEscaped(address account, address token);
    /// @notice Deposit `depositId` was consumed by a final batch (below `finalCount`), is unknown
    ///         or does not match the given fields.
    error L1BridgeNotRefundable(uint256 depositId, uint256 finalCount);
    /// @notice Deposit `depositId` was already refunded.
    error L1BridgeAlreadyRefunded(uint256 depositId);
    /// @notice After the freeze, withdrawals are paid only from batches up to the escape anchor
    ///         (`anchorIndex`; fix it first with {fixEscapeAnchor}): `batchIndex` is past it, or
    ///         the anchor is not fixed (`set` false).
    error L1BridgeWithdrawalPastEscapeAnchor(uint256 batchIndex, uint256 anchorIndex, bool set);
    /// @notice Paying ETH to `recipient` failed.
    error L1BridgeEthTransferFailed(address recipient, uint256 amount);

    /// @param stateCommitment_      the StateCommitment whose batches withdrawals are proven against.
    /// @param forceInclusionWindow_ seconds a forced transaction may wait (24 h in production).
    constructor(IStateCommitment stateCommitment_, uint256 forceInclusionWindow_) {
        stateCommitment = stateCommitment_;
        forceInclusionWindow = forceInclusionWindow_;
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
        id = _counts.queued;
        bytes32 prev = _depositHashes[id]; // bytes32(0) for the first deposit
        bytes32 item = keccak256(abi.encode(id, msg.sender, l2Recipient, token, amount));
        bytes32 rolling = keccak256(abi.encode(prev, item));
        _depositItems[id] = item;
        _depositHashes[id + 1] = rolling;
        _counts.queued = uint64(id + 1);
        emit DepositQueued(id, msg.sender, l2Recipient, token, amount, rolling);
    }

    // ---------------------------------------------------------- forced queue

    /// @notice Queues the signed L2 Transfer or Withdraw `l2Tx` (its 289-byte L2 encoding,
    ///         docs/spec.md "Transactions and encodings") for forced inclusion: the L2 executes it
    ///         at its queue position (a failed receipt if it is invalid there), and no batch may be
    ///         appended after `block.timestamp + forceInclusionWindow` without consuming it.
    /// @dev    Anyone may relay a signed transaction; only the encoding and the fee are checked
    ///         here (signature, nonce and balance are the L2's, at execution).
    /// @return queueId the item's position in the queue.
    function forceTx(bytes calldata l2Tx) external returns (uint256 queueId) {
        uint8 kind = l2Tx.length > 0 ? uint8(l2Tx[0]) : 0;
        if (
            l2Tx.length != FORCED_TX_LENGTH || (kind != 1 && kind != 2) || _word(l2Tx, 1) >> 160 != 0
                || _word(l2Tx, 33) >> 160 != 0 || _word(l2Tx, 65) >> 160 != 0 || _word(l2Tx, 193) > type(uint8).max
        ) revert L1BridgeMalformedForcedTx(l2Tx.length, kind);
        if (_word(l2Tx, 129) == 0) revert L1BridgeZeroForcedFee();
        Counts memory c = _counts;
        queueId = c.queued;
        bytes32 item = keccak256(abi.encodePacked(queueId, l2Tx));
        uint256 deadline = block.timestamp + forceInclusionWindow;
        // One new slot per forced tx: the rolling hash (high 176 bits) carries the link to the
        // previous forced tx and this one's deadline in its low 80 bits.
        bytes32 rolling = keccak256(abi.encode(_depositHashes[queueId], item)) & FORCED_HASH_MASK;
        _depositHashes[queueId + 1] = rolling | bytes32((uint256(c.lastForced) << 40) | deadline);
        _counts = Counts(uint64(queueId + 1), c.forced + 1, uint64(queueId + 1));
        emit ForcedTxQueued(queueId, msg.sender, deadline, l2Tx);
    }

    /// @inheritdoc IDepositQueue
    function depositCount() external view returns (uint256) {
        return _counts.queued;
    }

    /// @notice Number of forced transactions queued so far (forced indices 0 .. forcedCount-1).
    function forcedCount() external view returns (uint256) {
        return _counts.forced;
    }

    /// @notice The inclusion deadline of the forced tx at queue position `queueId` (0 if that
    ///         position holds none). Walks the forced txs back from the last one.
    function forcedDeadline(uint256 queueId) external view returns (uint256) {
        uint256 pos1 = _counts.lastForced;
        while (pos1 > queueId + 1) {
            pos1 = _prevForced(_depositHashes[pos1]);
        }
        return pos1 == queueId + 1 ? _deadlineOf(_depositHashes[pos1]) : 0;
    }

    /// @inheritdoc IDepositQueue
    /// @dev Walks the forced txs back from the last one, so it costs one read per forced tx at
    ///      or after `position` (those the chain has not consumed: an honest sequencer includes
    ///      each within its next batch, and each costs its sender a forceTx).
    function firstForcedFrom(uint256 position) external view returns (uint256 queueId, uint256 deadline) {
        uint256 pos1 = _counts.lastForced;
        // Forced positions + 1 descend along the links; stop at the first one below `position`.
        while (pos1 > position) {
            bytes32 v = _depositHashes[pos1];
            queueId = pos1 - 1;
            deadline = _deadlineOf(v);
            pos1 = _prevForced(v);
        }
    }

    /// @inheritdoc IL2DepositSource
    /// @dev For a forced position the high 176 bits of the rolling hash are compared.
    function queueItemMatches(uint256 queueId, bytes32 item) external view returns (bool) {
        bytes32 expected = keccak256(abi.encode(_depositHashes[queueId], item)) & FORCED_HASH_MASK;
        return queueId < _counts.queued && _depositHashes[queueId + 1] & FORCED_HASH_MASK == expected;
    }

    function _prevForced(bytes32 v) private pure returns (uint256) {
        return (uint256(v) >> 40) & type(uint40).max;
    }

    function _deadlineOf(bytes32 v) private pure returns (uint256) {
        return uint256(v) & type(uint40).max;
    }

    function _word(bytes calldata d, uint256 offset) private pure returns (uint256) {
        return uint256(bytes32(d[offset:offset + 32]));
    }

    /// @inheritdoc IDepositQueue
    function depositHashAt(uint256 count) external view returns (bytes32) {
        uint256 queued = _counts.queued;
        if (count > queued) revert L1BridgeUnknownPosition(count, queued);
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
        if (stateCommitment.frozenAt() != 0) {
            // Escapes pay the balances of the anchor's state: a withdrawal of a later batch is
            // still in them, so it must not be paid as well.
            EscapeAnchor memory a = escapeAnchor;
            if (!a.set || a.none || batchIndex > a.index) {
                revert L1BridgeWithdrawalPastEscapeAnchor(batchIndex, a.index, a.set);
            }
        }
        bytes32 item = keccak256(abi.encode(w));
        if (!MerkleTree.verify(header.withdrawalRoot, txIndex, item, proof)) {
            revert L1BridgeBadProof(batchIndex, txIndex);
        }
        if (finalized[item]) revert L1BridgeAlreadyFinalized(item);
        finalized[item] = true;
        _debit(w.token, w.amount);
        emit WithdrawalFinalized(item, batchIndex, w.recipient, w.token, w.amount, txIndex);
        // Interactions last (checks-effects-interactions, plus the reentrancy guard).
        _pay(w.recipient, w.token, w.amount);
    }

    // ----------------------------------------------------------- escape hatch

    /// @notice After the freeze, pays `account` its `balance` of `token` in the last final state
    ///         root (batch `proof.header`), once per (account, token). Anyone may call it; the
    ///         money goes to `account` (the same address on L1 and L2).
    /// @param account the L2 account.
    /// @param token   the L1 token (address(0) for ETH).
    /// @param balance its balance in the last final state (must be what the proof shows, > 0).
    /// @param proof   the last final header, the state decomposition and the balance witness.
    function escape(address account, address token, uint256 balance, EscapeProof calldata proof)
        external
        nonReentrant
    {
        if (stateCommitment.frozenAt() == 0) revert L1BridgeNotFrozen();
        if (_anchor(proof.header).none) revert L1BridgeNotLastFinal(proof.header.index);
        bytes32 root = keccak256(abi.encode(proof.treeRoot, proof.size, proof.nextDepositId));
        if (root != proof.header.finalStateRoot) revert L1BridgeBadEscapeProof(account, token, balance, 0);
        uint256 key = uint256(keccak256(abi.encode(uint256(1), account, token)));
        (uint256 proven,) = StateTree.read(StateTree.Tree(proof.treeRoot, proof.size), key, proof.witness);
        if (proven != balance || balance == 0) revert L1BridgeBadEscapeProof(account, token, balance, proven);
        if (escaped[key]) revert L1BridgeAlreadyEscaped(account, token);
        escaped[key] = true;
        _debit(token, balance);
        emit Escaped(account, token, balance, proof.header.index);
        _pay(account, token, balance);
    }

    /// @notice After the freeze, returns deposit `depositId` to its L1 sender if the last final
    ///         batch (`lastFinal`; ignored when no batch is final) had not consumed it.
    /// @param lastFinal the last final batch header.
    /// @param depositId the deposit; the other fields must be those it was queued with.
    function refundDeposit(
        BatchHeader calldata lastFinal,
        uint256 depositId,
        address sender,
        address l2Recipient,
        address token,
        uint256 amount
    ) external nonReentrant {
        if (stateCommitment.frozenAt() == 0) revert L1BridgeNotFrozen();
        uint256 finalCount = _anchor(lastFinal).depositCount;
        bytes32 item = keccak256(abi.encode(depositId, sender, l2Recipient, token, amount));
        if (depositId < finalCount || _depositItems[depositId] != item) {
            revert L1BridgeNotRefundable(depositId, finalCount);
        }
        if (refunded[depositId]) revert L1BridgeAlreadyRefunded(depositId);
        refunded[depositId] = true;
        _debit(token, amount);
        emit DepositRefunded(depositId, sender, token, amount);
        _pay(sender, token, amount);
    }

    /// @notice After the freeze, fixes the escape anchor to the last final batch `lastFinal`
    ///         (ignored when no batch is final) if no escape or refund did yet.
    function fixEscapeAnchor(BatchHeader calldata lastFinal) external {
        if (stateCommitment.frozenAt() == 0) revert L1BridgeNotFrozen();
        _anchor(lastFinal);
    }

    /// @dev The escape anchor, fixed on first use: `header` must then be the last final batch
    ///      (when one is final); afterwards it must be the anchor's batch.
    function _anchor(BatchHeader calldata header) private returns (EscapeAnchor memory a) {
        a = escapeAnchor;
        if (a.set) {
            if (!a.none) {
                if (header.index != a.index) revert L1BridgeNotLastFinal(header.index);
                stateCommitment.checkHeader(header);
            }
            return a;
        }
        if (!stateCommitment.isFinalized(0)) {
            a = EscapeAnchor(true, true, 0, 0);
        } else {
            _checkLastFinal(header);
            a = EscapeAnchor(true, false, header.index, header.depositCount);
        }
        escapeAnchor = a;
        emit EscapeAnchorFixed(a.none, a.index, a.depositCount);
    }

    /// @dev `header` is stored, final, and the next batch (if any) is not final.
    function _checkLastFinal(BatchHeader calldata header) private view {
        stateCommitment.checkHeader(header);
        uint256 index = header.index;
        if (!stateCommitment.isFinalized(index)) revert L1BridgeNotLastFinal(index);
        if (index + 1 < stateCommitment.nextIndex() && stateCommitment.isFinalized(index + 1)) {
            revert L1BridgeNotLastFinal(index);
        }
    }

    /// @dev The bridge never pays more than it holds of `token`.
    function _debit(address token, uint256 amount) private {
        uint256 available = locked[token];
        if (amount > available) revert L1BridgeInsufficientLocked(token, amount, available);
        locked[token] = available - amount;
    }

    function _pay(address to, address token, uint256 amount) private {
        if (token == address(0)) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert L1BridgeEthTransferFailed(to, amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }
}
