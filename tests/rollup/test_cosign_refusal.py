"""Honest co-signers are the only defence here: a faulty sequencer with no colluding shares.

The faulty node corrupts its next batch (each header-changing fault mode) and runs a FROST
round over its peers. Every member rebuilds the batch from its own blocks, gets a different
header and refuses (``header_rejected``; over ``/cosign`` it names the differing fields); no
share, no signature, nothing reaches L1 (``nextIndex`` stays 0), and the honest batch built
next is signed and appended.

Deterministic: the batchers' background loops are stopped and the test makes each poll.
"""

from __future__ import annotations

import random

import pytest

from offchain.chain.accounts import dev_account
from offchain.rollup.batcher.faults import Fault
from offchain.rollup.batcher.plan import build_batch
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.node.client import L2Client
from offchain.rollup.node.config import BatcherConfig
from offchain.rollup.node.errors import BatchError
from offchain.staking.errors import NotEnoughSignatures
from offchain.staking.frost.errors import FrostError
from offchain.staking.signatures import CosignRequest, collect_signatures
from tests.rollup.conftest import RollupEnv, client, wait_until

ALICE, BOB = dev_account(10), dev_account(11)

# The header fields each fault mode changes (what an honest peer must name when refusing).
CHANGED = {
    "wrong_mttbr": ["tx_root"],
    "wrong_mtsr": ["state_roots_root", "final_state_root", "data_hash", "blobs_hash"],
    "mismatch": ["data_hash", "blobs_hash"],
    # The data and roots honest, the blobs committed for a data answer those of other bytes.
    "wrong_blobs_hash": ["blobs_hash"],
    "forge": [
        "tx_count",
        "tx_root",
        "state_roots_root",
        "final_state_root",
        "withdrawal_root",
        "data_hash",
        "blobs_hash",
    ],
}


def _traffic(env: RollupEnv, c: L2Client) -> None:
    """A deposit and two transfers ALICE -> BOB (random amounts: distinct batch data)."""
    env.bridge(ALICE).deposit_eth(ALICE.address, 10**18 + random.randrange(10**9))
    wait_until(lambda: c.balance(ALICE.address) >= 10**18, what="deposit on L2")
    n0 = c.nonce(ALICE.address)
    h = ""
    for i in range(2):
        amount = random.randrange(1, 10**6)
        tx = ltx.sign_transfer(ALICE, env.domain, BOB.address, ltx.ETH, amount, 1, n0 + i)
        h = c.send(ltx.encode_tx(tx))
    c.wait_receipt(h)


def _diff(a: BatchHeader, b: BatchHeader) -> list[str]:
    ja, jb = a.to_json(), b.to_json()
    return [k for k in ja if ja[k] != jb[k]]


@pytest.mark.parametrize("mode", sorted(CHANGED))
def test_honest_peers_refuse_a_faulty_batch_without_colluding_keys(
    rollup_env: RollupEnv, mode: str
) -> None:
    env = rollup_env
    cfg = BatcherConfig(max_batch_txs=50, batch_timeout_ms=200, poll_interval_ms=100)
    nodes = env.start_nodes(env.signers, batcher=cfg)
    batchers = []
    for n in nodes:
        assert n.batcher is not None
        n.batcher.stop()  # no background polls: the test makes each one
        batchers.append(n.batcher)
    faulty, l1 = batchers[0], env.l1()
    faulty.fault = Fault(mode)  # no collude_shares: it can only ask the honest peers
    _traffic(env, client(nodes[0]))
    head = faulty.node.head
    wait_until(lambda: all(b.node.head >= head for b in batchers), what="blocks on every node")
    honest = build_batch(faulty.node, 0, 1, head, faulty._deposit_hash).header
    with pytest.raises(FrostError) as caught:
        # The batcher builds over every block it has, the faulty header differs from it.
        while True:
            out = faulty.tick()
            assert out["action"] != "appended", f"a faulty {mode} batch reached L1: {out}"
    # No share at all: every member (the faulty node's own validator too) rebuilt the batch
    # from its blocks and refused it before touching a nonce.
    msg = str(caught.value)
    threshold = env.prod.key.allocation.threshold if env.prod.key else 0
    assert msg.startswith(f"0 of {threshold} shares available"), msg
    for s in env.signers:
        assert f"'{s.address}': 'header_rejected'" in msg, msg
    me = nodes[0].signer.address.lower()
    others = {s: u for s, u in nodes[0].config.node.peers.items() if s != me}
    stored = faulty.node.store.batch(0)
    assert stored is not None
    bad = BatchHeader.from_json(stored["header"])
    assert bad.first_block == honest.first_block
    assert _diff(bad, build_batch(faulty.node, 0, 1, bad.first_block + bad.l2_blocks - 1,
                                  faulty._deposit_hash).header) == CHANGED[mode]  # fmt: skip
    assert l1.next_index() == 0, "nothing appended"
    # Asked directly over /cosign, the peer says which fields differ.
    peer_signer, peer_url = next(iter(others.items()))
    sc = env.addresses["state_commitment"]
    req = CosignRequest(env.chain.chain_id, sc, 0, bad.hash(), bad.to_json())
    with pytest.raises(NotEnoughSignatures) as direct:
        collect_signatures(req, [peer_url], [peer_signer])
    assert direct.value.got == 0
    assert direct.value.failures == {
        peer_url: f"HTTP 403: batch 0 differs from this node's blocks in {CHANGED[mode]}"
    }
    # The fault fired once: the next poll submits the honest batch, which every peer signs.
    wait_until(lambda: faulty.tick()["action"] == "appended", what="the honest batch on L1")
    assert l1.next_index() == 1
    on_l1 = l1.get_header_from_event(0)
    assert _diff(on_l1, bad) == CHANGED[mode]
    # Batch 0 is valid on L1 now: a peer refuses any other header for index 0, even one its
    # blocks do produce (a shorter batch over the same first blocks): no equivocation.
    last = on_l1.first_block + on_l1.l2_blocks - 1
    shorter = None
    for k in range(last - 1, on_l1.first_block - 1, -1):
        try:
            shorter = build_batch(faulty.node, 0, on_l1.first_block, k, faulty._deposit_hash)
            break
        except BatchError:
            continue
    assert shorter is not None and shorter.header.hash() != on_l1.hash(), "a second valid header"
    h2 = shorter.header
    req = CosignRequest(env.chain.chain_id, sc, 0, h2.hash(), h2.to_json())
    with pytest.raises(NotEnoughSignatures) as conflict:
        collect_signatures(req, [peer_url], [peer_signer])
    assert conflict.value.failures == {
        peer_url: f"HTTP 409: already signed header 0x{on_l1.hash().hex()} for batch 0 of {sc}"
    }
