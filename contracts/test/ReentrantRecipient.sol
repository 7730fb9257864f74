// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ReentrantRecipient
/// @notice Test helper: when paid ETH, replays a stored call into the bridge (must fail).
contract ReentrantRecipient {
    address public target;
    bytes public payload;
    bool public reentered;
    bool public reentryFailed;

    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
    }

    receive() external payable {
        if (target == address(0) || reentered) return;
        reentered = true;
        (bool ok,) = target.call(payload);
        reentryFailed = !ok;
    }
}
