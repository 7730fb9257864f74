// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, console} from "../utils/Test.sol";
import {ProductionFixture} from "../attacks/ProductionFixture.sol";
import {LockingPool} from "../../../contracts/staking/LockingPool.sol";
import {StateCommitment} from "../../../contracts/rollup/StateCommitment.sol";
import {DataMode} from "../../../contracts/rollup/BatchHeader.sol";
import {L2KitToken} from "../../../contracts/staking/L2KitToken.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @notice Drives the production Governor + L2KitTimelock (ProductionFixture) with random
///         proposals of one to three calls drawn from a menu of powers (the fast-lane kick and
///         slow-lane setters, mints, the Timelock's own delay) and random attempts to execute
///         them at random times. Its model of the lanes: a proposal whose calls are all kicks
///         waits the minimum delay in force when it was queued, any other at least the 30-day
///         exit window (and the minimum delay if longer).
contract GovernanceHandler is ProductionFixture {
    struct Queued {
        address[] targets;
        uint256[] values;
        bytes[] calldatas;
        bytes32 descriptionHash;
        uint256 id;
        uint256 queuedAt;
        uint256 required; // the model's least delay
        uint256 newMinDelay; // an updateDelay in it (0: none)
        bool executed;
    }

    Queued[] internal _queued;
    /// @notice The minimum delay the model believes in force.
    uint256 public modelMinDelay;
    /// @notice Executions earlier than the model's lane allows (must stay 0).
    uint256 public ghost_earlyExecutions;
    /// @notice Proposals whose ETA is not queue time + the model's least delay (must stay 0).
    uint256 public ghost_wrongEta;
    uint256 public n_queued;
    uint256 public n_fastQueued;
    uint256 public n_executed;
    uint256 public n_fastExecuted;
    uint256 public n_refusedEarly;

    constructor() {
        setUp();
        modelMinDelay = timelock.getMinDelay();
    }

    /// @notice Propose, vote and queue one to three calls chosen by `menu` (3 bits each).
    function propose(uint256 menu, uint256 arg) external {
        uint256 n = 1 + (menu % 3);
        menu /= 3;
        address[] memory t = new address[](n);
        uint256[] memory v = new uint256[](n);
        bytes[] memory c = new bytes[](n);
        bool allFast = true;
        uint256 newMinDelay = 0;
        for (uint256 i = 0; i < n; i++) {
            uint256 pick = menu % 7;
            menu /= 7;
            (t[i], c[i]) = _call(pick, arg >> (i * 16));
            if (pick != 0) allFast = false;
            if (pick == 6) newMinDelay = bound(arg >> (i * 16), 1 hours, 3 days);
        }
        string memory description = string(abi.encodePacked("p", vm.toString(_queued.length)));
        vm.prank(VOTER);
        uint256 id = governor.propose(t, v, c, description);
        vm.roll(block.number + governor.votingDelay() + 1);
        vm.prank(VOTER);
        governor.castVote(id, 1);
        vm.roll(block.number + governor.votingPeriod() + 1);
        bytes32 dh = keccak256(bytes(description));
        governor.queue(t, v, c, dh);
        uint256 required = allFast ? modelMinDelay : (EXIT_WINDOW > modelMinDelay ? EXIT_WINDOW : modelMinDelay);
        if (governor.proposalEta(id) != block.timestamp + required) ghost_wrongEta++;
        _queued.push(Queued(t, v, c, dh, id, block.timestamp, required, newMinDelay, false));
        n_queued++;
        if (allFast) n_fastQueued++;
    }

    /// @notice Let up to 40 days pass, then try to execute queued proposal `which`.
    function execute(uint256 which, uint256 dt) external {
        if (_queued.length == 0) return;
        Queued storage q = _queued[which % _queued.length];
        vm.warp(block.timestamp + bound(dt, 0, 40 days));
        vm.roll(block.number + 1);
        if (q.executed) return;
        try governor.execute(q.targets, q.values, q.calldatas, q.descriptionHash) {
            q.executed = true;
            n_executed++;
            if (q.required < EXIT_WINDOW) n_fastExecuted++;
            if (block.timestamp < q.queuedAt + q.required) ghost_earlyExecutions++;
            if (q.newMinDelay != 0) modelMinDelay = q.newMinDelay;
        } catch {
            if (block.timestamp < q.queuedAt + q.required) n_refusedEarly++;
        }
    }

    /// @dev Menu: 0 kick (fast lane), 1 reward per block, 2 a challenger, 3 a mint, 4 the data
    ///      mode, 5 the guardian, 6 the Timelock's minimum delay.
    function _call(uint256 pick, uint256 arg) internal view returns (address, bytes memory) {
        if (pick == 0) return (address(pool), abi.encodeCall(LockingPool.kick, (vm.addr(1 + (arg % 4)))));
        if (pick == 1) return (address(pool), abi.encodeCall(LockingPool.setRewardPerBlock, (arg % 10 ether)));
        if (pick == 2) {
            return (address(sc), abi.encodeCall(StateCommitment.setChallenger, (address(uint160(arg)), true)));
        }
        if (pick == 3) return (address(token), abi.encodeCall(L2KitToken.mint, (address(uint160(arg)), 1 ether)));
        if (pick == 4) return (address(sc), abi.encodeCall(StateCommitment.setDataMode, (DataMode(arg % 3))));
        if (pick == 5) return (address(pool), abi.encodeCall(LockingPool.setGuardian, (address(uint160(arg)))));
        return (address(timelock), abi.encodeCall(TimelockController.updateDelay, (bound(arg, 1 hours, 3 days))));
    }

    function printCounts() external view {
        console.log("queued", n_queued);
        console.log("queued (all kicks)", n_fastQueued);
        console.log("executed", n_executed);
        console.log("executed (all kicks)", n_fastExecuted);
        console.log("refused before the lane's delay", n_refusedEarly);
    }
}

/// @notice Invariants of the Governor + L2KitTimelock lanes under random proposals and random
///         execution times (issue #10, attack 5).
contract GovernanceInvariantsTest is Test {
    GovernanceHandler internal h;

    function setUp() public {
        h = new GovernanceHandler();
        targetContract(address(h));
        bytes4[] memory s = new bytes4[](3);
        s[0] = GovernanceHandler.propose.selector;
        s[1] = GovernanceHandler.execute.selector;
        s[2] = GovernanceHandler.execute.selector; // executions twice as likely
        targetSelector(FuzzSelector(address(h), s));
    }

    function afterInvariant() external view {
        h.printCounts();
    }

    /// @custom:invariant No proposal executes before its lane's delay: the minimum delay when
    ///                   every call is a kick, at least the 30-day exit window otherwise.
    function invariant_noPowerActsBeforeItsLane() public view {
        assertEq(h.ghost_earlyExecutions(), 0, "a proposal executed before its lane's delay");
    }

    /// @custom:invariant The Governor reports the ETA the Timelock enforces (queue time + lane).
    function invariant_etaIsTheLanesDelay() public view {
        assertEq(h.ghost_wrongEta(), 0, "a proposal's ETA is not its lane's");
    }
}
