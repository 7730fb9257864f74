"""Per-network defaults that depend on how a chain reorganises.

``default_confirmations(chain_id)``: how many L1 blocks an agent trails the head by before it
acts on an event that changes L2 state (the node consuming a deposit). Ethereum mainnet: 6
(beyond the one- and two-block reorgs seen after the merge; op-node's sequencer trails L1 by 4
by default); public testnets: 4; any other chain: 6. A local dev chain (Anvil / Hardhat, chain
id 31337 or 1337) mines only when it gets a transaction, so any non-zero depth would stall an
idle devnet: it defaults to 0 (set ``deposit_confirmations`` and run Anvil with
``--block-time`` to exercise confirmations there).
"""

from __future__ import annotations

MAINNET = 1
TESTNETS = frozenset({11155111, 17000, 560048})  # Sepolia, Holesky, Hoodi
LOCAL_DEV_CHAINS = frozenset({31337, 1337})

MAINNET_CONFIRMATIONS = 6
TESTNET_CONFIRMATIONS = 4
UNKNOWN_CONFIRMATIONS = 6


def default_confirmations(chain_id: int) -> int:
    """The default confirmation depth on chain ``chain_id`` (see the module docstring)."""
    if chain_id in LOCAL_DEV_CHAINS:
        return 0
    if chain_id == MAINNET:
        return MAINNET_CONFIRMATIONS
    if chain_id in TESTNETS:
        return TESTNET_CONFIRMATIONS
    return UNKNOWN_CONFIRMATIONS
