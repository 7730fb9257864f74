// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProductionFixture} from "./ProductionFixture.sol";
import {BatchHeader} from "../../../contracts/rollup/BatchHeader.sol";
import {StateCommitment} from "../../../contracts/rollup/StateCommitment.sol";
import {L1Bridge, EscapeProof} from "../../../contracts/bridge/L1Bridge.sol";
import {TestToken} from "../../../contracts/test/TestToken.sol";
import {StateTreeBuilder} from "../utils/StateTreeBuilder.sol";
import {Vm} from "../utils/Test.sol";

/// @notice Drives deposits, batches (state = the model's balances), time, freeze, escapes and
///         refunds against the real bridge and StateCommitment; ghosts count what went in and out.
contract EscapeHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    EscapeInvariantsTest internal immutable t;
    L1Bridge internal immutable bridge;
    StateCommitment internal immutable sc;
    address[2] internal tokens;
    address[4] public actors;

    struct Dep {
        address sender;
        address token;
        uint256 amount;
    }

    Dep[] internal deps;
    /// @notice Model balance of (actor, token) on L2 after the consumed deposits.
    mapping(address => mapping(address => uint256)) internal balanceOf;
    uint256 internal consumed;
    /// @notice Per appended batch: its header and the (key, value) pairs of its state.
    BatchHeader[] internal headers;
    mapping(uint256 => uint256[]) internal batchKeys;
    mapping(uint256 => uint256[]) internal batchValues;

    mapping(address => uint256) public ghost_in;
    mapping(address => uint256) public ghost_out;
    uint256 public escapes;
    uint256 public refunds;

    constructor(EscapeInvariantsTest t_, L1Bridge bridge_, StateCommitment sc_, address erc20) {
        t = t_;
        bridge = bridge_;
        sc = sc_;
        tokens = [address(0), erc20];
        for (uint256 i = 0; i < 4; i++) {
            actors[i] = address(uint160(0xAC7000 + i));
            vm.deal(actors[i], 1_000_000 ether);
            TestToken(erc20).mint(actors[i], 1_000_000 ether);
            vm.prank(actors[i]);
            TestToken(erc20).approve(address(bridge_), type(uint256).max);
        }
    }

    function token(uint256 i) external view returns (address) {
        return tokens[i];
    }

    function deposit(uint256 actorSeed, uint256 tokenSeed, uint256 amount) external {
        if (sc.frozenAt() != 0) return;
        address a = actors[actorSeed % 4];
        address tok = tokens[tokenSeed % 2];
        amount = 1 + (amount % 100 ether);
        vm.prank(a);
        if (tok == address(0)) bridge.depositETH{value: amount}(a);
        else bridge.depositERC20(tok, a, amount);
        deps.push(Dep(a, tok, amount));
        ghost_in[tok] += amount;
    }

    function appendBatch() external {
        if (sc.frozenAt() != 0) return;
        for (; consumed < deps.length; consumed++) {
            balanceOf[deps[consumed].sender][deps[consumed].token] += deps[consumed].amount;
        }
        uint256 index = sc.nextIndex();
        for (uint256 i = 0; i < 4; i++) {
            for (uint256 j = 0; j < 2; j++) {
                uint256 v = balanceOf[actors[i]][tokens[j]];
                if (v == 0) continue;
                batchKeys[index].push(uint256(keccak256(abi.encode(uint256(1), actors[i], tokens[j]))));
                batchValues[index].push(v);
            }
        }
        StateTreeBuilder.Built memory b = StateTreeBuilder.build(batchKeys[index], batchValues[index]);
        headers.push(t.appendFor(consumed, keccak256(abi.encode(b.root, b.size, consumed))));
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + 1 + (secs % 8 days));
        vm.roll(block.number + 1);
    }

    function freeze() external {
        try sc.freeze() {} catch {}
    }

    /// @dev Index + 1 of the last final batch (0: none).
    function lastFinal() public view returns (uint256) {
        uint256 n = 0;
        while (n < headers.length && sc.isFinalized(n)) n++;
        return n;
    }

    function escape(uint256 actorSeed, uint256 tokenSeed) external {
        if (sc.frozenAt() == 0) return;
        uint256 f = lastFinal();
        if (f == 0) return;
        address a = actors[actorSeed % 4];
        address tok = tokens[tokenSeed % 2];
        EscapeProof memory p;
        p.header = headers[f - 1];
        StateTreeBuilder.Built memory b = StateTreeBuilder.build(batchKeys[f - 1], batchValues[f - 1]);
        p.treeRoot = b.root;
        p.size = b.size;
        p.nextDepositId = p.header.depositCount;
        uint256 key = uint256(keccak256(abi.encode(uint256(1), a, tok)));
        p.witness = StateTreeBuilder.witness(b, key);
        uint256 bal = p.witness.leafKey == key ? p.witness.leafValue : 0;
        if (bal == 0 || bridge.escaped(key)) return;
        bridge.escape(a, tok, bal, p);
        ghost_out[tok] += bal;
        escapes++;
    }

    function refund(uint256 depSeed) external {
        if (sc.frozenAt() == 0 || deps.length == 0) return;
        uint256 f = lastFinal();
        uint256 from = f == 0 ? 0 : headers[f - 1].depositCount;
        if (from >= deps.length) return;
        uint256 id = from + (depSeed % (deps.length - from));
        if (bridge.refunded(id)) return;
        Dep memory d = deps[id];
        bridge.refundDeposit(f == 0 ? headers.length > 0 ? headers[0] : _none() : headers[f - 1], id, d.sender, d.sender, d.token, d.amount);
        ghost_out[d.token] += d.amount;
        refunds++;
    }

    /// @notice True once the rollup is frozen and every balance and refundable deposit left.
    function allLeft() external view returns (bool) {
        if (sc.frozenAt() == 0) return false;
        uint256 f = lastFinal();
        uint256 from = f == 0 ? 0 : headers[f - 1].depositCount;
        for (uint256 id = from; id < deps.length; id++) {
            if (!bridge.refunded(id)) return false;
        }
        if (f == 0) return true;
        uint256[] storage keys = batchKeys[f - 1];
        for (uint256 i = 0; i < keys.length; i++) {
            if (!bridge.escaped(keys[i])) return false;
        }
        return true;
    }

    function _none() private pure returns (BatchHeader memory h) {}
}

