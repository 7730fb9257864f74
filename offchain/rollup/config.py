"""Parameters of the rollup's L1 contracts (StateCommitment, DA challenge, fraud proof)."""

from __future__ import annotations

from dataclasses import dataclass

DAY_S = 24 * 3600


@dataclass
class RollupParams:
    """Rollup L1 parameters. The defaults are the devnet's (seconds); production values are in
    :data:`PRODUCTION`.

    Attributes:
        challenge_window_s: seconds after appending before a batch is final (seed: 7 days).
        da_window_s: seconds the sequencer has to answer a data request (seed: 24 hours).
        da_fee_wei: fee (bond) a verifier pays with a data request.
        da_slash_amount: stake slashed when a data request ends in a mismatch or a timeout.
        fraud_slash_amount: stake slashed on a proven fraud.
        genesis_state_root: L2 state root before batch 0 (hex; empty = the ledger's empty state).
    """

    challenge_window_s: int = 20
    da_window_s: int = 10
    da_fee_wei: int = 10**16
    da_slash_amount: int = 1_000 * 10**18
    fraud_slash_amount: int = 1_000 * 10**18
    genesis_state_root: str = ""


PRODUCTION = RollupParams(
    challenge_window_s=7 * DAY_S,
    da_window_s=DAY_S,
    da_fee_wei=10**17,
)
