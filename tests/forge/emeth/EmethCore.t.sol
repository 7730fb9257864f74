// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, Vm} from "../utils/Test.sol";
import {EmethToken} from "../../../contracts/emeth/EmethToken.sol";
import {EmethCore} from "../../../contracts/emeth/EmethCore.sol";
import {DebitBook} from "./DebitBook.sol";

/// @notice Shared setup: a token, a core, a signer key, funded requesters and nodes.
abstract contract EmethBase is Test, DebitBook {
    uint256 internal constant FUNDS = 1e30;
    uint64 internal constant MARGIN = 30; // settleMargin: Tickets are valid 30 s after signing

    EmethToken internal token;
    EmethCore internal core;
    address[] internal requesters;
    address[] internal nodes;

    function _deploy() internal {
        _deployWith(3, 3);
    }

    function _deployWith(uint256 nRequesters, uint256 nNodes) internal {
        token = new EmethToken(address(this));
        core = new EmethCore(token, address(this), 100, 100, MARGIN, 10);
        core.setSigner(vm.addr(SIGNER_KEY), true);
        for (uint256 i = 0; i < nRequesters; i++) {
            requesters.push(address(uint160(0x1000 + i)));
            _fund(requesters[i]);
        }
        for (uint256 i = 0; i < nNodes; i++) {
            nodes.push(address(uint160(0x2000 + i)));
            _fund(nodes[i]);
        }
    }

    function _fund(address who) internal {
        token.mint(who, FUNDS);
        vm.prank(who);
        token.approve(address(core), type(uint256).max);
    }

    function _sign(EmethCore.Ticket memory t) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SIGNER_KEY, core.ticketDigest(t));
        return abi.encodePacked(r, s, v);
    }

    /// @dev A Ticket debiting `who` (distinct) `amounts`, booked in the DebitBook.
    function _ticket(uint256 id, address node, address[] memory who, uint256[] memory amounts, uint256 penalty)
        internal
        returns (EmethCore.Ticket memory t)
    {
        t.ticketId = id;
        t.node = node;
        t.jobsRoot = keccak256(abi.encode(id));
        t.jobCount = who.length;
        t.fuel = id % 1000;
        t.penalty = penalty;
        t.validUntil = uint64(block.timestamp) + MARGIN;
        _bookDebits(t, who, amounts);
    }

    function _one(address who, uint256 amount) internal pure returns (address[] memory w, uint256[] memory a) {
        w = new address[](1);
        a = new uint256[](1);
        (w[0], a[0]) = (who, amount);
    }

    function _none() internal pure returns (EmethCore.DebitProof[] memory) {
        return new EmethCore.DebitProof[](0);
    }
}

