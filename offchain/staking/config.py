"""Parameters of the staking domain: token, LockingPool, SequencerSet, devnet sequencers.

Field defaults are the production values of the seeds (21-day withdrawal delay, 1-minute
heartbeat timeout, 20,000..100,000 token stakes). On a local Anvil chain (chain id 31337)
:meth:`StakingParams.effective` swaps in the short ``devnet_*`` timings, so a devnet rotates
and fails over in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

ANVIL_CHAIN_ID = 31337
TOKEN = 10**18  # 18 decimals


@dataclass
class StakingParams:
    """Staking token, LockingPool and SequencerSet parameters (units in the names)."""

    token_name: str = "L2Kit Token"
    token_symbol: str = "L2K"
    min_lock_tokens: int = 20_000
    max_lock_tokens: int = 100_000
    max_sequencers: int = 21
    withdrawal_delay_s: int = 21 * 24 * 3600
    signer_update_interval_s: int = 24 * 3600
    reward_per_block_wei: int = TOKEN  # 1 token per L2 block of a recorded batch
    slash_beneficiary_bps: int = 5_000  # 50% to the beneficiary, 50% burned
    epoch_length_s: int = 3600
    heartbeat_timeout_s: int = 60
    # SequencerSet.missLimit: a member absent from this many consecutive batches' co-signing
    # (their signed absence bitmaps) is kicked without a slash (0: never).
    miss_limit_batches: int = 50
    # Local devnet (chain id 31337): short timings and four locked sequencers.
    devnet_short_timings: bool = True
    devnet_withdrawal_delay_s: int = 30
    devnet_signer_update_interval_s: int = 10
    devnet_epoch_length_s: int = 30
    devnet_heartbeat_timeout_s: int = 5
    devnet_sequencer_accounts: list[int] = field(default_factory=lambda: [1, 2, 3, 4])
    devnet_stakes_tokens: list[int] = field(
        default_factory=lambda: [20_000, 30_000, 40_000, 50_000]
    )
    devnet_owner_balance_tokens: int = 100_000  # extra tokens each sequencer owner gets (relock)
    reward_fund_tokens: int = 1_000_000

    def effective(self, chain_id: int) -> StakingParams:
        """These parameters, with the devnet timings applied on a local Anvil chain.

        Args:
            chain_id: chain id of the L1 being deployed to.

        Returns:
            A copy with ``withdrawal_delay_s``, ``signer_update_interval_s``,
            ``epoch_length_s`` and ``heartbeat_timeout_s`` replaced on chain 31337.
        """
        if chain_id != ANVIL_CHAIN_ID or not self.devnet_short_timings:
            return replace(self)
        return replace(
            self,
            withdrawal_delay_s=self.devnet_withdrawal_delay_s,
            signer_update_interval_s=self.devnet_signer_update_interval_s,
            epoch_length_s=self.devnet_epoch_length_s,
            heartbeat_timeout_s=self.devnet_heartbeat_timeout_s,
        )

    def pool_params(self) -> tuple[int, int, int, int, int, int, int]:
        """The ``LockingPool.Params`` struct, in field order."""
        return (
            self.min_lock_tokens * TOKEN,
            self.max_lock_tokens * TOKEN,
            self.max_sequencers,
            self.withdrawal_delay_s,
            self.signer_update_interval_s,
            self.reward_per_block_wei,
            self.slash_beneficiary_bps,
        )
