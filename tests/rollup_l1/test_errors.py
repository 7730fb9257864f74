"""The remaining custom errors of the rollup L1 contracts, each with its offending values."""

from __future__ import annotations

from typing import Any

from offchain.bridge.types import ETH, Withdrawal
from offchain.chain.accounts import dev_account
from offchain.common import merkle
from offchain.common.hashing import keccak
from offchain.rollup.ledger.fraud import SummaryWitness
from tests.rollup_l1.conftest import DA_FEE, DA_WINDOW_S, WINDOW_S, Env

VERIFIER = dev_account(13)


def test_state_commitment_data_request_state(env: Env, expect_revert: Any) -> None:
    env.append(env.header(0))
    s = env.chain.sender(env.owner)
    sc = env.sc(env.owner).sc
    s.send(sc.functions.setChallenger(env.owner.address, True))
    s.send(sc.functions.setDataRequest(0, True))
    err = expect_revert(
        "StateCommitmentDataRequestState", s.send, sc.functions.setDataRequest(0, True)
    )
    assert err.error_args == (0, True)
    s.send(sc.functions.setDataRequest(0, False))
    s.send(sc.functions.setDataRequest(0, False))  # closing twice is a no-op
    assert sc.functions.openDataRequests().call() == []


def test_da_params_claim_and_gas_floor(
    env: Env, expect_revert: Any, expect_call_revert: Any
) -> None:
    da = env.contract("DataAvailabilityChallenge", "da_challenge")
    s = env.chain.sender(env.owner)
    err = expect_revert(
        "DataAvailabilityChallengeBadParams", s.send, da.functions.setParams(0, DA_FEE, 1)
    )
    assert err.error_args == (0, 1)
    expect_revert(
        "DataAvailabilityChallengeBadParams", s.send, da.functions.setParams(5, DA_FEE, 0)
    )
    s.send(da.functions.setParams(DA_WINDOW_S, DA_FEE * 2, 5))
    assert da.functions.requestFee().call() == DA_FEE * 2
    err = expect_revert(
        "DataAvailabilityChallengeClaimFailed",
        env.chain.sender(VERIFIER).send,
        da.functions.claim(),
    )
    assert err.error_args == (VERIFIER.address, 0)
    h = env.header(0)
    env.append(h)
    env.sc(VERIFIER).request_data(h)
    env.warp(DA_WINDOW_S + 1)
    # A caller cannot starve punish of gas: resolving needs a gas floor.
    expect_call_revert(
        "DataAvailabilityChallengeGasTooLow",
        da.functions.resolveTimeout(0),
        {"from": VERIFIER.address, "gas": 400_000},
    )


def test_fraud_prover_errors(env: Env, expect_revert: Any) -> None:
    fp = env.contract("FraudProver", "fraud_prover")
    s = env.chain.sender(env.owner)
    expect_revert("FraudProverBadSlashAmount", s.send, fp.functions.setSlashAmount(0))
    s.send(fp.functions.setSlashAmount(7))
    assert fp.functions.slashAmount().call() == 7
    roots = [keccak(b"a"), keccak(b"b")]
    h = env.header(
        0, tx_count=2, state_roots_root=merkle.root(roots), final_state_root=keccak(b"x")
    )
    env.append(h)
    w = SummaryWitness(h, (keccak(b"tree"), 1, 0), merkle.MerkleTree(roots).proof(1))
    err = expect_revert("FraudProverBadFinalState", env.sc(VERIFIER).prove_bad_summary, w)
    assert err.error_args == (0,)


def test_fraud_prover_gas_floor(env: Env, expect_call_revert: Any) -> None:
    """A real summary fraud, called with too little gas for the punishment, reverts."""
    from offchain.rollup.ledger.ledger import Ledger
    from offchain.rollup.ledger.state import State
    from offchain.rollup.ledger.tx import Domain

    st = State()
    Ledger(Domain(901, env.addresses["state_commitment"]), st)
    final = (st.tree_root, st.size, st.next_deposit_id)
    roots = [st.root]
    h = env.header(
        0, tx_count=1, state_roots_root=merkle.root(roots), final_state_root=keccak(b"lie")
    )
    env.append(h)
    fp = env.contract("FraudProver", "fraud_prover")
    w = SummaryWitness(h, final, merkle.MerkleTree(roots).proof(0))
    expect_call_revert(
        "FraudProverGasTooLow",
        fp.functions.proveBadSummary(*w.as_args(), VERIFIER.address),
        {"from": VERIFIER.address, "gas": 300_000},
    )


def test_bridge_eth_transfer_failed(env: Env, expect_revert: Any) -> None:
    env.bridge(dev_account(10)).deposit_eth(dev_account(10).address, 10**18)
    refuses = env.addresses["test_token"]  # a contract without receive(): refuses ETH
    w = Withdrawal(keccak(b"w"), refuses, ETH, 10**17)
    tree = merkle.MerkleTree([w.item()])
    h = env.header(0, tx_count=1, withdrawal_root=tree.root)
    env.append(h)
    env.warp(WINDOW_S + 1)
    err = expect_revert(
        "L1BridgeEthTransferFailed", env.bridge(dev_account(11)).finalize_withdrawal, h, 0, w, []
    )
    assert err.error_args == (refuses, 10**17)
    assert not env.bridge(dev_account(11)).is_withdrawal_finalized(w)  # nothing changed
