// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, Vm} from "../utils/Test.sol";
import {EmethToken} from "../../../contracts/emeth/EmethToken.sol";
import {EmethCore} from "../../../contracts/emeth/EmethCore.sol";

/// @notice Shared setup: a token, a core, a signer key, funded requesters and nodes.
abstract contract EmethBase is Test {
    uint256 internal constant SIGNER_KEY = 0xA11CE;
    uint256 internal constant FUNDS = 1e30;

    EmethToken internal token;
    EmethCore internal core;
    address[] internal requesters;
    address[] internal nodes;

    function _deploy() internal {
        token = new EmethToken(address(this));
        core = new EmethCore(token, address(this), 100, 100, 10);
        core.setSigner(vm.addr(SIGNER_KEY), true);
        for (uint256 i = 0; i < 3; i++) {
            requesters.push(address(uint160(0x1000 + i)));
            nodes.push(address(uint160(0x2000 + i)));
        }
        for (uint256 i = 0; i < 3; i++) {
            _fund(requesters[i]);
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

    function _ticket(uint256 id, address node, address[] memory who, uint256[] memory amounts, uint256 penalty)
        internal
        pure
        returns (EmethCore.Ticket memory t)
    {
        t.ticketId = id;
        t.node = node;
        t.jobsRoot = keccak256(abi.encode(id));
        t.jobCount = who.length;
        t.fuel = id % 1000;
        t.penalty = penalty;
        t.debits = new EmethCore.Debit[](who.length);
        for (uint256 i = 0; i < who.length; i++) {
            t.debits[i] = EmethCore.Debit(who[i], amounts[i]);
        }
    }
}

/// @notice Fuzz tests of Ticket settlement.
contract EmethCoreFuzzTest is EmethBase {
    function setUp() public {
        _deploy();
    }

    /// @custom:invariant A ticketId settles at most once, whatever it carries.
    function testFuzz_ticketSettlesOnce(uint256 id, uint96 a0, uint96 a1) public {
        vm.prank(requesters[0]);
        core.deposit(uint256(a0) + uint256(a1) + 1);
        address[] memory who = new address[](1);
        uint256[] memory amounts = new uint256[](1);
        who[0] = requesters[0];
        amounts[0] = a0;
        EmethCore.Ticket memory t = _ticket(id, nodes[0], who, amounts, 0);
        core.settleTicket(t, _sign(t));
        assertTrue(core.isSettled(id), "settled");
        amounts[0] = a1; // another, validly signed Ticket reusing the id
        EmethCore.Ticket memory t2 = _ticket(id, nodes[1], who, amounts, 0);
        bytes memory sig2 = _sign(t2);
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreTicketAlreadySettled.selector, id));
        core.settleTicket(t2, sig2);
    }

    /// @custom:invariant Settlement moves exactly the debits to the node and burns
    ///                   min(penalty, collateral); the supply drops by the burn only.
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
        (uint256 b0,,) = core.deposits(requesters[0]);
        assertEq(b0, 1, "requester 0 left");
    }

    /// @custom:invariant Changing any debit amount after signing makes the Ticket unsettleable.
    function testFuzz_alteredDebitRejected(uint96 amount, uint96 delta) public {
        vm.assume(delta != 0);
        vm.prank(requesters[0]);
        core.deposit(uint256(amount) + uint256(delta) + 1);
        address[] memory who = new address[](1);
        uint256[] memory amounts = new uint256[](1);
        (who[0], amounts[0]) = (requesters[0], amount);
        EmethCore.Ticket memory t = _ticket(9, nodes[0], who, amounts, 0);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SIGNER_KEY, core.ticketDigest(t));
        bytes memory sig = abi.encodePacked(r, s, v);
        t.debits[0].amount = uint256(amount) + delta;
        // The signature now recovers to some other address, which is not a signer.
        address recovered = ecrecover(core.ticketDigest(t), v, r, s);
        vm.expectRevert(abi.encodeWithSelector(EmethCore.EmethCoreUnauthorizedSigner.selector, recovered));
        core.settleTicket(t, sig);
        assertTrue(!core.isSettled(9), "not settled");
    }

    /// @custom:invariant One requester's unpayable debit never blocks the others in a Ticket.
    function test_unpayableDebitDoesNotBlockTheTicket() public {
        vm.prank(requesters[0]);
        core.deposit(100);
        vm.startPrank(requesters[1]);
        core.deposit(50);
        core.requestWithdrawal(50);
        vm.warp(block.timestamp + 100);
        core.withdraw(); // gone before the Ticket is submitted
        vm.stopPrank();
        address[] memory who = new address[](2);
        (who[0], who[1]) = (requesters[0], requesters[1]);
        uint256[] memory amounts = new uint256[](2);
        (amounts[0], amounts[1]) = (60, 30);
        EmethCore.Ticket memory t = _ticket(1, nodes[0], who, amounts, 0);
        uint256 before = token.balanceOf(nodes[0]);
        vm.expectEmit(true, true, false, true);
        emit EmethCore.RequesterDebitUnpaid(1, requesters[1], 30, 0);
        (uint256 paid,) = core.settleTicket(t, _sign(t));
        assertEq(paid, 60, "the payable debit is paid");
        assertEq(token.balanceOf(nodes[0]), before + 60, "node paid");
        (uint256 bal0,,) = core.deposits(requesters[0]);
        (uint256 bal1,,) = core.deposits(requesters[1]);
        assertEq(bal0, 40, "requester 0 debited");
        assertEq(bal1, 0, "requester 1 untouched");
        assertTrue(core.isSettled(1), "settled");
        assertEq(core.unpaidDebits(requesters[1]), 30, "unpaid debit recorded");
    }

    /// @custom:invariant A Ticket that lowers a pending withdrawal says so in an event.
    function test_ticketCappingPendingEmits() public {
        vm.startPrank(requesters[0]);
        core.deposit(100);
        core.requestWithdrawal(100);
        vm.stopPrank();
        address[] memory who = new address[](1);
        who[0] = requesters[0];
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = 30;
        EmethCore.Ticket memory t = _ticket(5, nodes[0], who, amounts, 0);
        vm.expectEmit(true, false, false, true);
        emit EmethCore.PendingWithdrawalReduced(requesters[0], 70);
        core.settleTicket(t, _sign(t));
        (, uint256 pending,) = core.deposits(requesters[0]);
        assertEq(pending, 70, "pending capped at the balance");
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
            core.requestWithdrawal(ask);
            vm.stopPrank();
            return;
        }
        core.requestWithdrawal(ask);
        uint256 readyAt = block.timestamp + 100;
        vm.warp(block.timestamp + wait);
        if (wait < 100) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    EmethCore.EmethCoreWithdrawalNotReady.selector, requesters[2], uint64(readyAt), block.timestamp
                )
            );
            core.withdraw();
        } else {
            uint256 before = token.balanceOf(requesters[2]);
            core.withdraw();
            assertEq(token.balanceOf(requesters[2]), before + ask, "withdrawn");
        }
        vm.stopPrank();
    }
}

