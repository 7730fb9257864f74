// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title EmethToken
/// @notice The EMETH ERC20: requesters pay for compute in it, nodes post it as collateral, and
///         EmethCore burns it for penalties. The owner mints (the devnet faucet; governance after
///         the handoff to the Timelock).
contract EmethToken is ERC20, ERC20Burnable, Ownable {
    /// @param initialOwner the minter (the deployer on a devnet; the Timelock after handoff).
    constructor(address initialOwner) ERC20("EMETH", "EMT") Ownable(initialOwner) {}

    /// @notice Mint `amount` to `to`.
    /// @param to     recipient.
    /// @param amount base units (18 decimals).
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
