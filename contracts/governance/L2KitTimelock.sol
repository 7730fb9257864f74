// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title L2KitTimelock
/// @notice The TimelockController that owns every l2kit admin function and holds the treasury
///         (L2KitToken balance) from which governance pays compensation.
/// @notice Two lanes (issue #10, attack 5; docs/spec.md "What governance can and cannot do"): a
///         call on the fast lane (a `(target, selector)` fixed at deployment: kicking a sequencer,
///         which neither moves funds nor changes finality) waits {getMinDelay}; every other call
///         waits at least {exitWindow} (production 30 days, L2BEAT's Stage 2 bar), longer than a
///         user's full withdrawal path, so a user who sees `CallScheduled` leaves before it acts.
///         A batch waits for its slowest call. The lanes and the exit window cannot be changed.
/// @dev    OpenZeppelin TimelockController with {schedule} / {scheduleBatch} raising the delay
///         the proposer asked for to the lane's; {delayOf} / {batchDelay} tell the Governor the ETA.
contract L2KitTimelock is TimelockController {
    /// @notice Least delay of every call off the fast lane (seconds).
    uint256 public immutable exitWindow;

    /// @notice Whether `selector` on `target` is on the fast lane.
    mapping(address target => mapping(bytes4 selector => bool)) public isFastLane;

    /// @notice The exit window is shorter than the minimum delay.
    error L2KitTimelockExitWindowTooShort(uint256 exitWindow, uint256 minDelay);
    /// @notice The fast-lane lists have different lengths.
    error L2KitTimelockFastLaneLength(uint256 targets, uint256 selectors);

    /// @notice `selector` on `target` waits only the minimum delay.
    event FastLaneSet(address indexed target, bytes4 indexed selector);

    /// @param minDelay      seconds between queue and execute on the fast lane
    /// @param exitWindow_   least seconds between queue and execute of every other call
    /// @param fastTargets   targets of the fast-lane calls (pairs with `fastSelectors`)
    /// @param fastSelectors selectors of the fast-lane calls
    /// @param proposers     accounts allowed to queue (the Governor)
    /// @param executors     accounts allowed to execute (address(0): anyone)
    /// @param admin         optional bootstrap admin (address(0): none)
    constructor(
        uint256 minDelay,
        uint256 exitWindow_,
        address[] memory fastTargets,
        bytes4[] memory fastSelectors,
        address[] memory proposers,
        address[] memory executors,
        address admin
    ) TimelockController(minDelay, proposers, executors, admin) {
        if (exitWindow_ < minDelay) revert L2KitTimelockExitWindowTooShort(exitWindow_, minDelay);
        if (fastTargets.length != fastSelectors.length) {
            revert L2KitTimelockFastLaneLength(fastTargets.length, fastSelectors.length);
        }
        exitWindow = exitWindow_;
        for (uint256 i = 0; i < fastTargets.length; i++) {
            isFastLane[fastTargets[i]][fastSelectors[i]] = true;
            emit FastLaneSet(fastTargets[i], fastSelectors[i]);
        }
    }

    /// @notice The least delay of the call `data` on `target`: the minimum delay on the fast lane,
    ///         else the larger of it and the exit window.
    function delayOf(address target, bytes calldata data) public view returns (uint256) {
        uint256 minDelay = getMinDelay();
        if (data.length >= 4 && isFastLane[target][bytes4(data[:4])]) return minDelay;
        return exitWindow > minDelay ? exitWindow : minDelay;
    }

    /// @notice The least delay of a batch: that of its slowest call.
    function batchDelay(address[] calldata targets, bytes[] calldata payloads) public view returns (uint256 delay) {
        delay = getMinDelay();
        for (uint256 i = 0; i < targets.length && i < payloads.length; i++) {
            uint256 d = delayOf(targets[i], payloads[i]);
            if (d > delay) delay = d;
        }
    }

    /// @inheritdoc TimelockController
    /// @dev The delay is raised to {delayOf} the call.
    function schedule(
        address target,
        uint256 value,
        bytes calldata data,
        bytes32 predecessor,
        bytes32 salt,
        uint256 delay
    ) public override {
        uint256 least = delayOf(target, data);
        super.schedule(target, value, data, predecessor, salt, delay > least ? delay : least);
    }

    /// @inheritdoc TimelockController
    /// @dev The delay is raised to {batchDelay}.
    function scheduleBatch(
        address[] calldata targets,
        uint256[] calldata values,
        bytes[] calldata payloads,
        bytes32 predecessor,
        bytes32 salt,
        uint256 delay
    ) public override {
        uint256 least = batchDelay(targets, payloads);
        super.scheduleBatch(targets, values, payloads, predecessor, salt, delay > least ? delay : least);
    }
}
