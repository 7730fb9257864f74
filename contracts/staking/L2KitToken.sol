// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/// @title L2KitToken
/// @notice The l2kit staking and governance token: sequencers lock it in the LockingPool,
///         holders vote with it (after delegating) in the Governor. Slashed stake is partly burned.
/// @dev    Minting is reserved to the owner (the devnet faucet; the Timelock after governance
///         takes over). Voting power is checkpointed by block number (ERC20Votes default clock).
contract L2KitToken is ERC20, ERC20Burnable, ERC20Permit, ERC20Votes, Ownable {
    /// @param name_   token name (also the EIP-712 domain name of permits)
    /// @param symbol_ token symbol
    /// @param owner_  account allowed to mint
    constructor(string memory name_, string memory symbol_, address owner_)
        ERC20(name_, symbol_)
        ERC20Permit(name_)
        Ownable(owner_)
    {}

    /// @notice Mint `amount` tokens to `to` (devnet faucet / governance).
    /// @param to     recipient
    /// @param amount amount in wei units (18 decimals)
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @inheritdoc ERC20
    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }

    /// @inheritdoc Nonces
    function nonces(address owner_) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner_);
    }
}
