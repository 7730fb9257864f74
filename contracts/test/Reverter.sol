// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Reverter
/// @notice Test helper: reverts in each of the ways the chain client must decode.
contract Reverter {
    /// @notice Thrown by {failCustom}.
    error ReverterCustom(address who, uint256 amount);

    /// @notice Emitted by {poke}.
    event Poked(uint256 indexed id, address indexed by);

    uint256 public pokes;

    /// @notice Emits {Poked}; used to test log following.
    function poke() external {
        pokes += 1;
        emit Poked(pokes, msg.sender);
    }

    /// @notice Reverts with {ReverterCustom}.
    function failCustom(uint256 amount) external view {
        revert ReverterCustom(msg.sender, amount);
    }

    /// @notice Reverts with a reason string.
    function failString() external pure {
        revert("Reverter: plain reason");
    }
}