/// @notice Solvency of the escape hatch with the production wiring.
contract EscapeInvariantsTest is ProductionFixture {
    EscapeHandler internal handler;
    TestToken internal erc20;

    function setUp() public override {
        super.setUp();
        erc20 = new TestToken("Test", "TT");
        handler = new EscapeHandler(this, bridge, sc, address(erc20));
        targetContract(address(handler));
        bytes4[] memory s = new bytes4[](6);
        s[0] = EscapeHandler.deposit.selector;
        s[1] = EscapeHandler.appendBatch.selector;
        s[2] = EscapeHandler.warp.selector;
        s[3] = EscapeHandler.freeze.selector;
        s[4] = EscapeHandler.escape.selector;
        s[5] = EscapeHandler.refund.selector;
        targetSelector(FuzzSelector(address(handler), s));
    }

    /// @notice The handler's batch: consumes `count` queue items with final state root `root`.
    function appendFor(uint256 count, bytes32 root) external returns (BatchHeader memory h) {
        h = _header(sc.nextIndex(), 1, root);
        h.depositCount = uint64(count);
        h.depositHash = bridge.depositHashAt(count);
        h.finalStateRoot = root;
        _appendBy(h);
    }

    /// @custom:invariant The bridge never pays out more of a token than was locked in it, and
    ///                   holds exactly what went in minus what came out.
    function invariant_paidNeverExceedsLocked() public view {
        for (uint256 i = 0; i < 2; i++) {
            address tok = handler.token(i);
            assertLe(handler.ghost_out(tok), handler.ghost_in(tok), "paid <= locked");
            uint256 held = tok == address(0) ? address(bridge).balance : erc20.balanceOf(address(bridge));
            assertEq(held, handler.ghost_in(tok) - handler.ghost_out(tok), "holds in - out");
            assertEq(bridge.locked(tok), held, "locked = held");
        }
    }

    /// @custom:invariant Once frozen and every user has left (escaped or refunded), the bridge
    ///                   holds nothing.
    function invariant_emptyWhenAllLeft() public view {
        if (!handler.allLeft()) return;
        assertEq(address(bridge).balance, 0, "ETH left behind");
        assertEq(erc20.balanceOf(address(bridge)), 0, "ERC20 left behind");
    }
}
