// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IL2DepositSource} from "../rollup/IL2DepositSource.sol";
import {L2StateTransition} from "../rollup/L2StateTransition.sol";
import {StateTree} from "../rollup/StateTree.sol";

/// @title L2StateTransitionHarness
/// @notice Exposes {L2StateTransition} and {StateTree} for the shared test vectors, the Python
///         agreement tests and the gas benchmark. Also a minimal deposit queue
///         ({IL2DepositSource}) that tests fill with the hashes of the deposits they replay.
contract L2StateTransitionHarness is IL2DepositSource {
    /// @notice Deposit hash by deposit id (set by tests; the real source is the L1 bridge).
    mapping(uint256 depositId => bytes32 hash) public depositHashes;

    /// @notice A step was checked as a transaction (for exact gas figures).
    event StepChecked(uint256 indexed step, bool fraud, L2StateTransition.Status status);

    /// @notice Record the hash of deposit `depositId` (test setup).
    function setDepositHash(uint256 depositId, bytes32 hash) external {
        depositHashes[depositId] = hash;
    }

    /// @inheritdoc IL2DepositSource
    function depositHash(uint256 depositId) external view returns (bytes32) {
        return depositHashes[depositId];
    }

    /// @notice Forced item hash by queue position (set by tests; the real source is the bridge).
    mapping(uint256 queueId => bytes32 item) public queueItems;

    /// @notice Record the item of forced transaction `queueId` (test setup).
    function setQueueItem(uint256 queueId, bytes32 item) external {
        queueItems[queueId] = item;
    }

    /// @inheritdoc IL2DepositSource
    function queueItemMatches(uint256 queueId, bytes32 item) external view returns (bool) {
        return item != bytes32(0) && queueItems[queueId] == item;
    }

    /// @notice The context of an L2 with `chainId` whose StateCommitment is `verifyingContract`,
    ///         with this harness as its deposit queue.
    function context(uint256 chainId, address verifyingContract)
        public
        view
        returns (L2StateTransition.Context memory)
    {
        return L2StateTransition.Context(chainId, verifyingContract, IL2DepositSource(address(this)));
    }

    function applyTx(
        uint256 chainId,
        address verifyingContract,
        L2StateTransition.State calldata pre,
        bytes calldata txData,
        address feeRecipient,
        StateTree.KeyWitness[] calldata witnesses
    ) external view returns (L2StateTransition.Result memory) {
        return L2StateTransition.applyTx(context(chainId, verifyingContract), pre, txData, feeRecipient, witnesses);
    }

    function proveStep(
        uint256 chainId,
        address verifyingContract,
        L2StateTransition.BatchRef calldata b,
        L2StateTransition.StepProof calldata p
    ) external view returns (bool fraud, L2StateTransition.Result memory r) {
        return L2StateTransition.proveStep(context(chainId, verifyingContract), b, p);
    }

    /// @notice {proveStep} as a transaction, so its gas can be measured exactly.
    function proveStepTx(
        uint256 chainId,
        address verifyingContract,
        L2StateTransition.BatchRef calldata b,
        L2StateTransition.StepProof calldata p
    ) external returns (bool fraud) {
        L2StateTransition.Result memory r;
        (fraud, r) = L2StateTransition.proveStep(context(chainId, verifyingContract), b, p);
        emit StepChecked(p.step, fraud, r.status);
    }

    function batchRootsOf(bytes calldata batchData)
        external
        pure
        returns (bool ok, bytes32 mttbr, bytes32 mtsr, bytes32 withdrawalRoot, uint256 numTxs)
    {
        return L2StateTransition.batchRootsOf(batchData);
    }

    function genesisStateRoot() external pure returns (bytes32) {
        return L2StateTransition.GENESIS_STATE_ROOT;
    }

    function stateRoot(L2StateTransition.State calldata s) external pure returns (bytes32) {
        return L2StateTransition.stateRoot(s);
    }

    function txLeaf(bytes calldata txData, address feeRecipient) external pure returns (bytes32) {
        return L2StateTransition.txLeaf(txData, feeRecipient);
    }

    function balanceKey(address account, address token) external pure returns (uint256) {
        return L2StateTransition.balanceKey(account, token);
    }

    function nonceKey(address account) external pure returns (uint256) {
        return L2StateTransition.nonceKey(account);
    }

    function domainSeparator(uint256 chainId, address verifyingContract) external view returns (bytes32) {
        return L2StateTransition.domainSeparator(context(chainId, verifyingContract));
    }

    function leafHash(uint256 key, uint256 value, uint256 nextKey) external pure returns (bytes32) {
        return StateTree.leafHash(key, value, nextKey);
    }

    /// @notice Verify a proof of `key` against (root, size); returns the value and presence.
    function read(bytes32 root, uint256 size, uint256 key, StateTree.KeyWitness calldata w)
        external
        pure
        returns (uint256 value, bool present)
    {
        return StateTree.read(StateTree.Tree(root, size), key, w);
    }

    /// @notice Verify then write `value` to `key`; returns the new (root, size).
    function write(bytes32 root, uint256 size, uint256 key, StateTree.KeyWitness calldata w, uint256 value)
        external
        pure
        returns (bytes32, uint256)
    {
        StateTree.Tree memory t = StateTree.Tree(root, size);
        (, bool present) = StateTree.read(t, key, w);
        StateTree.writeAfterRead(t, key, w, present, value);
        return (t.root, t.size);
    }
}
