"""Deploy step (after staking): StateCommitment and the challenge contracts.

Address keys: ``state_commitment``, ``da_challenge``, ``fraud_prover``. The contracts are
authorised on the SequencerSet (``setRollup``: recordBatch/punish) and, for the challenge
contracts, on StateCommitment (``setChallenger``). The bridge step sets the bridge address.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from offchain.rollup.l1.bindings import DataMode
from offchain.rollup.ledger.state import State

if TYPE_CHECKING:
    from offchain.deploy import DeployContext


def deploy(ctx: DeployContext) -> None:
    """Deploy ``StateCommitment``, ``DataAvailabilityChallenge`` and ``FraudProver``.

    Args:
        ctx: the deploy context; ``sequencer_set`` must be deployed (staking step).

    Raises:
        ConfigError: the staking step has not run.
    """
    p = ctx.config.rollup.effective(ctx.chain.chain_id)
    me = ctx.sender.address
    seqset = ctx.at("sequencer_set")
    genesis = State().root
    sc = ctx.deploy(
        "state_commitment",
        "StateCommitment",
        me,
        seqset.address,
        genesis,
        p.challenge_window_s,
        p.freeze_after_s,
    )
    da = ctx.deploy(
        "da_challenge",
        "DataAvailabilityChallenge",
        me,
        sc.address,
        seqset.address,
        p.da_window_s,
        p.da_fee_wei,
        p.da_slash_amount,
    )
    if p.da_fee_per_tx_wei:
        ctx.send(da.functions.setRequestFeePerTx(p.da_fee_per_tx_wei))
    challengers = [da]
    if _has_artifact(ctx, "FraudProver"):
        fp = ctx.deploy(
            "fraud_prover",
            "FraudProver",
            me,
            sc.address,
            seqset.address,
            p.l2_chain_id,
            p.fraud_slash_amount,
        )
        challengers.append(fp)
    ctx.send(seqset.functions.setRollup(sc.address, True))
    for c in challengers:
        ctx.send(sc.functions.setChallenger(c.address, True))
        ctx.send(seqset.functions.setRollup(c.address, True))
    mode = DataMode.parse(p.da_mode)
    if mode != DataMode.STORAGE:
        ctx.send(sc.functions.setDataMode(int(mode)))
    ctx.log(
        f"  challenge window {p.challenge_window_s}s, data window {p.da_window_s}s, "
        f"data mode {mode.name.lower()}"
    )


def _has_artifact(ctx: DeployContext, name: str) -> bool:
    return name in ctx.chain.artifacts.names()
