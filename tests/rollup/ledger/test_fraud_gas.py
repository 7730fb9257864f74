"""Worst-case fraud-proof step on Anvil: proven fraud, within the gas budget."""

from __future__ import annotations

from offchain.rollup.ledger.vectors import worst_case_fraud_proof

#: Issue 5's target for a whole fraud proof; the step check must leave room for bookkeeping.
FRAUD_PROOF_GAS_TARGET = 500_000


def test_worst_case_step_is_fraud_and_fits_the_gas_budget(chain, sender, owner) -> None:
    gc = worst_case_fraud_proof(n_accounts=3000, batch_size=1000)
    assert gc.is_fraud and gc.witness_count == 4
    h = sender(owner).deploy("L2StateTransitionHarness")
    args = (gc.domain.chain_id, gc.domain.verifying_contract, gc.batch_ref, gc.proof)
    fraud, result = h.functions.proveStep(*args).call()
    assert fraud and result[0] == 0  # valid tx, but the claimed post-state root is forged
    receipt = sender(owner).send(h.functions.proveStepTx(*args))
    assert receipt["status"] == 1
    assert receipt["gasUsed"] < FRAUD_PROOF_GAS_TARGET - 150_000, receipt["gasUsed"]