/// @notice Fuzz tests of Ticket settlement and lazy debits.
contract EmethCoreFuzzTest is EmethBase {
    function setUp() public {
        _deploy();
    }

    /// @custom:invariant A ticketId settles at most once, whatever it carries.
    function testFuzz_ticketSettlesOnce(uint64 id, uint96 a0, uint96 a1) public {
        vm.assume(id != 0);
        vm.prank(requesters[0]);
        core.deposit(uint256(a0) + uint256(a1) + 1);
        (address[] memory who, uint256[] memory amounts) = _one(requesters[0], a0);
        EmethCore.Ticket memory t = _ticket(id, nodes[0], who, amounts, 0);
        core.settleTicket(t, _sign(t));
        assertTrue(core.isSettled(id), "settled");
        EmethCore.Ticket memory t2 = t; // another, validly signed Ticket reusing the id
        t2.node = nodes[1];
        t2.totalDebit = a1;
        bytes memory sig2 = _sign(t2);
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreTicketAlreadySettled.selector, uint256(id)));
        core.settleTicket(t2, sig2);
    }

    /// @custom:invariant Settlement pays the node exactly totalDebit and burns
    ///                   min(penalty, collateral); requesters' balances move only when a debit
    ///                   is proven, by exactly the proven cumulative debit.
    function testFuzz_settleMovesAndBurnsExactly(uint96 d0, uint96 d1, uint96 collateral, uint96 penalty) public {
        vm.prank(requesters[0]);
        core.deposit(uint256(d0) + 1);
        vm.prank(requesters[1]);
        core.deposit(uint256(d1) + 1);
        vm.prank(nodes[0]);
        core.depositCollateral(uint256(collateral) + 1);
        address[] memory who = new address[](2);
        uint256[] memory amounts = new uint256[](2);
        (who[0], who[1], amounts[0], amounts[1]) = (requesters[0], requesters[1], d0, d1);
        EmethCore.Ticket memory t = _ticket(1, nodes[0], who, amounts, penalty);
        uint256 supply = token.totalSupply();
        uint256 wallet = token.balanceOf(nodes[0]);
        (uint256 paid, uint256 burned) = core.settleTicket(t, _sign(t));
        uint256 expectBurn = penalty < uint256(collateral) + 1 ? penalty : uint256(collateral) + 1;
        assertEq(paid, uint256(d0) + d1, "paid");
        assertEq(burned, expectBurn, "burned");
        assertEq(token.balanceOf(nodes[0]), wallet + paid, "node wallet");
        assertEq(token.totalSupply(), supply - burned, "supply");
        assertEq(core.penaltyShortfall(nodes[0]), penalty - burned, "shortfall");
        assertEq(core.spendableDeposit(requesters[0]), uint256(d0) + 1, "lazy: nothing proven yet");
        core.proveDebit(requesters[0], _debitProof(1, requesters[0]));
        assertEq(core.spendableDeposit(requesters[0]), 1, "requester 0 left after its proof");
        assertEq(core.provenDebits(requesters[0]), d0, "proven");
    }

    /// @custom:invariant Changing the total, root or count after signing makes the Ticket unsettleable.
    function testFuzz_alteredTicketRejected(uint96 amount, uint96 delta, uint8 field) public {
        vm.assume(delta != 0);
        vm.prank(requesters[0]);
        core.deposit(uint256(amount) + uint256(delta) + 1);
        (address[] memory who, uint256[] memory amounts) = _one(requesters[0], amount);
        EmethCore.Ticket memory t = _ticket(9, nodes[0], who, amounts, 0);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SIGNER_KEY, core.ticketDigest(t));
        bytes memory sig = abi.encodePacked(r, s, v);
        if (field % 3 == 0) t.totalDebit = uint256(amount) + delta;
        else if (field % 3 == 1) t.debitsRoot = bytes32(uint256(t.debitsRoot) ^ delta);
        else t.debitCount += delta;
        // The signature now recovers to some other address, which is not a signer.
        address recovered = ecrecover(core.ticketDigest(t), v, r, s);
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreUnauthorizedSigner.selector, recovered));
        core.settleTicket(t, sig);
        assertTrue(!core.isSettled(9), "not settled");
    }

    /// @custom:invariant A leaf cannot be replayed: once a newer one is proven, an older one
    ///                   (or the same) reverts EmethCoreStaleDebitProof, and the balance keeps the newer debit.
    function test_oldDebitLeafCannotBeReplayed() public {
        vm.prank(requesters[0]);
        core.deposit(100);
        (address[] memory who, uint256[] memory amounts) = _one(requesters[0], 10);
        EmethCore.Ticket memory t1 = _ticket(1, nodes[0], who, amounts, 0);
        core.settleTicket(t1, _sign(t1));
        amounts[0] = 30;
        EmethCore.Ticket memory t2 = _ticket(2, nodes[1], who, amounts, 0);
        core.settleTicket(t2, _sign(t2));
        core.proveDebit(requesters[0], _debitProof(2, requesters[0]));
        assertEq(core.spendableDeposit(requesters[0]), 60, "cumulative 40 proven");
        EmethCore.DebitProof memory old = _debitProof(1, requesters[0]);
        vm.expectRevert(
            abi.encodeWithSelector(EmethCore.EmethCoreStaleDebitProof.selector, requesters[0], 1, 2)
        );
        core.proveDebit(requesters[0], old);
        EmethCore.DebitProof memory same = _debitProof(2, requesters[0]);
        vm.expectRevert(
            abi.encodeWithSelector(EmethCore.EmethCoreStaleDebitProof.selector, requesters[0], 2, 2)
        );
        core.proveDebit(requesters[0], same);
        // Inside a withdrawal request an older proof is skipped, never lowering the debit.
        EmethCore.DebitProof[] memory ps = new EmethCore.DebitProof[](1);
        ps[0] = old;
        vm.expectRevert(
            abi.encodeWithSelector(EmethCore.EmethCoreWithdrawalExceedsBalance.selector, requesters[0], 61, 60)
        );
        vm.prank(requesters[0]);
        core.requestWithdrawal(61, ps);
    }

    /// @custom:invariant A forged leaf (wrong cumulative, wrong requester, unsettled Ticket) never proves.
    function test_forgedDebitProofsRevert() public {
        vm.prank(requesters[0]);
        core.deposit(100);
        (address[] memory who, uint256[] memory amounts) = _one(requesters[0], 10);
        EmethCore.Ticket memory t = _ticket(1, nodes[0], who, amounts, 0);
        EmethCore.DebitProof memory p = _debitProof(1, requesters[0]);
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreTicketNotSettled.selector, 1));
        core.proveDebit(requesters[0], p);
        core.settleTicket(t, _sign(t));
        p.cumulative = 1;
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreInvalidDebitProof.selector, requesters[0], 1));
        core.proveDebit(requesters[0], p);
        p = _debitProof(1, requesters[0]);
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreInvalidDebitProof.selector, requesters[1], 1));
        core.proveDebit(requesters[1], p);
    }

    /// @custom:invariant A debit chain must move forward: a newer Ticket whose leaf points before
    ///                   the proven one, or lowers the cumulative debit, reverts EmethCoreDebitChainBroken.
    function test_debitChainMustMoveForward() public {
        vm.prank(requesters[0]);
        core.deposit(100);
        (address[] memory who, uint256[] memory amounts) = _one(requesters[0], 40);
        EmethCore.Ticket memory t1 = _ticket(1, nodes[0], who, amounts, 0);
        core.settleTicket(t1, _sign(t1));
        core.proveDebit(requesters[0], _debitProof(1, requesters[0]));
        // A (dishonest) Ticket 2 whose leaf restarts the chain at cumulative 5.
        EmethCore.Ticket memory t2;
        t2.ticketId = 2;
        t2.node = nodes[0];
        bytes32 leaf = core.debitLeaf(requesters[0], 5, 0);
        t2.debitsRoot = keccak256(abi.encodePacked(bytes1(0x00), uint256(0), leaf));
        t2.debitCount = 1;
        t2.totalDebit = 5;
        t2.validUntil = uint64(block.timestamp);
        core.settleTicket(t2, _sign(t2));
        EmethCore.DebitProof memory p;
        p.ticketId = 2;
        p.cumulative = 5;
        vm.expectRevert(
            abi.encodeWithSelector(EmethCore.EmethCoreDebitChainBroken.selector, requesters[0], 2, 0, 5, 1, 40)
        );
        core.proveDebit(requesters[0], p);
        assertEq(core.provenDebits(requesters[0]), 40, "debit kept");
    }

    /// @custom:invariant A withdrawal pays at most what newer proofs leave: a requester who asks
    ///                   with an old proof is caught by anyone's newer proof during the delay.
    function test_staleWithdrawalIsCaughtDuringTheDelay() public {
        vm.prank(requesters[0]);
        core.deposit(100);
        (address[] memory who, uint256[] memory amounts) = _one(requesters[0], 10);
        EmethCore.Ticket memory t1 = _ticket(1, nodes[0], who, amounts, 0);
        core.settleTicket(t1, _sign(t1));
        amounts[0] = 50;
        EmethCore.Ticket memory t2 = _ticket(2, nodes[0], who, amounts, 0);
        core.settleTicket(t2, _sign(t2));
        EmethCore.DebitProof[] memory ps = new EmethCore.DebitProof[](1);
        ps[0] = _debitProof(1, requesters[0]); // hides Ticket 2
        vm.prank(requesters[0]);
        core.requestWithdrawal(90, ps);
        vm.expectEmit(true, false, false, true);
        emit EmethCore.PendingWithdrawalReduced(requesters[0], 40);
        core.proveDebit(requesters[0], _debitProof(2, requesters[0])); // a billing agent
        vm.warp(block.timestamp + 100);
        uint256 before = token.balanceOf(requesters[0]);
        vm.prank(requesters[0]);
        core.withdraw(_none());
        assertEq(token.balanceOf(requesters[0]) - before, 40, "withdrew what the debits left");
        assertEq(core.spendableDeposit(requesters[0]), 0, "nothing left");
    }

    /// @custom:invariant A debit above what is left (the requester withdrew first) never blocks
    ///                   the Ticket; proven, it shows in unpaidDebits and leaves nothing spendable.
    function test_unpayableDebitDoesNotBlockTheTicket() public {
        vm.prank(requesters[0]);
        core.deposit(100);
        vm.startPrank(requesters[1]);
        core.deposit(50);
        core.requestWithdrawal(50, _none());
        vm.warp(block.timestamp + 100);
        core.withdraw(_none()); // gone before the Ticket is submitted
        vm.stopPrank();
        address[] memory who = new address[](2);
        (who[0], who[1]) = (requesters[0], requesters[1]);
        uint256[] memory amounts = new uint256[](2);
        (amounts[0], amounts[1]) = (60, 30);
        EmethCore.Ticket memory t = _ticket(1, nodes[0], who, amounts, 0);
        uint256 before = token.balanceOf(nodes[0]);
        (uint256 paid,) = core.settleTicket(t, _sign(t));
        assertEq(paid, 90, "the Ticket's total is paid");
        assertEq(token.balanceOf(nodes[0]), before + 90, "node paid");
        core.proveDebit(requesters[1], _debitProof(1, requesters[1]));
        assertEq(core.unpaidDebits(requesters[1]), 30, "unpaid debit recorded");
        assertEq(core.spendableDeposit(requesters[1]), 0, "nothing spendable");
        assertTrue(core.isSettled(1), "settled");
    }

    /// @custom:invariant A Ticket signed while its requester had funds, held back by the node past
    ///                   the requester's withdrawal, is never paid out of another requester's deposit.
    /// @dev Regression of the known hole "a Ticket settled late" (issue 16, lazy debits).
    function test_lateTicketAfterWithdrawalReverts() public {
        vm.prank(requesters[0]);
        core.deposit(100);
        vm.prank(requesters[1]);
        core.deposit(100);
        (address[] memory who, uint256[] memory amounts) = _one(requesters[0], 100);
        EmethCore.Ticket memory t = _ticket(1, nodes[0], who, amounts, 0);
        bytes memory sig = _sign(t); // signed while requester 0 had its 100
        vm.startPrank(requesters[0]); // no proof exists: the node holds the Ticket back
        core.requestWithdrawal(100, _none());
        vm.warp(block.timestamp + core.withdrawalDelay());
        core.withdraw(_none());
        vm.stopPrank();
        vm.expectRevert(
            abi.encodeWithSelector(EmethCore.EmethCoreTicketExpired.selector, 1, t.validUntil, block.timestamp)
        );
        core.settleTicket(t, sig); // the node settles late: refused
        assertGe(token.balanceOf(address(core)), core.spendableDeposit(requesters[1]), "requester 1 still backed");
    }

    /// @custom:invariant A Ticket settles up to its validUntil and never after it
    ///                   (EmethCoreTicketExpired).
    function testFuzz_ticketValidityWindow(uint32 age, uint32 extra) public {
        vm.prank(requesters[0]);
        core.deposit(100);
        (address[] memory who, uint256[] memory amounts) = _one(requesters[0], 10);
        EmethCore.Ticket memory t = _ticket(1, nodes[0], who, amounts, 0);
        t.validUntil = uint64(block.timestamp) + MARGIN + uint64(extra % 100);
        bytes memory sig = _sign(t);
        vm.warp(block.timestamp + (age % 200));
        if (block.timestamp > t.validUntil) {
            vm.expectRevert(
                abi.encodeWithSelector(EmethCore.EmethCoreTicketExpired.selector, 1, t.validUntil, block.timestamp)
            );
            core.settleTicket(t, sig);
            assertTrue(!core.isSettled(1), "expired Ticket never settles");
        } else {
            core.settleTicket(t, sig);
            assertTrue(core.isSettled(1), "valid Ticket settles");
        }
    }

    /// @custom:invariant settleMargin stays strictly below both withdrawal delays.
    function test_settleMarginBelowBothDelays() public {
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreSettleMarginTooLong.selector, 100, 100, 200));
        core.setParams(100, 200, 100, 10);
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreSettleMarginTooLong.selector, 60, 100, 60));
        core.setParams(100, 60, 60, 10);
        core.setParams(100, 60, 59, 10);
        assertEq(core.settleMargin(), 59, "margin set");
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreSettleMarginTooLong.selector, 5, 5, 5));
        new EmethCore(token, address(this), 5, 5, 5, 1);
    }

    /// @custom:invariant No SubJob id (top bit set) is ever cancelled on its own.
    function testFuzz_subJobIdCannotBeCancelled(bytes16 id) public {
        bytes16 sub = id | bytes16(uint128(1) << 127);
        vm.prank(requesters[0]);
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreSubJobCancel.selector, sub));
        core.cancel(sub);
        bytes16 top = id & ~bytes16(uint128(1) << 127);
        vm.assume(top != bytes16(0));
        vm.prank(requesters[0]);
        core.cancel(top);
        assertEq(core.cancelledAt(top, requesters[0]), block.timestamp, "parent cancel recorded");
        assertEq(core.cancelledAt(top, requesters[1]), 0, "keyed by requester");
    }

    /// @custom:invariant A requester never withdraws before the delay nor more than it holds.
    function testFuzz_withdrawalBounds(uint96 dep, uint96 ask, uint32 wait) public {
        vm.assume(dep > 0);
        vm.startPrank(requesters[2]);
        core.deposit(dep);
        if (ask == 0 || ask > dep) {
            if (ask == 0) vm.expectRevert(EmethCore.EmethCoreZeroAmount.selector);
            else {
                vm.expectRevert(
                    abi.encodeWithSelector(
                        EmethCore.EmethCoreWithdrawalExceedsBalance.selector, requesters[2], uint256(ask), uint256(dep)
                    )
                );
            }
            core.requestWithdrawal(ask, _none());
            vm.stopPrank();
            return;
        }
        core.requestWithdrawal(ask, _none());
        uint256 readyAt = block.timestamp + 100;
        vm.warp(block.timestamp + wait);
        if (wait < 100) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    EmethCore.EmethCoreWithdrawalNotReady.selector, requesters[2], uint64(readyAt), block.timestamp
                )
            );
            core.withdraw(_none());
        } else {
            uint256 before = token.balanceOf(requesters[2]);
            core.withdraw(_none());
            assertEq(token.balanceOf(requesters[2]), before + ask, "withdrawn");
        }
        vm.stopPrank();
    }
}

