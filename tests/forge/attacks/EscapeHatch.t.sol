// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProductionFixture} from "./ProductionFixture.sol";
import {BatchHeader} from "../../../contracts/rollup/BatchHeader.sol";
import {StateCommitment} from "../../../contracts/rollup/StateCommitment.sol";
import {L1Bridge, EscapeProof} from "../../../contracts/bridge/L1Bridge.sol";
import {StateTree} from "../../../contracts/rollup/StateTree.sol";
import {TestToken} from "../../../contracts/test/TestToken.sol";
import {StateTreeBuilder} from "../utils/StateTreeBuilder.sol";
import {MerkleTree} from "../../../contracts/common/MerkleTree.sol";

/// @notice Attacks on censorship resistance and the exit guarantee (issue #11), against the
///         production wiring: a forced transaction a sequencer ignores, and users leaving through
///         the escape hatch once every sequencer stopped.
contract EscapeHatchTest is ProductionFixture {
    using StateTreeBuilder for StateTreeBuilder.Built;

    TestToken internal erc20;
    address[5] internal users;

    function setUp() public override {
        super.setUp();
        erc20 = new TestToken("Test", "TT");
        for (uint256 i = 0; i < 5; i++) {
            users[i] = address(uint160(0xA11CE0 + i));
            vm.deal(users[i], 100 ether);
            erc20.mint(users[i], 1_000 ether);
            vm.prank(users[i]);
            erc20.approve(address(bridge), type(uint256).max);
        }
    }

    // ------------------------------------------------------------------ helpers

    /// @notice A valid-looking signed Transfer encoding (the signature is only checked on L2).
    function _userTx(uint8 kind, uint256 fee) internal pure returns (bytes memory) {
        return abi.encodePacked(
            kind, abi.encode(address(0xA), address(0xB), address(0), uint256(5), fee, uint256(0), uint8(27), bytes32(uint256(1)), bytes32(uint256(2)))
        );
    }

    /// @notice A one-transaction header at the next index consuming `count` queue items, with
    ///         final state root `finalRoot`.
    function _headerAt(uint256 count, bytes32 finalRoot) internal view returns (BatchHeader memory h) {
        h = _header(sc.nextIndex(), 1, finalRoot);
        h.depositCount = uint64(count);
        h.depositHash = bridge.depositHashAt(count);
        h.finalStateRoot = finalRoot;
    }

    function _appendAs(BatchHeader memory h) internal {
        _appendBy(h);
    }

    function _stateRoot(StateTreeBuilder.Built memory b, uint256 nextDepositId) internal pure returns (bytes32) {
        return keccak256(abi.encode(b.root, b.size, nextDepositId));
    }

    function _key(address account, address tok) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(uint256(1), account, tok)));
    }

    // ------------------------------------------------------------------ forced inclusion

    /// @notice A malformed encoding or a zero fee is refused at force time.
    function test_forceTxRefusesMalformedOrFreeTx() public {
        bytes memory good = _userTx(1, 1);
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.L1BridgeMalformedForcedTx.selector, uint256(288), uint8(1)));
        bridge.forceTx(_slice(good, 288));
        bytes memory wrongKind = _userTx(0, 1);
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.L1BridgeMalformedForcedTx.selector, uint256(289), uint8(0)));
        bridge.forceTx(wrongKind);
        bytes memory dirty = _userTx(2, 1);
        dirty[1] = 0x01; // high byte of the `from` word
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.L1BridgeMalformedForcedTx.selector, uint256(289), uint8(2)));
        bridge.forceTx(dirty);
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.L1BridgeMalformedForcedTx.selector, uint256(0), uint8(0)));
        bridge.forceTx("");
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.L1BridgeZeroForcedFee.selector));
        bridge.forceTx(_userTx(1, 0));
        assertEq(bridge.depositCount(), 0, "nothing queued");
        uint256 id = bridge.forceTx(good);
        assertEq(id, 0, "queued at 0");
        assertEq(bridge.forcedDeadline(0), block.timestamp + FORCE_WINDOW, "deadline");
        (uint256 pos, uint256 deadline) = bridge.firstForcedFrom(0);
        assertEq(pos, 0, "position");
        assertEq(deadline, block.timestamp + FORCE_WINDOW, "first forced");
        assertEq(bridge.forcedCount(), 1, "count");
        assertTrue(bridge.queueItemMatches(0, keccak256(abi.encodePacked(uint256(0), good))), "item");
    }

    /// @notice Forced items interleaved with deposits: each is found at its position with its
    ///         deadline, its item matches only there, and deposits around it are unaffected.
    function test_forcedItemsAreLinkedThroughTheQueue() public {
        uint256[3] memory pos;
        for (uint256 k = 0; k < 3; k++) {
            vm.prank(users[k]);
            bridge.depositETH{value: 1 ether}(users[k]);
            pos[k] = bridge.forceTx(_userTx(1, k + 1));
            vm.warp(block.timestamp + 100);
        }
        assertEq(bridge.forcedCount(), 3, "three forced");
        assertEq(bridge.depositCount(), 6, "six queued");
        for (uint256 k = 0; k < 3; k++) {
            uint256 deadline = block.timestamp - 300 + 100 * k + FORCE_WINDOW;
            assertEq(bridge.forcedDeadline(pos[k]), deadline, "deadline");
            assertEq(bridge.forcedDeadline(pos[k] - 1), 0, "a deposit is not forced");
            (uint256 q, uint256 d) = bridge.firstForcedFrom(pos[k] - 1);
            assertEq(q, pos[k], "first forced at or after");
            assertEq(d, deadline, "its deadline");
            bytes32 item = keccak256(abi.encodePacked(pos[k], _userTx(1, k + 1)));
            assertTrue(bridge.queueItemMatches(pos[k], item), "item matches");
            assertTrue(!bridge.queueItemMatches(pos[k] - 1, item), "not at another position");
            assertTrue(!bridge.queueItemMatches(pos[k], keccak256("other")), "not another item");
        }
        (uint256 none, uint256 zero) = bridge.firstForcedFrom(6);
        assertEq(none + zero, 0, "none past the queue");
    }

    /// @notice After the deadline, a batch that does not consume the forced item is refused; one
    ///         that does is accepted. Before the deadline the sequencer may wait.
    function test_batchAfterDeadlineMustConsumeForcedTx() public {
        vm.prank(users[0]);
        bridge.depositETH{value: 1 ether}(users[0]);
        bridge.forceTx(_userTx(1, 1)); // queue position 1
        vm.prank(users[1]);
        bridge.depositETH{value: 1 ether}(users[1]); // position 2
        // Before the deadline: consuming only the deposit is fine.
        _appendAs(_headerAt(1, keccak256("s1")));
        vm.warp(block.timestamp + FORCE_WINDOW);
        BatchHeader memory skip = _headerAt(1, keccak256("s2"));
        bytes[] memory sigs = _frostSign(sc.batchDigest(skip));
        address current = sset.currentSequencer();
        vm.prank(current);
        vm.expectRevert(
            abi.encodeWithSelector(
                StateCommitment.StateCommitmentForcedTxNotIncluded.selector, uint256(1), block.timestamp, uint256(1)
            )
        );
        sc.appendBatch(skip, sigs);
        _appendAs(_headerAt(2, keccak256("s2")));
        assertEq(sc.nextIndex(), 2, "the including batch landed");
    }

    /// @notice A censor that keeps pinging its heartbeat is still rotated out: one report after
    ///         the deadline, a second one a window later.
    function test_censorIsRotatedOutDespiteHeartbeats() public {
        bridge.forceTx(_userTx(1, 1));
        address censor = sset.currentSequencer();
        vm.expectRevert(abi.encodeWithSelector(StateCommitment.StateCommitmentNoCensorship.selector, block.timestamp + FORCE_WINDOW));
        sc.reportCensorship();
        vm.warp(block.timestamp + FORCE_WINDOW);
        sc.reportCensorship(); // strike
        uint256 until = block.timestamp + FORCE_WINDOW;
        vm.warp(block.timestamp + HEARTBEAT / 2);
        vm.prank(censor);
        sset.heartbeat();
        vm.expectRevert(abi.encodeWithSelector(StateCommitment.StateCommitmentNoCensorship.selector, until));
        sc.reportCensorship();
        vm.warp(until);
        vm.prank(censor);
        sset.heartbeat();
        vm.roll(block.number + 2);
        sc.reportCensorship();
        assertTrue(sset.currentSequencer() != censor, "censor rotated out");
        // The next sequencer includes the item.
        _appendAs(_headerAt(1, keccak256("s1")));
        assertEq(sc.nextIndex(), 1, "included");
    }

    // ------------------------------------------------------------------ escape hatch

    /// @notice freeze() needs freezeAfter seconds without a batch while items wait; afterwards no
    ///         batch is appended.
    function test_freezeNeedsStallAndWaitingItems() public {
        vm.expectRevert(
            abi.encodeWithSelector(StateCommitment.StateCommitmentNotStalled.selector, block.timestamp + FREEZE_AFTER, block.timestamp)
        );
        sc.freeze();
        vm.warp(block.timestamp + FREEZE_AFTER);
        vm.expectRevert(abi.encodeWithSelector(StateCommitment.StateCommitmentNothingWaiting.selector, uint256(0), uint256(0)));
        sc.freeze();
        vm.prank(users[0]);
        bridge.depositETH{value: 1 ether}(users[0]);
        sc.freeze();
        assertEq(sc.frozenAt(), block.timestamp, "frozen");
        BatchHeader memory h = _headerAt(1, keccak256("late"));
        bytes[] memory sigs = _frostSign(sc.batchDigest(h));
        address current = sset.currentSequencer();
        vm.prank(current);
        vm.expectRevert(abi.encodeWithSelector(StateCommitment.StateCommitmentFrozen.selector, block.timestamp));
        sc.appendBatch(h, sigs);
        vm.expectRevert(abi.encodeWithSelector(StateCommitment.StateCommitmentFrozen.selector, block.timestamp));
        sc.freeze();
    }

    /// @notice After a fraud proof truncates the chain, the queue items the invalid batch had
    ///         consumed wait again: the rollup may freeze on them (no new deposit needed).
    function test_freezeCountsItemsOfAnInvalidatedBatchAsWaiting() public {
        vm.prank(users[0]);
        bridge.depositETH{value: 1 ether}(users[0]);
        BatchHeader memory h = _badHeader(sc.nextIndex(), "lie");
        h.depositCount = 1;
        h.depositHash = bridge.depositHashAt(1);
        _appendAs(h);
        // Had the batch stood, nothing would wait.
        uint256 snap = vm.snapshotState();
        vm.warp(block.timestamp + FREEZE_AFTER);
        vm.expectRevert(abi.encodeWithSelector(StateCommitment.StateCommitmentNothingWaiting.selector, uint256(1), uint256(1)));
        sc.freeze();
        vm.revertToState(snap);
        fp.proveBadSummary(h, _finalState("lie"), new bytes32[](0), address(this));
        assertEq(sc.nextIndex(), 0, "the batch is invalidated");
        vm.warp(block.timestamp + FREEZE_AFTER);
        sc.freeze();
        assertEq(sc.frozenAt(), block.timestamp, "frozen: its deposit waits again");
    }

    /// @notice Five users leave with exactly their balance at the last final root; a second
    ///         escape, a forged proof and a proof against a non-final batch revert; deposits the
    ///         root had not consumed go back to their senders; the bridge ends empty.
    function test_fiveUsersEscapeAndBridgeEndsEmpty() public {
        // Deposits 0..9: ETH and ERC20 for each user.
        uint256[] memory keys = new uint256[](10);
        uint256[] memory values = new uint256[](10);
        for (uint256 i = 0; i < 5; i++) {
            vm.startPrank(users[i]);
            bridge.depositETH{value: (i + 1) * 1 ether}(users[i]);
            bridge.depositERC20(address(erc20), users[i], (i + 1) * 10 ether);
            vm.stopPrank();
            keys[2 * i] = _key(users[i], address(0));
            values[2 * i] = (i + 1) * 1 ether;
            keys[2 * i + 1] = _key(users[i], address(erc20));
            values[2 * i + 1] = (i + 1) * 10 ether;
        }
        StateTreeBuilder.Built memory tree = StateTreeBuilder.build(keys, values);
        BatchHeader memory final1 = _headerAt(10, _stateRoot(tree, 10));
        _appendAs(final1);
        // Escape before the freeze is refused.
        EscapeProof memory p0 = _proof(final1, tree, users[0], address(0));
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.L1BridgeNotFrozen.selector));
        bridge.escape(users[0], address(0), 1 ether, p0);
        vm.warp(block.timestamp + CHALLENGE_WINDOW);
        assertTrue(sc.isFinalized(0), "batch 0 final");
        // Later deposits (pending) and a batch 1 that a data request keeps from finalizing.
        vm.prank(users[0]);
        bridge.depositETH{value: 7 ether}(users[0]); // id 10
        vm.prank(users[1]);
        bridge.depositERC20(address(erc20), users[1], 70 ether); // id 11
        BatchHeader memory pending = _headerAt(11, keccak256("pending root"));
        _appendAs(pending);
        vm.deal(address(this), 1 ether);
        da.requestData{value: DA_FEE}(pending);
        // Every sequencer stops.
        vm.warp(block.timestamp + FREEZE_AFTER);
        sc.freeze();
        vm.warp(block.timestamp + CHALLENGE_WINDOW);
        assertTrue(!sc.isFinalized(1), "a batch not final at the freeze never finalizes");
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.L1BridgeNotLastFinal.selector, uint256(1)));
        bridge.escape(users[0], address(0), 1 ether, _proof(pending, tree, users[0], address(0)));

        for (uint256 i = 0; i < 5; i++) {
            uint256 ethBefore = users[i].balance;
            uint256 tokBefore = erc20.balanceOf(users[i]);
            bridge.escape(users[i], address(0), (i + 1) * 1 ether, _proof(final1, tree, users[i], address(0)));
            bridge.escape(users[i], address(erc20), (i + 1) * 10 ether, _proof(final1, tree, users[i], address(erc20)));
            assertEq(users[i].balance - ethBefore, (i + 1) * 1 ether, "ETH balance paid");
            assertEq(erc20.balanceOf(users[i]) - tokBefore, (i + 1) * 10 ether, "ERC20 balance paid");
        }
        // A second escape pays nothing.
        EscapeProof memory again = _proof(final1, tree, users[2], address(0));
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.L1BridgeAlreadyEscaped.selector, users[2], address(0)));
        bridge.escape(users[2], address(0), 3 ether, again);
        // A forged balance, and an account absent from the root.
        address stranger = address(0xBAD);
        vm.expectRevert(
            abi.encodeWithSelector(L1Bridge.L1BridgeBadEscapeProof.selector, stranger, address(0), 1 ether, uint256(0))
        );
        bridge.escape(stranger, address(0), 1 ether, _proof(final1, tree, stranger, address(0)));
        EscapeProof memory forged = _proof(final1, tree, users[0], address(0));
        forged.witness.leafValue = 50 ether;
        vm.expectPartialRevert(StateTree.StateTreeInvalidProof.selector);
        bridge.escape(users[0], address(0), 50 ether, forged);

        // Refunds: deposits 10 and 11 were not consumed by the final batch; deposit 3 was.
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.L1BridgeNotRefundable.selector, uint256(3), uint256(10)));
        bridge.refundDeposit(final1, 3, users[1], users[1], address(erc20), 20 ether);
        uint256 before0 = users[0].balance;
        bridge.refundDeposit(final1, 10, users[0], users[0], address(0), 7 ether);
        assertEq(users[0].balance - before0, 7 ether, "ETH deposit refunded");
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.L1BridgeAlreadyRefunded.selector, uint256(10)));
        bridge.refundDeposit(final1, 10, users[0], users[0], address(0), 7 ether);
        assertTrue(address(bridge).balance == 0, "ETH: zero once everyone left");
        assertTrue(erc20.balanceOf(address(bridge)) == 70 ether, "ERC20: only the pending deposit left");
        bridge.refundDeposit(final1, 11, users[1], users[1], address(erc20), 70 ether);
        assertEq(erc20.balanceOf(address(bridge)), 0, "ERC20: zero once everyone left");
        assertEq(bridge.locked(address(0)), 0, "ETH locked");
        assertEq(bridge.locked(address(erc20)), 0, "ERC20 locked");
    }

    /// @notice A batch that finalizes after the freeze (its data request answered late) does not
    ///         move the escape anchor: the coins a user moved in it cannot leave twice, and its
    ///         withdrawals are not paid.
    function test_lateFinalityDoesNotMoveTheEscapeAnchor() public {
        vm.prank(users[0]);
        bridge.depositETH{value: 1 ether}(users[0]);
        uint256[] memory k0 = new uint256[](1);
        uint256[] memory v0 = new uint256[](1);
        k0[0] = _key(users[0], address(0));
        v0[0] = 1 ether;
        StateTreeBuilder.Built memory t0 = StateTreeBuilder.build(k0, v0);
        BatchHeader memory b0 = _headerAt(1, _stateRoot(t0, 1));
        _appendAs(b0);
        vm.warp(block.timestamp + CHALLENGE_WINDOW);
        // Batch 1: user 0 "paid" user 1 everything; a data request holds it.
        uint256[] memory k1 = new uint256[](1);
        uint256[] memory v1 = new uint256[](1);
        k1[0] = _key(users[1], address(0));
        v1[0] = 1 ether;
        StateTreeBuilder.Built memory t1 = StateTreeBuilder.build(k1, v1);
        BatchData memory d1 = _dataWithRoot(_stateRoot(t1, 1));
        BatchHeader memory b1 = _headerAt(1, d1.postStateRoots[0]);
        b1.txRoot = MerkleTree.leafHash(0, keccak256(abi.encode(keccak256(d1.txs[0]), FEE_RECIPIENT)));
        b1.stateRootsRoot = MerkleTree.leafHash(0, d1.postStateRoots[0]);
        b1.dataHash = keccak256(abi.encode(d1.txs, d1.feeRecipients, d1.postStateRoots, d1.withdrawalItems));
        _appendAs(b1);
        // A verifier requests its data an hour before its window closes; the answer may come
        // up to a day later, after the freeze.
        vm.warp(block.timestamp + CHALLENGE_WINDOW - 1 hours);
        vm.deal(address(this), 1 ether);
        da.requestData{value: da.requestFeeFor(b1.txCount)}(b1);
        vm.prank(users[2]);
        bridge.depositETH{value: 1 ether}(users[2]); // waits
        vm.warp(block.timestamp + 1 hours + FREEZE_AFTER - CHALLENGE_WINDOW);
        sc.freeze();
        assertTrue(!sc.isFinalized(1), "batch 1 held by the data request at the freeze");
        bridge.escape(users[0], address(0), 1 ether, _proof(b0, t0, users[0], address(0)));
        (bool set, bool none, uint64 index,) = bridge.escapeAnchor();
        assertTrue(set && !none && index == 0, "anchored at batch 0");
        // The sequencer answers late: batch 1 becomes final...
        vm.prank(sc.batchSequencer(1));
        da.provideData(b1, d1.txs, d1.feeRecipients, d1.postStateRoots, d1.withdrawalItems);
        assertTrue(sc.isFinalized(1), "batch 1 final after the answer");
        // ... but user 1 cannot escape with its batch-1 balance (the anchor stays at 0).
        EscapeProof memory p1 = _proof(b1, t1, users[1], address(0));
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.L1BridgeNotLastFinal.selector, uint256(1)));
        bridge.escape(users[1], address(0), 1 ether, p1);
        assertEq(address(bridge).balance, 1 ether, "only the waiting deposit is left");
        bridge.refundDeposit(b0, 1, users[2], users[2], address(0), 1 ether);
        assertEq(address(bridge).balance, 0, "solvent, and empty");
    }

    /// @notice One-transaction batch data whose post-state root is `root`.
    function _dataWithRoot(bytes32 root) internal pure returns (BatchData memory d) {
        d = _data(root);
        d.postStateRoots[0] = root;
    }

    function _proof(BatchHeader memory h, StateTreeBuilder.Built memory tree, address account, address tok)
        internal
        pure
        returns (EscapeProof memory p)
    {
        p.header = h;
        p.treeRoot = tree.root;
        p.size = tree.size;
        p.nextDepositId = h.depositCount;
        p.witness = tree.witness(_key(account, tok));
    }

    function _slice(bytes memory b, uint256 n) internal pure returns (bytes memory out) {
        out = new bytes(n);
        for (uint256 i = 0; i < n; i++) {
            out[i] = b[i];
        }
    }
}
