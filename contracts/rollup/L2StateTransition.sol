// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {MerkleTree} from "../common/MerkleTree.sol";
import {IL2DepositSource} from "./IL2DepositSource.sol";
import {StandardTx} from "./StandardTx.sol";
import {StateTree} from "./StateTree.sol";

/// @title L2StateTransition
/// @notice Re-executes one L2 transaction (Deposit, Transfer, Withdraw, a standard Ethereum
///         transaction decoded by {StandardTx}) from Merkle witnesses and
///         checks one step of a batch for fraud (docs/spec.md, "Execution" and "Fraud proof of one
///         step"); twin of offchain/rollup/ledger/ledger.py.
/// @dev    An invalid transaction (malformed, zero amount, bad signature, wrong nonce, overdraft,
///         overflow, deposit out of order or not matching the bridge) is never included by an
///         honest sequencer, so re-execution reports it with a non-Valid status. A witness that
///         does not verify reverts: it can never make a step look fraudulent.
library L2StateTransition {
    /// @notice Outcome of re-executing one transaction (Python: "valid" or TxRejected.code).
    enum Status {
        Valid,
        Malformed,
        ZeroAmount,
        BadSignature,
        WrongNonce,
        InsufficientBalance,
        Overflow,
        DepositOutOfOrder,
        DepositMismatch,
        WrongChain,
        Unsupported,
        IntrinsicGas,
        Underpriced,
        ForcedOutOfOrder,
        ForcedMismatch
    }

    /// @notice Which Merkle proof of a step failed (see {L2StateTransitionInvalidStepProof}).
    enum StepProofPart {
        Transaction,
        PreStateRoot,
        PostStateRoot,
        WithdrawalItem
    }

    /// @notice Decomposition of a state root: keccak256(abi.encode(treeRoot, size, nextDepositId)).
    struct State {
        bytes32 treeRoot;
        uint256 size;
        uint256 nextDepositId;
    }

    /// @notice Where and how the L2 runs: EIP-712 domain fields and the bridge's deposit queue.
    struct Context {
        uint256 chainId;
        address verifyingContract;
        IL2DepositSource deposits;
    }

    /// @notice Result of {applyTx}: status, post-state root (the pre-state root when invalid)
    ///         and withdrawal item (0 unless a valid Withdraw).
    struct Result {
        Status status;
        bytes32 postStateRoot;
        bytes32 withdrawalItem;
    }

    /// @notice The committed roots of a batch, as stored on L1.
    /// @param prevFinalStateRoot final state root of the previous batch (genesis root for batch 0):
    ///        the pre-state of step 0
    struct BatchRef {
        bytes32 mttbr;
        bytes32 mtsr;
        bytes32 withdrawalRoot;
        uint256 numTxs;
        bytes32 prevFinalStateRoot;
    }

    /// @notice One disputed step with its proofs (built by offchain.rollup.ledger.ledger.build_fraud_proof).
    struct StepProof {
        uint256 step;
        bytes txData;
        address feeRecipient;
        bytes32[] txProof;
        bytes32 preStateRoot;
        bytes32[] preRootProof;
        bytes32 postStateRoot;
        bytes32[] postRootProof;
        bytes32 withdrawalItem;
        bytes32[] withdrawalProof;
        State pre;
        StateTree.KeyWitness[] witnesses;
    }

    /// @dev A decoded Transfer or Withdraw (`dest` is `to` or `l1Recipient`).
    struct UserTx {
        uint8 kind;
        address from;
        address dest;
        address token;
        uint256 amount;
        uint256 fee;
        uint256 nonce;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @dev Mutable execution state: tree, deposit counter, next witness to consume.
    struct Exec {
        StateTree.Tree tree;
        uint256 nextDepositId;
        uint256 nextWitness;
        bytes32 withdrawalItem;
    }

    /// @notice State root of the genesis state (sentinel leaf only, no deposit applied); the
    ///         pre-state of batch 0.
    bytes32 internal constant GENESIS_STATE_ROOT = 0xf71e87b506830a4a2c56b23d6688f33d97c401f63eeb694244b79fafa499065a;

    uint8 internal constant KIND_DEPOSIT = 0;
    uint8 internal constant KIND_TRANSFER = 1;
    uint8 internal constant KIND_WITHDRAW = 2;
    uint8 internal constant KIND_STANDARD = 3;
    /// @dev kind ‖ queueId ‖ the 289-byte user transaction.
    uint8 internal constant KIND_FORCED = 4;
    uint256 internal constant FORCED_LENGTH = 322;
    uint256 internal constant DEPOSIT_LENGTH = 161;
    uint256 internal constant USER_TX_LENGTH = 289;

    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant TRANSFER_TYPEHASH =
        keccak256("Transfer(address from,address to,address token,uint256 amount,uint256 fee,uint256 nonce)");
    bytes32 internal constant WITHDRAW_TYPEHASH =
        keccak256("Withdraw(address from,address l1Recipient,address token,uint256 amount,uint256 fee,uint256 nonce)");

    /// @notice The execution needs more state witnesses than were given.
    error L2StateTransitionMissingWitness(uint256 needed, uint256 given);
    /// @notice The pre-state decomposition does not hash to the step's pre-state root.
    error L2StateTransitionPreStateMismatch(bytes32 preStateRoot, bytes32 decomposed);
    /// @notice The disputed step is not in the batch.
    error L2StateTransitionStepOutOfRange(uint256 step, uint256 numTxs);
    /// @notice A Merkle proof of the step does not verify against the batch's roots.
    error L2StateTransitionInvalidStepProof(StepProofPart part, uint256 step);

    // ------------------------------------------------------------------ encodings

    /// @notice State root of a decomposed state.
    function stateRoot(State memory s) internal pure returns (bytes32) {
        return keccak256(abi.encode(s.treeRoot, s.size, s.nextDepositId));
    }

    /// @notice MTTBR leaf item of a transaction: keccak256(abi.encode(keccak256(txData), feeRecipient)).
    /// @dev    The hash of the whole encoding, also for a standard transaction (whose txHash is
    ///         keccak256(raw) = keccak256(txData[1:])): a leaf binding txHash would let anyone
    ///         swap an honest step's encoding E for its twin 0x03 ‖ E (or 0x03 ‖ R for R), which
    ///         has the same txHash, does not decode, and would "prove" fraud.
    function txLeaf(bytes calldata txData, address feeRecipient) internal pure returns (bytes32) {
        return keccak256(abi.encode(keccak256(txData), feeRecipient));
    }

    /// @notice Balance key: uint256(keccak256(abi.encode(uint256(1), account, token))).
    /// @dev    Hashed at the free memory pointer without moving it (no allocation).
    function balanceKey(address account, address token) internal pure returns (uint256 key) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 1)
            mstore(add(m, 0x20), and(account, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(m, 0x40), and(token, 0xffffffffffffffffffffffffffffffffffffffff))
            key := keccak256(m, 0x60)
        }
    }

    /// @notice Nonce key: uint256(keccak256(abi.encode(uint256(2), account))).
    /// @dev    Hashed in the scratch space (no allocation).
    function nonceKey(address account) internal pure returns (uint256 key) {
        assembly ("memory-safe") {
            mstore(0x00, 2)
            mstore(0x20, and(account, 0xffffffffffffffffffffffffffffffffffffffff))
            key := keccak256(0x00, 0x40)
        }
    }

    /// @notice EIP-712 domain separator of the L2 ("l2kit", "1", chainId, verifyingContract).
    function domainSeparator(Context memory ctx) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("l2kit"), keccak256("1"), ctx.chainId, ctx.verifyingContract)
        );
    }

    /// @notice The EIP-712 digest a wallet signs for a decoded user transaction.
    function signingDigest(Context memory ctx, UserTx memory t) internal pure returns (bytes32) {
        bytes32 typehash = t.kind == KIND_TRANSFER ? TRANSFER_TYPEHASH : WITHDRAW_TYPEHASH;
        bytes32 structHash = keccak256(abi.encode(typehash, t.from, t.dest, t.token, t.amount, t.fee, t.nonce));
        return MessageHashUtils.toTypedDataHash(domainSeparator(ctx), structHash);
    }

    /// @notice Recompute MTTBR, MTSR and withdrawal root from batch data
    ///         `abi.encode(bytes[] txs, address[] feeRecipients, bytes32[] postStateRoots, bytes32[] withdrawalItems)`
    ///         (e.g. posted on L1 to answer a data-availability challenge).
    /// @dev    Reverts (abi decoding) on data that is not such an encoding; returns ok = false when
    ///         the four arrays differ in length.
    function batchRootsOf(bytes calldata batchData)
        internal
        pure
        returns (bool ok, bytes32 mttbr, bytes32 mtsr, bytes32 withdrawalRoot, uint256 numTxs)
    {
        (bytes[] memory txs, address[] memory fees, bytes32[] memory roots, bytes32[] memory items) =
            abi.decode(batchData, (bytes[], address[], bytes32[], bytes32[]));
        numTxs = txs.length;
        if (fees.length != numTxs || roots.length != numTxs || items.length != numTxs) {
            return (false, bytes32(0), bytes32(0), bytes32(0), numTxs);
        }
        // Leaf items of the MTTBR: keccak256(abi.encode(keccak256(tx), feeRecipient)).
        bytes32[] memory leaves = new bytes32[](numTxs);
        for (uint256 i = 0; i < numTxs; i++) {
            leaves[i] = keccak256(abi.encode(keccak256(txs[i]), fees[i]));
        }
        ok = true;
        mttbr = MerkleTree.rootOf(leaves);
        mtsr = MerkleTree.rootOf(roots); // rootOf overwrites its input: roots are not used after
        withdrawalRoot = MerkleTree.rootOf(items);
    }

    // ------------------------------------------------------------------ fraud proof of one step

    /// @notice Verify every proof of step `p` against batch `b`, re-execute it, and say whether
    ///         the sequencer's claims for it are fraudulent.
    /// @return fraud true iff the tx is invalid, or the post-state root or withdrawal item differ
    /// @return r     the re-execution result
    function proveStep(Context memory ctx, BatchRef memory b, StepProof calldata p)
        internal
        view
        returns (bool fraud, Result memory r)
    {
        uint256 i = p.step;
        if (i >= b.numTxs) revert L2StateTransitionStepOutOfRange(i, b.numTxs);
        if (!MerkleTree.verifyCalldata(b.mttbr, i, txLeaf(p.txData, p.feeRecipient), p.txProof)) {
            revert L2StateTransitionInvalidStepProof(StepProofPart.Transaction, i);
        }
        bytes32 preRoot = b.prevFinalStateRoot;
        if (i > 0) {
            if (!MerkleTree.verifyCalldata(b.mtsr, i - 1, p.preStateRoot, p.preRootProof)) {
                revert L2StateTransitionInvalidStepProof(StepProofPart.PreStateRoot, i);
            }
            preRoot = p.preStateRoot;
        }
        if (!MerkleTree.verifyCalldata(b.mtsr, i, p.postStateRoot, p.postRootProof)) {
            revert L2StateTransitionInvalidStepProof(StepProofPart.PostStateRoot, i);
        }
        if (!MerkleTree.verifyCalldata(b.withdrawalRoot, i, p.withdrawalItem, p.withdrawalProof)) {
            revert L2StateTransitionInvalidStepProof(StepProofPart.WithdrawalItem, i);
        }
        State memory pre = p.pre;
        bytes32 decomposed = stateRoot(pre);
        if (decomposed != preRoot) revert L2StateTransitionPreStateMismatch(preRoot, decomposed);
        r = applyTx(ctx, pre, p.txData, p.feeRecipient, p.witnesses);
        fraud = r.status != Status.Valid || r.postStateRoot != p.postStateRoot
            || r.withdrawalItem != p.withdrawalItem;
    }

    // ------------------------------------------------------------------ execution

    /// @notice Apply one encoded transaction to `pre` with the state witnesses of its accesses
    ///         (one per access, in the order of docs/spec.md "Execution").
    /// @param feeRecipient receiver of a user transaction's fee (from the MTTBR leaf)
    function applyTx(
        Context memory ctx,
        State memory pre,
        bytes calldata txData,
        address feeRecipient,
        StateTree.KeyWitness[] calldata witnesses
    ) internal view returns (Result memory r) {
        Exec memory e;
        e.tree = StateTree.Tree(pre.treeRoot, pre.size);
        e.nextDepositId = pre.nextDepositId;
        Status status;
        if (txData.length == 0) {
            status = Status.Malformed;
        } else if (uint8(txData[0]) == KIND_DEPOSIT) {
            status = _applyDeposit(ctx, e, txData, witnesses);
        } else if (uint8(txData[0]) == KIND_TRANSFER || uint8(txData[0]) == KIND_WITHDRAW) {
            status = _applyUserTx(ctx, e, txData, keccak256(txData), feeRecipient, witnesses);
        } else if (uint8(txData[0]) == KIND_STANDARD) {
            status = _applyStandardTx(ctx, e, txData[1:], feeRecipient, witnesses);
        } else if (uint8(txData[0]) == KIND_FORCED) {
            status = _applyForced(ctx, e, txData, feeRecipient, witnesses);
        } else {
            status = Status.Malformed;
        }
        r.status = status;
        if (status == Status.Valid) {
            r.postStateRoot = stateRoot(State(e.tree.root, e.tree.size, e.nextDepositId));
            r.withdrawalItem = e.withdrawalItem;
        } else {
            r.postStateRoot = stateRoot(pre);
        }
    }

    /// @dev Deposit: in queue order, matching the bridge; credit unless it would overflow.
    function _applyDeposit(
        Context memory ctx,
        Exec memory e,
        bytes calldata d,
        StateTree.KeyWitness[] calldata ws
    ) private view returns (Status) {
        if (d.length != DEPOSIT_LENGTH) return Status.Malformed;
        uint256 depositId = _word(d, 1);
        if (!_isAddress(d, 33) || !_isAddress(d, 65) || !_isAddress(d, 97)) return Status.Malformed;
        if (depositId != e.nextDepositId) return Status.DepositOutOfOrder;
        if (ctx.deposits.depositHash(depositId) != keccak256(d[1:])) return Status.DepositMismatch;
        uint256 amount = _word(d, 129);
        if (amount > 0) {
            uint256 key = balanceKey(address(uint160(_word(d, 65))), address(uint160(_word(d, 97))));
            StateTree.KeyWitness calldata w = _nextWitness(e, ws);
            (uint256 balance, bool present) = StateTree.read(e.tree, key, w);
            // A credit that would overflow is skipped: the deposit is consumed without credit.
            if (balance <= type(uint256).max - amount) {
                StateTree.writeAfterRead(e.tree, key, w, present, balance + amount);
            }
        }
        e.nextDepositId += 1;
        return Status.Valid;
    }

    /// @dev Forced transaction `0x04 ‖ queueId ‖ userTx`: consumed at its queue position (matching
    ///      the bridge's queue); the user transaction then runs as in {_applyUserTx}. If it is
    ///      invalid, the item is still consumed (a failed receipt) and nothing else changes.
    function _applyForced(
        Context memory ctx,
        Exec memory e,
        bytes calldata d,
        address feeRecipient,
        StateTree.KeyWitness[] calldata ws
    ) private view returns (Status) {
        Status s = _consumeForced(ctx, e, d);
        if (s != Status.Valid) return s;
        bytes32 root = e.tree.root;
        uint256 size = e.tree.size;
        if (_applyUserTx(ctx, e, d[33:], keccak256(d), feeRecipient, ws) != Status.Valid) {
            // Failed receipt: only the queue position moved.
            e.tree.root = root;
            e.tree.size = size;
            e.withdrawalItem = bytes32(0);
        }
        return Status.Valid;
    }

    /// @dev Format, queue order and the bridge's item of a forced transaction; consumes it.
    function _consumeForced(Context memory ctx, Exec memory e, bytes calldata d) private view returns (Status) {
        if (d.length != FORCED_LENGTH) return Status.Malformed;
        uint8 kind = uint8(d[33]);
        (bool ok,) = _decodeUserTx(d[33:]);
        if (!ok || (kind != KIND_TRANSFER && kind != KIND_WITHDRAW)) return Status.Malformed;
        uint256 queueId = _word(d, 1);
        if (queueId != e.nextDepositId) return Status.ForcedOutOfOrder;
        if (!ctx.deposits.queueItemMatches(queueId, keccak256(d[1:]))) return Status.ForcedMismatch;
        e.nextDepositId += 1;
        return Status.Valid;
    }

    /// @dev Transfer / Withdraw: amount, signature, nonce, balance, credits, withdrawal item
    ///      (`txHash` is the hash of the whole L2 encoding: of the forced item for a forced one).
    function _applyUserTx(
        Context memory ctx,
        Exec memory e,
        bytes calldata d,
        bytes32 txHash,
        address feeRecipient,
        StateTree.KeyWitness[] calldata ws
    ) private pure returns (Status) {
        (bool ok, UserTx memory t) = _decodeUserTx(d);
        if (!ok) return Status.Malformed;
        if (t.amount == 0) return Status.ZeroAmount;
        if (!_signedBySender(ctx, t)) return Status.BadSignature;
        Status s = _debitSender(e, ws, t);
        if (s != Status.Valid) return s;

        // Transfer: credit the recipient.
        if (t.kind == KIND_TRANSFER) {
            s = _credit(e, ws, balanceKey(t.dest, t.token), t.amount);
            if (s != Status.Valid) return s;
        }
        // Fee to the fee recipient (no access when the fee is 0).
        if (t.fee > 0) {
            s = _credit(e, ws, balanceKey(feeRecipient, t.token), t.fee);
            if (s != Status.Valid) return s;
        }
        if (t.kind == KIND_WITHDRAW) {
            e.withdrawalItem = keccak256(abi.encode(txHash, t.dest, t.token, t.amount));
        }
        return Status.Valid;
    }

    /// @dev EIP-712 signature check as OpenZeppelin ECDSA.tryRecover (low-s, v in {27, 28}).
    function _signedBySender(Context memory ctx, UserTx memory t) private pure returns (bool) {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(signingDigest(ctx, t), t.v, t.r, t.s);
        return err == ECDSA.RecoverError.NoError && signer == t.from;
    }

    /// @dev Accesses 1 and 2 of a user tx: the nonce must match (then increments); the sender
    ///      pays amount + fee (an overflowing sum is more than any balance).
    function _debitSender(Exec memory e, StateTree.KeyWitness[] calldata ws, UserTx memory t)
        private
        pure
        returns (Status)
    {
        Status s = _useNonce(e, ws, t.from, t.nonce);
        if (s != Status.Valid) return s;
        return _debit(e, ws, balanceKey(t.from, t.token), t.amount, t.fee, false);
    }

    /// @dev Access nonceKey(from): it must equal `nonce`; write nonce + 1.
    function _useNonce(Exec memory e, StateTree.KeyWitness[] calldata ws, address from, uint256 nonce)
        private
        pure
        returns (Status)
    {
        uint256 key = nonceKey(from);
        StateTree.KeyWitness calldata w = _nextWitness(e, ws);
        (uint256 value, bool present) = StateTree.read(e.tree, key, w);
        if (value != nonce) return Status.WrongNonce;
        if (value == type(uint256).max) return Status.Overflow;
        if (!StateTree.writeAfterRead(e.tree, key, w, present, value + 1)) return Status.Overflow;
        return Status.Valid;
    }

    /// @dev Access `key` and take amount + fee from it (`infinite`: the fee exceeds 2^256-1); an
    ///      overflowing sum is more than any balance.
    function _debit(
        Exec memory e,
        StateTree.KeyWitness[] calldata ws,
        uint256 key,
        uint256 amount,
        uint256 fee,
        bool infinite
    ) private pure returns (Status) {
        StateTree.KeyWitness calldata w = _nextWitness(e, ws);
        (uint256 value, bool present) = StateTree.read(e.tree, key, w);
        if (infinite || amount > type(uint256).max - fee || amount + fee > value) return Status.InsufficientBalance;
        StateTree.writeAfterRead(e.tree, key, w, present, value - amount - fee);
        return Status.Valid;
    }

    /// @dev A standard Ethereum transaction (docs/spec.md, "Standard transactions"): the state-free
    ///      checks of {StandardTx.decode}, then nonce, ETH debit (value + fee, or fee), token
    ///      debit, credit, fee credit, withdrawal item: the same accesses in the same order as
    ///      offchain/rollup/ledger/ledger.py.
    function _applyStandardTx(
        Context memory ctx,
        Exec memory e,
        bytes calldata raw,
        address feeRecipient,
        StateTree.KeyWitness[] calldata ws
    ) private pure returns (Status s) {
        (StandardTx.Check check, StandardTx.Tx memory t) = StandardTx.decode(raw, ctx.chainId);
        if (check != StandardTx.Check.Ok) return _statusOf(check);
        s = _useNonce(e, ws, t.from, t.nonce);
        if (s != Status.Valid) return s;
        bool ethKind = t.token == address(0);
        s = _debit(e, ws, balanceKey(t.from, address(0)), ethKind ? t.amount : 0, t.fee, t.feeOverflows);
        if (s != Status.Valid) return s;
        if (!ethKind && t.amount > 0) {
            s = _debit(e, ws, balanceKey(t.from, t.token), t.amount, 0, false);
            if (s != Status.Valid) return s;
        }
        bool withdrawal = t.kind == StandardTx.ETH_WITHDRAW || t.kind == StandardTx.TOKEN_WITHDRAW;
        if (!withdrawal && t.amount > 0) {
            s = _credit(e, ws, balanceKey(t.recipient, t.token), t.amount);
            if (s != Status.Valid) return s;
        }
        if (t.fee > 0) {
            s = _credit(e, ws, balanceKey(feeRecipient, address(0)), t.fee);
            if (s != Status.Valid) return s;
        }
        if (withdrawal) e.withdrawalItem = keccak256(abi.encode(keccak256(raw), t.recipient, t.token, t.amount));
        return Status.Valid;
    }

    /// @dev The Status of a failed state-free check of a standard transaction.
    function _statusOf(StandardTx.Check c) private pure returns (Status) {
        if (c == StandardTx.Check.Malformed) return Status.Malformed;
        if (c == StandardTx.Check.WrongChain) return Status.WrongChain;
        if (c == StandardTx.Check.Unsupported) return Status.Unsupported;
        if (c == StandardTx.Check.ZeroAmount) return Status.ZeroAmount;
        if (c == StandardTx.Check.IntrinsicGas) return Status.IntrinsicGas;
        if (c == StandardTx.Check.Underpriced) return Status.Underpriced;
        return Status.BadSignature;
    }

    /// @dev Add `amount` to `key` (one access); Overflow if it does not fit or the tree is full.
    function _credit(Exec memory e, StateTree.KeyWitness[] calldata ws, uint256 key, uint256 amount)
        private
        pure
        returns (Status)
    {
        StateTree.KeyWitness calldata w = _nextWitness(e, ws);
        (uint256 value, bool present) = StateTree.read(e.tree, key, w);
        if (value > type(uint256).max - amount) return Status.Overflow;
        if (!StateTree.writeAfterRead(e.tree, key, w, present, value + amount)) return Status.Overflow;
        return Status.Valid;
    }

    function _nextWitness(Exec memory e, StateTree.KeyWitness[] calldata ws)
        private
        pure
        returns (StateTree.KeyWitness calldata w)
    {
        if (e.nextWitness >= ws.length) revert L2StateTransitionMissingWitness(e.nextWitness + 1, ws.length);
        w = ws[e.nextWitness];
        e.nextWitness += 1;
    }

    /// @dev Decode `kind ‖ abi.encode(from, dest, token, amount, fee, nonce, v, r, s)` with checks.
    function _decodeUserTx(bytes calldata d) private pure returns (bool ok, UserTx memory t) {
        if (d.length != USER_TX_LENGTH) return (false, t);
        if (!_isAddress(d, 1) || !_isAddress(d, 33) || !_isAddress(d, 65)) return (false, t);
        uint256 v = _word(d, 193);
        if (v > type(uint8).max) return (false, t);
        t.kind = uint8(d[0]);
        t.from = address(uint160(_word(d, 1)));
        t.dest = address(uint160(_word(d, 33)));
        t.token = address(uint160(_word(d, 65)));
        t.amount = _word(d, 97);
        t.fee = _word(d, 129);
        t.nonce = _word(d, 161);
        t.v = uint8(v);
        t.r = bytes32(_word(d, 225));
        t.s = bytes32(_word(d, 257));
        ok = true;
    }

    function _word(bytes calldata d, uint256 offset) private pure returns (uint256) {
        return uint256(bytes32(d[offset:offset + 32]));
    }

    function _isAddress(bytes calldata d, uint256 offset) private pure returns (bool) {
        return _word(d, offset) >> 160 == 0;
    }
}