/// @notice Invariant handler: requesters deposit and withdraw, nodes post collateral, an honest
///         Signer's Tickets settle (debits within what each requester has left), a watcher proves
///         newest leaves, and attackers replay Ticket ids and old leaves; ghost sums track every
///         token flow in and out of EmethCore.
contract EmethHandler is DebitBook {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    EmethCore internal core;
    EmethToken internal token;
    address[] internal requesters;
    address[] internal nodes;

    uint256 public ghost_deposited; // deposits + collateral pulled in
    uint256 public ghost_withdrawn; // deposits + collateral paid out
    uint256 public ghost_paid; // paid to nodes by Tickets
    uint256 public ghost_burned; // burned by Tickets
    uint256 public ghost_settled; // Tickets settled
    uint256 public ghost_doubleSettled; // replays that did not revert
    uint256 public ghost_staleAccepted; // old leaves that proved
    uint256 public ghost_proofs; // newest leaves proven
    uint256 public ghost_lateAccepted; // Tickets settled after their validUntil
    uint256 public ghost_lateTried; // late settlements attempted
    mapping(address => uint256) public ghost_depositedBy;
    mapping(address => uint256) public ghost_withdrawnBy;
    uint256 public nextTicketId = 1;

    constructor(EmethCore core_, EmethToken token_, address[] memory requesters_, address[] memory nodes_) {
        (core, token, requesters, nodes) = (core_, token_, requesters_, nodes_);
    }

    function deposit(uint256 who, uint256 amount) external {
        address r = requesters[who % requesters.length];
        amount = 1 + (amount % 1e24);
        vm.prank(r);
        core.deposit(amount);
        ghost_deposited += amount;
        ghost_depositedBy[r] += amount;
    }

    function depositCollateral(uint256 who, uint256 amount) external {
        address n = nodes[who % nodes.length];
        amount = 1 + (amount % 1e24);
        vm.prank(n);
        core.depositCollateral(amount);
        ghost_deposited += amount;
    }

    /// @dev What `r` has left once every booked debit is proven (its true balance).
    function _left(address r) internal view returns (uint256) {
        (uint256 balance, uint256 pending,,) = core.deposits(r);
        uint256 owed = bookedCum[r] + pending;
        return balance > owed ? balance - owed : 0;
    }

    function requestWithdrawal(uint256 who, uint256 amount, bool collateral) external {
        if (collateral) {
            address n = nodes[who % nodes.length];
            (uint256 balance, uint256 pending,,) = core.collaterals(n);
            if (balance == pending) return;
            vm.prank(n);
            core.requestCollateralWithdrawal(1 + (amount % (balance - pending)));
            return;
        }
        address r = requesters[who % requesters.length];
        uint256 left = _left(r);
        if (left == 0) return;
        vm.prank(r); // an honest requester: its newest proof
        core.requestWithdrawal(1 + (amount % left), _newestProofs(r));
    }

    function withdraw(uint256 who, bool collateral, uint256 wait) external {
        address a = collateral ? nodes[who % nodes.length] : requesters[who % requesters.length];
        (, uint256 pending, uint64 readyAt,) = collateral ? core.collaterals(a) : core.deposits(a);
        if (pending == 0) return;
        vm.warp(block.timestamp + (wait % 200));
        if (block.timestamp < readyAt) return;
        uint256 before = token.balanceOf(a);
        if (collateral) {
            vm.prank(a);
            core.withdrawCollateral();
        } else {
            _watch(a); // the billing agents' watcher proves the newest leaf within the delay
            (, pending,,) = core.deposits(a);
            if (pending == 0) return;
            vm.prank(a);
            core.withdraw(new EmethCore.DebitProof[](0));
            ghost_withdrawnBy[a] += token.balanceOf(a) - before;
        }
        ghost_withdrawn += token.balanceOf(a) - before;
    }

    /// @dev An honest Signer's Ticket: up to 3 distinct requesters, each billed within what it has left.
    function settle(uint256 nodeSeed, uint256 a0, uint256 a1, uint256 a2, uint256 penalty) external {
        EmethCore.Ticket memory t;
        t.ticketId = nextTicketId++;
        t.node = nodes[nodeSeed % nodes.length];
        t.jobsRoot = keccak256(abi.encode(t.ticketId));
        t.jobCount = 3;
        t.fuel = a0 % 1e9;
        t.penalty = penalty % 1e24;
        t.validUntil = uint64(block.timestamp) + core.settleMargin();
        uint256[3] memory seeds = [a0, a1, a2];
        address[] memory who = new address[](3);
        uint256[] memory amounts = new uint256[](3);
        uint256 n = 0;
        for (uint256 i = 0; i < 3; i++) {
            address r = requesters[seeds[i] % requesters.length];
            bool dup = false;
            for (uint256 j = 0; j < n; j++) {
                if (who[j] == r) dup = true;
            }
            if (dup) continue;
            uint256 left = _left(r);
            who[n] = r;
            amounts[n] = left == 0 ? 0 : (seeds[i] >> 8) % (left + 1);
            n++;
        }
        assembly {
            mstore(who, n)
            mstore(amounts, n)
        }
        _bookDebits(t, who, amounts);
        (uint8 v, bytes32 r_, bytes32 s) = vm.sign(SIGNER_KEY, core.ticketDigest(t));
        (uint256 paid, uint256 burned) = core.settleTicket(t, abi.encodePacked(r_, s, v));
        ghost_paid += paid;
        ghost_burned += burned;
        ghost_settled++;
    }

    /// @dev A node holds back a Ticket billing all a requester has left (never booked: it must
    ///      never settle), lets it expire, then settles it late (e.g. after the requester withdrew).
    function settleLate(uint256 who, uint256 nodeSeed, uint256 wait) external {
        address r = requesters[who % requesters.length];
        uint256 left = _left(r);
        EmethCore.Ticket memory t;
        t.ticketId = (uint256(1) << 31) + ghost_lateTried++; // apart from the honest ids
        t.node = nodes[nodeSeed % nodes.length];
        t.jobsRoot = keccak256(abi.encode(t.ticketId));
        t.jobCount = 1;
        t.debitsRoot = keccak256(abi.encode(r, bookedCum[r] + left, bookedLast[r]));
        t.debitCount = 1;
        t.totalDebit = left;
        t.validUntil = uint64(block.timestamp) + core.settleMargin();
        (uint8 v, bytes32 r_, bytes32 s) = vm.sign(SIGNER_KEY, core.ticketDigest(t));
        vm.warp(uint256(t.validUntil) + 1 + (wait % 300));
        try core.settleTicket(t, abi.encodePacked(r_, s, v)) returns (uint256 paid, uint256 burned) {
            ghost_lateAccepted++;
            ghost_paid += paid;
            ghost_burned += burned;
        } catch {}
    }

    function prove(uint256 who) external {
        _watch(requesters[who % requesters.length]);
    }

    function _watch(address r) internal {
        uint256 id = bookedLast[r];
        (uint64 proven,) = core.debitMarkOf(r, id >> 32);
        if (id == 0 || id <= proven) return;
        core.proveDebit(r, _debitProof(id, r));
        ghost_proofs++;
    }

    /// @dev An attacker proves some older leaf of a requester.
    function replayLeaf(uint256 who, uint256 idSeed) external {
        if (nextTicketId == 1) return;
        address r = requesters[who % requesters.length];
        uint256 id = 1 + (idSeed % (nextTicketId - 1));
        if (_pos[id][r] == 0 || id >= bookedLast[r]) return;
        (uint64 proven,) = core.debitMarkOf(r, 0);
        if (id > proven) return; // not old yet: a legitimate (if not newest) proof
        try core.proveDebit(r, _debitProof(id, r)) {
            ghost_staleAccepted++;
        } catch {}
    }

    function replay(uint256 idSeed) external {
        if (nextTicketId == 1) return;
        uint256 id = 1 + (idSeed % (nextTicketId - 1));
        EmethCore.Ticket memory t;
        t.ticketId = id;
        t.node = nodes[0];
        t.validUntil = uint64(block.timestamp); // still valid: only the replay check can refuse it
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SIGNER_KEY, core.ticketDigest(t));
        try core.settleTicket(t, abi.encodePacked(r, s, v)) {
            ghost_doubleSettled++;
        } catch {}
    }

    /// @notice Sum of every deposit and collateral balance held by the core.
    function heldBalances() external view returns (uint256 sum) {
        for (uint256 i = 0; i < requesters.length; i++) {
            (uint256 b,,,) = core.deposits(requesters[i]);
            sum += b;
        }
        for (uint256 i = 0; i < nodes.length; i++) {
            (uint256 b,,,) = core.collaterals(nodes[i]);
            sum += b;
        }
    }

    /// @notice What the core owes once every booked debit is proven: requesters' balances less
    ///         their cumulative debits, plus collateral.
    function owedAfterAllProofs() external view returns (uint256 sum) {
        for (uint256 i = 0; i < requesters.length; i++) {
            (uint256 b,,,) = core.deposits(requesters[i]);
            sum += b - bookedCum[requesters[i]];
        }
        for (uint256 i = 0; i < nodes.length; i++) {
            (uint256 b,,,) = core.collaterals(nodes[i]);
            sum += b;
        }
    }
}

