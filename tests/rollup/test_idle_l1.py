"""Attack: an idle L1 (Anvil automine, no traffic: no new block timestamps). A verifier whose
data request passed its deadline must resolve it anyway (the transaction itself makes the
block that carries the later timestamp)."""

from __future__ import annotations

import time

import pytest

from offchain.chain.accounts import dev_account
from offchain.rollup.l1.bindings import RequestStatus
from tests.rollup.conftest import DA_WINDOW_S, RollupEnv, client, wait_until

ALICE = dev_account(10)


@pytest.mark.slow
def test_deadlinePassedOnIdleL1IsActedOn(rollup_env: RollupEnv) -> None:
    env = rollup_env
    nodes = env.start_nodes(env.signers)
    faulty, l1 = nodes[0], env.l1()
    assert faulty.batcher is not None
    faulty.batcher.fault = env.colluding("withhold")
    env.bridge(ALICE).deposit_eth(ALICE.address, 10**18)
    wait_until(lambda: client(faulty).balance(ALICE.address) > 0, what="deposit")
    wait_until(lambda: l1.next_index() >= 1, 30, "the withheld batch on L1")
    for svc in list(env.services):  # the L1 goes idle: nobody sends transactions
        svc.stop()
        env.services.remove(svc)
    v = env.start_verifier(dev_account(33), "http://127.0.0.1:9")  # storage down, no snapshot
    assert v.tick()[0].result == "requested"
    head = int(env.chain.w3.eth.block_number)
    time.sleep(DA_WINDOW_S + 2)  # wall clock past the deadline, no L1 block since
    assert int(env.chain.w3.eth.block_number) == head
    wait_until(lambda: any(o.result == "timeout_resolved" for o in v.tick()), 10, "timeout")
    assert l1.data_request(0).status == RequestStatus.FAILED
