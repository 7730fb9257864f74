"""Per-network defaults that depend on how a chain reorganises.

``default_confirmations(chain_id)``: how many L1 blocks an agent trails the head by before it
acts on an event that changes L2 state (the node consuming a deposit). Ethereum mainnet: 6
(beyond the one- and two-block reorgs seen after the merge; op-node's sequencer trails L1 by 4
by default); public testnets: 4; any other chain: 6. A local dev chain (Anvil / Hardhat, chain
id 31337 or 1337): 2, so a depth-1 reorg never removes a consumed deposit there either. The
devnet's Anvil (``offchain/devnet.py``) therefore also mines an empty block every
``devnet.block_time_s`` (1 s; mixed mining: transactions still mine at once), and tests on an
Anvil that mines only on transactions mine the confirmations themselves (``evm_mine``).
"""

from __future__ import annotations

MAINNET = 1
TESTNETS = frozenset({11155111, 17000, 560048})  # Sepolia, Holesky, Hoodi
LOCAL_DEV_CHAINS = frozenset({31337, 1337})

MAINNET_CONFIRMATIONS = 6
TESTNET_CONFIRMATIONS = 4
LOCAL_DEV_CONFIRMATIONS = 2
UNKNOWN_CONFIRMATIONS = 6


def default_confirmations(chain_id: int) -> int:
    """The default confirmation depth on chain ``chain_id`` (see the module docstring)."""
    if chain_id in LOCAL_DEV_CHAINS:
        return LOCAL_DEV_CONFIRMATIONS
    if chain_id == MAINNET:
        return MAINNET_CONFIRMATIONS
    if chain_id in TESTNETS:
        return TESTNET_CONFIRMATIONS
    return UNKNOWN_CONFIRMATIONS