/// @notice Invariant handler: actors deposit, withdraw, post collateral and settle Tickets; ghost
///         sums track every token flow in and out of EmethCore.
contract EmethHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant SIGNER_KEY = 0xA11CE;

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
    }

    function depositCollateral(uint256 who, uint256 amount) external {
        address n = nodes[who % nodes.length];
        amount = 1 + (amount % 1e24);
        vm.prank(n);
        core.depositCollateral(amount);
        ghost_deposited += amount;
    }

    function requestWithdrawal(uint256 who, uint256 amount, bool collateral) external {
        address a = collateral ? nodes[who % nodes.length] : requesters[who % requesters.length];
        (uint256 balance, uint256 pending,) = collateral ? core.collaterals(a) : core.deposits(a);
        if (balance == pending) return;
        amount = 1 + (amount % (balance - pending));
        vm.prank(a);
        if (collateral) core.requestCollateralWithdrawal(amount);
        else core.requestWithdrawal(amount);
    }

    function withdraw(uint256 who, bool collateral, uint256 wait) external {
        address a = collateral ? nodes[who % nodes.length] : requesters[who % requesters.length];
        (, uint256 pending, uint64 readyAt) = collateral ? core.collaterals(a) : core.deposits(a);
        if (pending == 0) return;
        vm.warp(block.timestamp + (wait % 200));
        if (block.timestamp < readyAt) return;
        uint256 before = token.balanceOf(a);
        vm.prank(a);
        if (collateral) core.withdrawCollateral();
        else core.withdraw();
        ghost_withdrawn += token.balanceOf(a) - before;
    }

    function settle(uint256 nodeSeed, uint256 a0, uint256 a1, uint256 penalty) external {
        address node = nodes[nodeSeed % nodes.length];
        address r0 = requesters[a0 % requesters.length];
        address r1 = requesters[a1 % requesters.length];
        (uint256 b0,,) = core.deposits(r0);
        (uint256 b1,,) = core.deposits(r1);
        EmethCore.Ticket memory t;
        t.ticketId = nextTicketId++;
        t.node = node;
        t.jobsRoot = keccak256(abi.encode(t.ticketId));
        t.jobCount = 2;
        t.fuel = a0 % 1e9;
        t.penalty = penalty % 1e24;
        t.debits = new EmethCore.Debit[](2);
        uint256 d0 = b0 == 0 ? 0 : a0 % (b0 + 1);
        t.debits[0] = EmethCore.Debit(r0, d0);
        uint256 left1 = r1 == r0 ? b1 - d0 : b1;
        t.debits[1] = EmethCore.Debit(r1, left1 == 0 ? 0 : a1 % (left1 + 1));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SIGNER_KEY, core.ticketDigest(t));
        (uint256 paid, uint256 burned) = core.settleTicket(t, abi.encodePacked(r, s, v));
        ghost_paid += paid;
        ghost_burned += burned;
        ghost_settled++;
    }

    function replay(uint256 idSeed) external {
        if (nextTicketId == 1) return;
        uint256 id = 1 + (idSeed % (nextTicketId - 1));
        EmethCore.Ticket memory t;
        t.ticketId = id;
        t.node = nodes[0];
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SIGNER_KEY, core.ticketDigest(t));
        try core.settleTicket(t, abi.encodePacked(r, s, v)) {
            ghost_doubleSettled++;
        } catch {}
    }

    /// @notice Sum of every deposit and collateral balance held by the core.
    function heldBalances() external view returns (uint256 sum) {
        for (uint256 i = 0; i < requesters.length; i++) {
            (uint256 b,,) = core.deposits(requesters[i]);
            sum += b;
        }
        for (uint256 i = 0; i < nodes.length; i++) {
            (uint256 b,,) = core.collaterals(nodes[i]);
            sum += b;
        }
    }
}

