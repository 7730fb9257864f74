"""Rollup nodes sign batches with one FROST signature once the set's key is on L1.

The production deployment's sequencer nodes (real batchers, co-signers, ``/frost`` peer
protocol) run a DKG over their own HTTP; the key is installed on the SequencerSet with their
ECDSA approvals (more than 2/3 of the stake); from then on every batch reaches L1 with a
single 96-byte signature (the set rejects anything else), and each peer rebuilt the batch
before contributing its share.
"""

from __future__ import annotations

from offchain.chain.accounts import dev_account
from offchain.rollup.ledger import tx as ltx
from tests.rollup.conftest import RollupEnv, client, wait_until

ALICE, BOB = dev_account(10), dev_account(11)


def test_batches_carry_one_frost_signature(prod_env: RollupEnv) -> None:
    env = prod_env
    seqset = env.seqset()
    assert int(seqset.functions.groupKeyX().call()) == 0  # no key before the nodes' DKG
    nodes = env.start_nodes(env.signers)  # DKG over /frost, installGroupKey with approvals
    x = int(seqset.functions.groupKeyX().call())
    assert x != 0 and all(n.frost.store.keyset_of_key(x) is not None for n in nodes)
    l1 = env.l1()
    start = l1.next_index()
    c = client(nodes[0])
    env.bridge(ALICE).deposit_eth(ALICE.address, 10**18)
    wait_until(lambda: c.balance(ALICE.address) >= 10**18, what="deposit on L2")
    n0 = c.nonce(ALICE.address)
    h = c.send(ltx.encode_tx(ltx.sign_transfer(ALICE, env.domain, BOB.address, ltx.ETH, 5, 1, n0)))
    c.wait_receipt(h)
    wait_until(lambda: l1.next_index() > start, timeout_s=60, what="a FROST-signed batch on L1")
    # The appendBatch transaction carried exactly one 96-byte signature.
    logs = l1.sc.events.BatchAppended().get_logs(from_block=0)
    tx = env.chain.w3.eth.get_transaction(logs[-1]["transactionHash"])
    _, args = l1.sc.decode_function_input(tx["input"])
    sigs = args.get("signatures") or args.get("_signatures") or list(args.values())[-1]
    assert len(sigs) == 1 and len(sigs[0]) == 96
    stats = [requests_status(n.url) for n in nodes]
    # Members who signed (a nonce used) hold at least a threshold of the shares.
    signed = sum(len(s["identifiers"]) for s in stats if s["nonces"]["used"] >= 1)
    assert signed >= stats[0]["public"]["threshold"] > 0


def requests_status(url: str) -> dict:
    import requests

    return dict(requests.get(url.rstrip("/") + "/frost/status", timeout=10).json())
