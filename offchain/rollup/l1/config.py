"""Parameters of the rollup's L1 contracts (StateCommitment, DA challenge, fraud proof).

Field defaults are the seeds' production values (7-day challenge window, 24-hour data window);
on a local Anvil chain (chain id 31337) :meth:`RollupParams.effective` swaps in the short
``devnet_*`` windows, so a devnet finalizes and resolves challenges in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from offchain.rollup.ledger.tx import DEFAULT_L2_CHAIN_ID

ANVIL_CHAIN_ID = 31337
DAY_S = 24 * 3600
TOKEN = 10**18


@dataclass
class RollupParams:
    """Rollup L1 parameters (units in the names; slash amounts in staking-token wei).

    Attributes:
        challenge_window_s: seconds after appending before a batch is final (seed: 7 days).
        da_window_s: seconds the sequencer has to answer a data request (seed: 24 hours).
        da_fee_wei: fee (bond) a verifier pays with a data request.
        da_fee_per_tx_wei: bond added per transaction of the requested batch, so that the bond
            covers the chunked answer's gas (~6,700 gas per transaction: the default covers it at
            up to ~2.7 gwei).
        da_slash_amount: stake slashed when a data request ends in a mismatch or a timeout.
        fraud_slash_amount: stake slashed on a proven fraud.
        l2_chain_id: the L2 chain id (EIP-712 domain of L2 transactions).
        devnet_challenge_window_s: challenge window on a local Anvil chain.
        devnet_da_window_s: data window on a local Anvil chain.
        force_inclusion_window_s: seconds a forced L2 transaction may wait in the L1 queue
            before every batch must have consumed it (Arbitrum's 24 hours).
        freeze_after_s: seconds without a batch, while queue items wait, before anyone may
            freeze the rollup and open the escape hatch (7 days).
        devnet_force_inclusion_window_s: the forced-inclusion window on a local Anvil chain.
        devnet_freeze_after_s: the freeze delay on a local Anvil chain.
        da_mode: where batches publish their data: ``storage`` (blob store, L1 on request),
            ``blobs`` (EIP-4844 blobs) or ``calldata`` (docs/spec.md, "Data availability modes").
    """

    challenge_window_s: int = 7 * DAY_S
    da_window_s: int = DAY_S
    da_fee_wei: int = 10**16
    da_fee_per_tx_wei: int = 18_000 * 10**9
    da_slash_amount: int = 10_000 * TOKEN
    fraud_slash_amount: int = 20_000 * TOKEN
    l2_chain_id: int = DEFAULT_L2_CHAIN_ID
    devnet_challenge_window_s: int = 20
    devnet_da_window_s: int = 10
    da_mode: str = "storage"
    force_inclusion_window_s: int = DAY_S
    freeze_after_s: int = 7 * DAY_S
    devnet_force_inclusion_window_s: int = 10
    devnet_freeze_after_s: int = 60

    def effective(self, chain_id: int) -> RollupParams:
        """These parameters with the devnet windows applied on a local Anvil chain.

        Args:
            chain_id: chain id of the L1 being deployed to.

        Returns:
            A copy with ``challenge_window_s`` and ``da_window_s`` replaced on chain 31337.
        """
        if chain_id != ANVIL_CHAIN_ID:
            return replace(self)
        return replace(
            self,
            challenge_window_s=self.devnet_challenge_window_s,
            da_window_s=self.devnet_da_window_s,
            force_inclusion_window_s=self.devnet_force_inclusion_window_s,
            freeze_after_s=self.devnet_freeze_after_s,
        )