/// @notice Invariants of EmethCore under random deposits, withdrawals, Tickets and proofs, with
///         8 requesters and 4 nodes.
contract EmethCoreInvariantTest is EmethBase {
    EmethHandler internal handler;

    function setUp() public {
        _deployWith(8, 4);
        handler = new EmethHandler(core, token, requesters, nodes);
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](9);
        selectors[0] = EmethHandler.deposit.selector;
        selectors[1] = EmethHandler.depositCollateral.selector;
        selectors[2] = EmethHandler.requestWithdrawal.selector;
        selectors[3] = EmethHandler.withdraw.selector;
        selectors[4] = EmethHandler.settle.selector;
        selectors[5] = EmethHandler.replay.selector;
        selectors[6] = EmethHandler.prove.selector;
        selectors[7] = EmethHandler.replayLeaf.selector;
        selectors[8] = EmethHandler.settleLate.selector;
        targetSelector(FuzzSelector(address(handler), selectors));
    }

    /// @custom:invariant Tokens are conserved: everything deposited is still in a balance, was
    ///                   burned or was withdrawn; the core holds the balances less what Tickets paid.
    function invariant_tokenConservation() public view {
        uint256 held = handler.heldBalances();
        assertEq(
            handler.ghost_deposited(),
            held + handler.ghost_burned() + handler.ghost_withdrawn(),
            "deposits = balances + burned + withdrawn"
        );
        assertEq(token.balanceOf(address(core)), held - handler.ghost_paid(), "core holds balances - paid");
        assertEq(core.totalBurned(), handler.ghost_burned(), "totalBurned");
    }

    /// @custom:invariant Solvent: Σ paid <= Σ deposits, and the core holds exactly what it owes
    ///                   once every debit is proven (requesters' lazy balances + collateral).
    function invariant_solvent() public view {
        assertLe(handler.ghost_paid(), handler.ghost_deposited(), "paid <= deposited");
        assertEq(token.balanceOf(address(core)), handler.owedAfterAllProofs(), "holdings == owed");
    }

    /// @custom:invariant Each requester's lazy balance is deposits - withdrawals - proven debits,
    ///                   and its proven debit is a prefix of its booked debits.
    function invariant_lazyBalance() public view {
        for (uint256 i = 0; i < requesters.length; i++) {
            address r = requesters[i];
            uint256 proven = core.provenDebits(r);
            assertLe(proven, handler.bookedCum(r), "proven <= booked");
            assertEq(
                core.spendableDeposit(r),
                handler.ghost_depositedBy(r) - handler.ghost_withdrawnBy(r) - proven,
                "spendable = deposits - withdrawals - proven"
            );
            (uint64 tid, uint192 cum) = core.debitMarkOf(r, 0);
            assertEq(uint256(cum), proven, "mark carries the proven cumulative");
            assertLe(tid, handler.bookedLast(r), "mark not beyond the newest Ticket");
        }
    }

    /// @custom:invariant A ticketId settles at most once, no old leaf ever proves, and no Ticket
    ///                   settles after its validUntil.
    function invariant_singleSettlementNoReplay() public view {
        assertEq(handler.ghost_doubleSettled(), 0, "replays must revert");
        assertEq(handler.ghost_lateAccepted(), 0, "expired Tickets must revert");
        assertEq(handler.ghost_staleAccepted(), 0, "old leaves must revert");
    }

    /// @custom:invariant A pending withdrawal never exceeds what is left of its balance.
    function invariant_pendingWithinBalance() public view {
        for (uint256 i = 0; i < requesters.length; i++) {
            (, uint256 p,,) = core.deposits(requesters[i]);
            assertLe(p, core.spendableDeposit(requesters[i]), "deposit pending <= spendable");
        }
        for (uint256 i = 0; i < nodes.length; i++) {
            (uint256 b, uint256 p,,) = core.collaterals(nodes[i]);
            assertLe(p, b, "collateral pending <= balance");
        }
    }
}
