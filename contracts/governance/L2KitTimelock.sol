// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title L2KitTimelock
/// @notice The TimelockController that owns every l2kit admin function and holds the treasury
///         (L2KitToken balance) from which governance pays compensation.
/// @dev    Plain OpenZeppelin TimelockController, named so its artifact is unambiguous.
contract L2KitTimelock is TimelockController {
    /// @param minDelay  seconds between queue and execute
    /// @param proposers accounts allowed to queue (the Governor)
    /// @param executors accounts allowed to execute (address(0): anyone)
    /// @param admin     optional bootstrap admin (address(0): none)
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
