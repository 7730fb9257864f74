"""Parameters of governance: Governor voting settings, Timelock delay, devnet voters, treasury.

Field defaults are production-like (1 day voting delay, 1 week voting period, in 12 s blocks;
a 2 day timelock on the fast lane (kicks) and a 30 day exit window for every other call). On a
local Anvil chain :meth:`GovernanceParams.effective` swaps in the short ``devnet_*`` values
(1 block delay, 10 block period, 2 s timelock and exit window).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from offchain.staking.config import ANVIL_CHAIN_ID

EXIT_WINDOW_MIN_S = 30 * 24 * 3600
"""Least exit window off a devnet (L2BEAT's Stage 2 bar)."""
MAX_CHALLENGE_WINDOW_S = 21 * 24 * 3600
"""``StateCommitment.MAX_CHALLENGE_WINDOW``: the longest challenge window governance can set."""


@dataclass
class GovernanceParams:
    """Governor and Timelock parameters (units in the names)."""

    voting_delay_blocks: int = 7_200
    voting_period_blocks: int = 50_400
    proposal_threshold_tokens: int = 1_000
    quorum_percent: int = 4
    timelock_delay_s: int = 2 * 24 * 3600  # the fast lane: LockingPool.kick
    exit_window_s: int = EXIT_WINDOW_MIN_S  # every other call (L2BEAT Stage 2: >= 30 days)
    guardian_address: str = ""  # may pause the LockingPool at once, for 7 days at most ("": none)
    treasury_tokens: int = 1_000_000  # minted to the Timelock: the compensation treasury
    # Local devnet (chain id 31337).
    devnet_short_timings: bool = True
    devnet_voting_delay_blocks: int = 1
    devnet_voting_period_blocks: int = 10
    devnet_timelock_delay_s: int = 2
    devnet_exit_window_s: int = 2
    devnet_voter_accounts: list[int] = field(default_factory=lambda: [0, 5, 6, 7])
    devnet_voter_tokens: int = 1_000_000

    def effective(self, chain_id: int) -> GovernanceParams:
        """These parameters with the devnet values applied on a local Anvil chain."""
        if chain_id != ANVIL_CHAIN_ID or not self.devnet_short_timings:
            return replace(self)
        return replace(
            self,
            voting_delay_blocks=self.devnet_voting_delay_blocks,
            voting_period_blocks=self.devnet_voting_period_blocks,
            timelock_delay_s=self.devnet_timelock_delay_s,
            exit_window_s=self.devnet_exit_window_s,
        )