/// @notice Invariants of EmethCore under random deposits, withdrawals and Ticket settlements.
contract EmethCoreInvariantTest is EmethBase {
    EmethHandler internal handler;

    function setUp() public {
        _deploy();
        handler = new EmethHandler(core, token, requesters, nodes);
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](6);
        selectors[0] = EmethHandler.deposit.selector;
        selectors[1] = EmethHandler.depositCollateral.selector;
        selectors[2] = EmethHandler.requestWithdrawal.selector;
        selectors[3] = EmethHandler.withdraw.selector;
        selectors[4] = EmethHandler.settle.selector;
        selectors[5] = EmethHandler.replay.selector;
        targetSelector(FuzzSelector(address(handler), selectors));
    }

    /// @custom:invariant Tokens are conserved: everything deposited is still held, was paid to a
    ///                   node, was burned, or was withdrawn; and the core holds exactly the balances.
    function invariant_tokenConservation() public view {
        uint256 held = handler.heldBalances();
        assertEq(
            handler.ghost_deposited(),
            held + handler.ghost_paid() + handler.ghost_burned() + handler.ghost_withdrawn(),
            "deposits = balances + paid + burned + withdrawn"
        );
        assertEq(token.balanceOf(address(core)), held, "core holds exactly the balances");
        assertEq(core.totalBurned(), handler.ghost_burned(), "totalBurned");
    }

    /// @custom:invariant A ticketId settles at most once.
    function invariant_ticketSettlesAtMostOnce() public view {
        assertEq(handler.ghost_doubleSettled(), 0, "replays must revert");
    }

    /// @custom:invariant A pending withdrawal never exceeds its balance.
    function invariant_pendingWithinBalance() public view {
        for (uint256 i = 0; i < 3; i++) {
            (uint256 b, uint256 p,) = core.deposits(requesters[i]);
            assertLe(p, b, "deposit pending <= balance");
            (b, p,) = core.collaterals(nodes[i]);
            assertLe(p, b, "collateral pending <= balance");
        }
    }
}
