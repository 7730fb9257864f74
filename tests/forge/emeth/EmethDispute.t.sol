// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {EmethToken} from "../../../contracts/emeth/EmethToken.sol";
import {EmethCore} from "../../../contracts/emeth/EmethCore.sol";
import {MerkleTree} from "../../../contracts/common/MerkleTree.sol";
import {DebitBook} from "./DebitBook.sol";

/// @notice Disputes of posted Tickets (docs/spec.md, "Disputes and the bonded Signer set"):
///         a 2-of-3 bonded Signer set, one requester with a key (it signs RegisterJob), a node,
///         a disputer. Each dishonest-Signer move is first shown to pay through the single-key
///         `settleTicket`, then disputed when posted: the Ticket is reversed, its signers'
///         bonds slashed, the disputer paid, the node unpaid and the requester whole.
contract EmethDisputeTest is Test, DebitBook {
    uint256 internal constant REQUESTER_KEY = 0xBEEF;
    uint256 internal constant BOND = 1_000e18;
    uint256 internal constant FEE = 10e18;
    uint64 internal constant MARGIN = 30;
    uint64 internal constant WINDOW = 20;
    uint256 internal constant EL = 7;

    EmethToken internal token;
    EmethCore internal core;
    address internal requester;
    address internal node = address(0x2000);
    address internal disputer = address(0xD15);
    uint256[3] internal signerKeys = [uint256(0x51), 0x52, 0x53];

    function setUp() public {
        vm.warp(1_000_000);
        token = new EmethToken(address(this));
        core = new EmethCore(token, address(this), 100, 100, MARGIN, 10);
        core.setTicketDisputeWindow(WINDOW);
        core.setSignerSetParams(2, BOND, 5_000);
        core.setSigner(vm.addr(SIGNER_KEY), true);
        requester = vm.addr(REQUESTER_KEY);
        for (uint256 i = 0; i < signerKeys.length; i++) {
            address s = vm.addr(signerKeys[i]);
            _fund(s, BOND);
            vm.prank(s);
            core.depositSignerBond(BOND);
            core.addSigner(s);
        }
        _fund(requester, 100e18);
        vm.prank(requester);
        core.deposit(100e18);
        _fund(node, 100e18);
        vm.prank(node);
        core.depositCollateral(100e18);
    }

    // ------------------------------------------------------------------ helpers

    function _fund(address who, uint256 amount) internal {
        token.mint(who, amount);
        vm.prank(who);
        token.approve(address(core), type(uint256).max);
    }

    function _register(bytes16 jobId, uint256 maxFee) internal pure returns (EmethCore.RegisterJob memory r) {
        r.jobId = jobId;
        r.requester = vm.addr(REQUESTER_KEY);
        r.programIdHash = keccak256("wordcount/v1");
        r.datasetKeyHash = keccak256(abi.encode(jobId));
        r.paramsHash = keccak256("{}");
        r.fee = maxFee;
        r.timeoutSeconds = 60;
        r.expiresAt = 2_000_000;
    }

    /// @dev A job leaf backed by the requester's signature (fee = its maximum), processed now.
    function _backed(bytes16 jobId) internal view returns (EmethCore.JobBacking memory b) {
        b.jobId = jobId;
        b.requester = requester;
        b.fuel = 100;
        b.fee = FEE;
        b.registered = _register(jobId, FEE);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(REQUESTER_KEY, core.registerJobDigest(EL, b.registered));
        b.registerSignature = abi.encodePacked(r, s, v);
        b.processedAt = uint64(block.timestamp);
    }

    /// @dev Leaf items, hashed here (no call to the core between a prank and the call it is for).
    function _items(EmethCore.JobBacking[] memory jobs) internal pure returns (bytes32[] memory items) {
        items = new bytes32[](jobs.length);
        for (uint256 i = 0; i < jobs.length; i++) {
            items[i] = keccak256(abi.encode(jobs[i]));
        }
    }

    /// @dev Ticket `n` of execution layer EL over `jobs`, debiting the requester their fees.
    function _ticket(uint256 n, EmethCore.JobBacking[] memory jobs, uint256 cumulativeBefore, uint256 prev)
        internal
        view
        returns (EmethCore.Ticket memory t)
    {
        t.ticketId = EL << 32 | n;
        t.node = node;
        t.jobsRoot = MerkleTree.rootOf(_items(jobs));
        t.jobCount = jobs.length;
        for (uint256 i = 0; i < jobs.length; i++) {
            t.fuel += jobs[i].fuel;
            t.totalDebit += jobs[i].fee;
        }
        bytes32[] memory debit = new bytes32[](1);
        debit[0] = core.debitLeaf(requester, cumulativeBefore + t.totalDebit, prev);
        t.debitsRoot = MerkleTree.rootOf(debit);
        t.debitCount = 1;
        t.validUntil = uint64(block.timestamp) + MARGIN;
    }

    function _sigs(EmethCore.Ticket memory t, uint256 a, uint256 b) internal view returns (bytes[] memory sigs) {
        sigs = new bytes[](2);
        sigs[0] = _sig(signerKeys[a], core.ticketDigest(t));
        sigs[1] = _sig(signerKeys[b], core.ticketDigest(t));
    }

    function _sig(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _one(EmethCore.JobBacking memory b) internal pure returns (EmethCore.JobBacking[] memory jobs) {
        jobs = new EmethCore.JobBacking[](1);
        jobs[0] = b;
    }

    function _leaf(EmethCore.JobBacking[] memory jobs, uint256 i) internal pure returns (EmethCore.LeafProof memory p) {
        p.index = i;
        p.backing = jobs[i];
        p.proof = _merkleProof(_items(jobs), i);
    }

    /// @dev The one-Signer path pays `t` (the attack as it stands on settleTicket).
    function _legacyPays(EmethCore.Ticket memory t) internal {
        uint256 before = token.balanceOf(node);
        uint256 snap = vm.snapshotState();
        core.settleTicket(t, _sig(SIGNER_KEY, core.ticketDigest(t)));
        assertEq(token.balanceOf(node) - before, t.totalDebit, "one key pays the unbacked Ticket");
        vm.revertToState(snap);
    }

    /// @dev Post `t` (signers 0 and 1), dispute it with `dispute` calldata, check every side.
    function _postAndDispute(EmethCore.Ticket memory t, bytes memory dispute, EmethCore.DisputeReason reason) internal {
        core.postTicket(t, _sigs(t, 0, 1));
        uint256 spendable = core.spendableDeposit(requester);
        vm.expectEmit(true, true, false, false);
        emit EmethCore.TicketDisputed(t.ticketId, disputer, reason, bytes16(0), 0, 0);
        vm.prank(disputer);
        (bool ok, bytes memory ret) = address(core).call(dispute);
        assertTrue(ok, string(ret));
        (,,,, EmethCore.TicketStatus status) = core.postedTickets(t.ticketId);
        assertEq(uint8(status), uint8(EmethCore.TicketStatus.Reversed), "reversed");
        assertEq(token.balanceOf(disputer), BOND, "disputer paid half of two slashed bonds");
        (uint128 bond0,,,,) = core.bondedSigners(vm.addr(signerKeys[0]));
        (uint128 bond1,,,,) = core.bondedSigners(vm.addr(signerKeys[1]));
        (uint128 bond2,,,,) = core.bondedSigners(vm.addr(signerKeys[2]));
        assertEq(bond0 + bond1, 0, "both signers slashed");
        assertEq(bond2, BOND, "the signer that did not sign keeps its bond");
        vm.warp(block.timestamp + WINDOW);
        uint256 nodeBefore = token.balanceOf(node);
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreTicketReversed.selector, t.ticketId));
        core.finalizeTicket(t);
        assertEq(token.balanceOf(node), nodeBefore, "node not paid");
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreTicketNotSettled.selector, t.ticketId));
        core.proveDebit(requester, _debitProof(t));
        assertEq(core.spendableDeposit(requester), spendable, "requester whole");
        assertEq(core.spendableDeposit(requester), 100e18, "requester keeps its deposit");
    }

    /// @dev A one-job Ticket over `b`: paid through settleTicket, then posted and disputed.
    function _singleLeafAttack(EmethCore.JobBacking memory b, EmethCore.DisputeReason reason) internal {
        EmethCore.JobBacking[] memory jobs = _one(b);
        EmethCore.Ticket memory t = _ticket(1, jobs, 0, 0);
        _legacyPays(t);
        _postAndDispute(t, abi.encodeCall(EmethCore.disputeJob, (t, _leaf(jobs, 0))), reason);
    }

    function _debitProof(EmethCore.Ticket memory t) internal pure returns (EmethCore.DebitProof memory p) {
        p.ticketId = t.ticketId;
        p.cumulative = t.totalDebit;
        p.proof = new bytes32[](0);
    }

    // ------------------------------------------------------------------ each dishonest move

    /// @custom:invariant A job its requester never signed is disputed: reversed, signers slashed.
    function test_unsignedJobIsDisputed() public {
        EmethCore.JobBacking memory b = _backed(bytes16(uint128(1)));
        b.registerSignature = _sig(0xBAD, core.registerJobDigest(EL, b.registered)); // not the requester
        _singleLeafAttack(b, EmethCore.DisputeReason.UnsignedJob);
    }

    /// @custom:invariant A fee above what the requester signed is disputed.
    function test_inflatedFeeIsDisputed() public {
        EmethCore.JobBacking memory b = _backed(bytes16(uint128(2)));
        b.fee = FEE * 5; // the requester signed at most FEE
        _singleLeafAttack(b, EmethCore.DisputeReason.FeeAboveMax);
    }

    /// @custom:invariant A job cancelled on L1 before its Process is disputed.
    function test_cancelledJobIsDisputed() public {
        bytes16 id = bytes16(uint128(3));
        vm.prank(requester);
        core.cancel(id);
        vm.warp(block.timestamp + 1);
        _singleLeafAttack(_backed(id), EmethCore.DisputeReason.CancelledBeforeProcess); // "processed" after
    }

    /// @custom:invariant A Process dated after the posting (to dodge a cancel) is disputed.
    function test_processDatedAfterPostingIsDisputed() public {
        EmethCore.JobBacking memory b = _backed(bytes16(uint128(4)));
        b.processedAt = uint64(block.timestamp) + 1_000;
        _singleLeafAttack(b, EmethCore.DisputeReason.CancelledBeforeProcess);
    }

    /// @custom:invariant A job billed in an earlier posted Ticket is disputed in the later one.
    function test_doubleBilledJobIsDisputed() public {
        EmethCore.JobBacking[] memory jobs = _one(_backed(bytes16(uint128(5))));
        EmethCore.Ticket memory first = _ticket(1, jobs, 0, 0);
        core.postTicket(first, _sigs(first, 1, 2));
        vm.warp(block.timestamp + 1);
        EmethCore.Ticket memory again = _ticket(2, jobs, FEE, first.ticketId);
        _legacyPays(again);
        // Signers 0 and 1 sign the second; signer 1 signed both.
        core.postTicket(again, _sigs(again, 0, 1));
        EmethCore.LeafProof memory leaf = _leaf(jobs, 0);
        vm.prank(disputer);
        vm.expectRevert(
            abi.encodeWithSelector(EmethCore.EmethCoreNotDoubleBilled.selector, first.ticketId, again.ticketId)
        );
        core.disputeDoubleBilling(first, leaf, again, leaf); // the earlier one stands
        vm.prank(disputer);
        core.disputeDoubleBilling(again, leaf, first, leaf);
        (uint128 bond1,,,,) = core.bondedSigners(vm.addr(signerKeys[1]));
        (uint128 bond2,,,,) = core.bondedSigners(vm.addr(signerKeys[2]));
        assertEq(bond1, 0, "signer of the double bill slashed");
        assertEq(bond2, BOND, "signer of the first Ticket only keeps its bond");
        vm.warp(block.timestamp + WINDOW);
        core.finalizeTicket(first);
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreTicketReversed.selector, again.ticketId));
        core.finalizeTicket(again);
        assertEq(token.balanceOf(node), FEE, "node paid the job once");
        core.proveDebit(requester, _debitProof(first));
        assertEq(core.spendableDeposit(requester), 100e18 - FEE, "requester debited once");
    }

    /// @custom:invariant The same job twice in one Ticket is disputed.
    function test_jobTwiceInOneTicketIsDisputed() public {
        EmethCore.JobBacking[] memory jobs = new EmethCore.JobBacking[](2);
        jobs[0] = _backed(bytes16(uint128(6)));
        jobs[1] = jobs[0];
        EmethCore.Ticket memory t = _ticket(1, jobs, 0, 0);
        _postAndDispute(
            t,
            abi.encodeCall(EmethCore.disputeDoubleBilling, (t, _leaf(jobs, 1), t, _leaf(jobs, 0))),
            EmethCore.DisputeReason.DoubleBilled
        );
    }

    // ------------------------------------------------------------------ honest Tickets, window, set

    /// @custom:invariant A backed Ticket cannot be disputed and finalizes after the window only.
    function test_backedTicketFinalizesAfterTheWindow() public {
        EmethCore.JobBacking[] memory jobs = new EmethCore.JobBacking[](3);
        for (uint256 i = 0; i < 3; i++) {
            jobs[i] = _backed(bytes16(uint128(10 + i)));
        }
        jobs[2].fee = FEE / 2; // below the signed maximum: fine
        EmethCore.Ticket memory t = _ticket(1, jobs, 0, 0);
        uint64 finalAt = core.postTicket(t, _sigs(t, 0, 2));
        assertEq(finalAt, block.timestamp + WINDOW, "final one window after posting");
        EmethCore.LeafProof memory leaf = _leaf(jobs, 1);
        vm.prank(disputer);
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreJobBacked.selector, t.ticketId, jobs[1].jobId));
        core.disputeJob(t, leaf);
        vm.expectRevert(
            abi.encodeWithSelector(EmethCore.EmethCoreDisputeWindowOpen.selector, t.ticketId, finalAt, block.timestamp)
        );
        core.finalizeTicket(t);
        vm.warp(finalAt);
        core.finalizeTicket(t);
        assertEq(token.balanceOf(node), t.totalDebit, "node paid at finality");
        assertTrue(core.isSettled(t.ticketId), "final");
        vm.prank(disputer);
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreTicketAlreadySettled.selector, t.ticketId));
        core.disputeJob(t, leaf);
        core.proveDebit(requester, _debitProof(t));
        assertEq(core.spendableDeposit(requester), 100e18 - t.totalDebit, "requester debited at finality");
    }

    /// @custom:invariant A dispute after the window closed reverts (the Ticket is final-able).
    function test_disputeAfterWindowReverts() public {
        EmethCore.JobBacking memory b = _backed(bytes16(uint128(20)));
        b.fee = FEE * 2;
        EmethCore.JobBacking[] memory jobs = _one(b);
        EmethCore.Ticket memory t = _ticket(1, jobs, 0, 0);
        uint64 finalAt = core.postTicket(t, _sigs(t, 0, 1));
        vm.warp(finalAt);
        EmethCore.LeafProof memory leaf = _leaf(jobs, 0);
        vm.prank(disputer);
        vm.expectRevert(
            abi.encodeWithSelector(EmethCore.EmethCoreDisputeWindowClosed.selector, t.ticketId, finalAt, finalAt)
        );
        core.disputeJob(t, leaf);
    }

    /// @custom:invariant A posted Ticket needs k distinct bonded members, in slot order.
    function test_postNeedsThresholdOfDistinctBondedSigners() public {
        EmethCore.Ticket memory t = _ticket(1, _one(_backed(bytes16(uint128(30)))), 0, 0);
        bytes32 digest = core.ticketDigest(t);
        bytes[] memory one = new bytes[](1);
        one[0] = _sig(signerKeys[0], digest);
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreNotEnoughSignatures.selector, 1, 2));
        core.postTicket(t, one);
        bytes[] memory twice = new bytes[](2);
        (twice[0], twice[1]) = (one[0], one[0]);
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreSignaturesNotOrdered.selector, vm.addr(0x51), 0));
        core.postTicket(t, twice);
        bytes[] memory outsider = new bytes[](2);
        (outsider[0], outsider[1]) = (one[0], _sig(SIGNER_KEY, digest));
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreUnauthorizedSigner.selector, vm.addr(SIGNER_KEY)));
        core.postTicket(t, outsider);
        core.postTicket(t, _sigs(t, 0, 1));
        bytes[] memory other = _sigs(t, 1, 2);
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreTicketAlreadyPosted.selector, t.ticketId));
        core.postTicket(t, other);
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreTicketAlreadyPosted.selector, t.ticketId));
        core.settleTicket(t, outsider[1]);
    }

    /// @custom:invariant A removed signer's bond stays slashable for one dispute window.
    function test_signerUpdateDoesNotEscapeSlash() public {
        EmethCore.JobBacking memory b = _backed(bytes16(uint128(40)));
        b.fee = FEE * 3;
        EmethCore.JobBacking[] memory jobs = _one(b);
        EmethCore.Ticket memory t = _ticket(1, jobs, 0, 0);
        core.postTicket(t, _sigs(t, 0, 1));
        address s0 = vm.addr(signerKeys[0]);
        core.removeSigner(s0);
        EmethCore.LeafProof memory leaf = _leaf(jobs, 0);
        vm.prank(s0);
        vm.expectRevert(
            abi.encodeWithSelector(
                EmethCore.EmethCoreBondLocked.selector, s0, block.timestamp + WINDOW, block.timestamp
            )
        );
        core.withdrawSignerBond();
        vm.prank(disputer);
        core.disputeJob(t, leaf);
        vm.warp(block.timestamp + WINDOW);
        vm.prank(s0);
        core.withdrawSignerBond();
        assertEq(token.balanceOf(s0), 0, "slashed bond: nothing to take back");
        core.addSigner(vm.addr(0x54)); // the freed slot is reused
        (,, uint8 slot,,) = core.bondedSigners(vm.addr(0x54));
        assertEq(slot, 0, "lowest free slot");
    }

    /// @custom:invariant settleMargin + ticketDisputeWindow stays below both withdrawal delays.
    function test_disputeWindowWithinDelays() public {
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreDisputeWindowTooLong.selector, MARGIN, 70, 100, 100));
        core.setTicketDisputeWindow(70);
        core.setTicketDisputeWindow(69);
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreDisputeWindowTooLong.selector, MARGIN, 69, 99, 100));
        core.setParams(99, 100, MARGIN, 10);
        assertEq(core.ticketDisputeWindow(), 69, "window kept");
    }

    /// @custom:invariant A dispute moves exactly the slashed bonds: the disputer's share out
    ///                   of the core, the rest burned; deposits and collateral untouched.
    function testFuzz_disputeConservesTokens(uint16 shareBps, uint8 kind, uint96 extraBond) public {
        shareBps = uint16(bound(shareBps, 0, 10_000));
        core.setSignerSetParams(2, BOND, shareBps);
        address s1 = vm.addr(signerKeys[1]);
        _fund(s1, extraBond);
        if (extraBond != 0) {
            vm.prank(s1);
            core.depositSignerBond(extraBond);
        }
        EmethCore.JobBacking memory b = _backed(bytes16(uint128(50 + kind % 3)));
        if (kind % 3 == 0) b.fee = FEE + 1;
        if (kind % 3 == 1) b.registerSignature = _sig(0xBAD, core.registerJobDigest(EL, b.registered));
        if (kind % 3 == 2) b.processedAt = uint64(block.timestamp) + 1;
        EmethCore.JobBacking[] memory jobs = _one(b);
        EmethCore.Ticket memory t = _ticket(1, jobs, 0, 0);
        core.postTicket(t, _sigs(t, 0, 1));
        uint256 held = token.balanceOf(address(core));
        uint256 supply = token.totalSupply();
        EmethCore.LeafProof memory leaf = _leaf(jobs, 0);
        vm.prank(disputer);
        core.disputeJob(t, leaf);
        uint256 slashed = 2 * BOND + uint256(extraBond);
        uint256 reward = slashed * shareBps / 10_000;
        assertEq(token.balanceOf(disputer), reward, "disputer's share");
        assertEq(held - token.balanceOf(address(core)), slashed, "bonds left the core");
        assertEq(supply - token.totalSupply(), slashed - reward, "the rest burned");
        assertEq(core.spendableDeposit(requester), 100e18, "deposit untouched");
        assertEq(core.availableCollateral(node), 100e18, "collateral untouched");
    }

    /// @custom:invariant Governance can set a margin and a window only when settleMargin +
    ///                   ticketDisputeWindow < min(withdrawalDelay, collateralWithdrawalDelay).
    function testFuzz_delayRuleHolds(uint32 wDelay, uint32 cDelay, uint32 margin, uint32 window) public {
        uint256 lowest = wDelay < cDelay ? wDelay : cDelay;
        core.setTicketDisputeWindow(0);
        if (margin >= lowest) {
            vm.expectRevert(
                abi.encodeWithSelector(EmethCore.EmethCoreSettleMarginTooLong.selector, margin, wDelay, cDelay)
            );
            core.setParams(wDelay, cDelay, margin, 10);
            return;
        }
        core.setParams(wDelay, cDelay, margin, 10);
        if (uint256(margin) + window >= lowest) {
            vm.expectRevert(
                abi.encodeWithSelector(EmethCore.EmethCoreDisputeWindowTooLong.selector, margin, window, wDelay, cDelay)
            );
            core.setTicketDisputeWindow(window);
            assertEq(core.ticketDisputeWindow(), 0, "window unchanged");
        } else {
            core.setTicketDisputeWindow(window);
            assertEq(core.ticketDisputeWindow(), window, "window set");
        }
    }
}
