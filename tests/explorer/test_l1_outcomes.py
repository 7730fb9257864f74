"""The explorer through the rollup's L1 outcomes, on the real contracts (the demo's L1 scene:
batches with 3-of-4 signatures, a withdrawal paid, a forged MTSR proven, a withheld batch
timed out): each page must say what the L1 says at each moment: a batch final or invalid,
the insecure-state banner exactly while a data request is open, the cheaters kicked and
slashed in the set and the timeline, the new current sequencer, both headers at a re-used
index."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from rich.console import Console

from offchain.bridge.client import BridgeClient
from offchain.bridge.types import ETH, Withdrawal
from offchain.chain.accounts import dev_account
from offchain.common import merkle
from offchain.common.hashing import keccak
from offchain.demo.rollup_l1 import _Scene
from offchain.devnet import Devnet
from offchain.explorer.service import Explorer
from offchain.rollup.ledger.tx import Deposit, sign_transfer, sign_withdraw, tx_hash
from tests.helpers.explorer import E18, explorer_for


@pytest.fixture(scope="module")
def scene() -> Iterator[tuple[_Scene, Explorer]]:
    with Devnet(ephemeral=True, log=lambda *a: None) as d:
        s = _Scene(d, Console(quiet=True))
        ex = explorer_for(d)
        ex.server.start()
        try:
            yield s, ex
        finally:
            ex.stop()


def _page(ex: Explorer, path: str) -> str:
    r = requests.get(ex.url + path, timeout=10)
    assert r.status_code == 200, (path, r.text[:300])
    return r.text


def _status_on_page(ex: Explorer, i: int) -> str:
    page = _page(ex, f"/batches/{i}")
    return page.split('id="batch-status">', 1)[1].split("<", 1)[0]


def test_l1_outcomes_as_the_l1_says(scene: tuple[_Scene, Explorer]) -> None:
    s, ex = scene
    alice, bob, verifier = dev_account(10), dev_account(11), dev_account(14)
    dep = BridgeClient(s.chain, s.bridge.address, s.chain.sender(alice)).deposit_eth(
        alice.address, 5 * E18
    )
    s.append([(Deposit(dep.deposit_id, dep.sender, dep.l2_recipient, ETH, dep.amount), ETH, True)])
    fee_to = s.current().address
    w = sign_withdraw(alice, s.b.domain, bob.address, ETH, E18, 0, 0)
    t = sign_transfer(alice, s.b.domain, bob.address, ETH, E18, 0, 1)
    h1 = s.append([(w, fee_to, True), (t, fee_to, True)])
    ex.indexer.catch_up()
    assert _status_on_page(ex, 1) == "pending" == s.rl.batch_status(1).name.lower()

    # The window passes: final on L1, final on the page; the withdrawal is paid.
    s.warp(s.params.challenge_window_s + 1)
    tree = merkle.MerkleTree(s.b.batches[1].data.withdrawal_items)
    BridgeClient(s.chain, s.bridge.address, s.chain.sender(dev_account(12))).finalize_withdrawal(
        h1, 0, Withdrawal(tx_hash(w), bob.address, ETH, E18), tree.proof(0)
    )
    ex.indexer.catch_up()
    assert s.rl.batch_status(1).name == "FINALIZED"
    assert _status_on_page(ex, 1) == "final"
    bridge = _page(ex, "/bridge")
    assert bob.address.lower() in bridge.lower() and 'id="paid"' in bridge

    # A forged MTSR, proven: batch 2 invalid, the cheater kicked and slashed, a new current.
    cheater = s.current()
    t2 = sign_transfer(alice, s.b.domain, bob.address, ETH, E18, 0, 2)
    s.append([(t2, cheater.address, True)], forge={"post_roots": [keccak(b"forged")]})
    s.rl.with_sender(s.chain.sender(verifier)).prove_fraud(s.b.witness(2))
    ex.indexer.catch_up()
    assert s.rl.batch_status(2).name == "INVALID"
    assert _status_on_page(ex, 2) == "invalid"
    batches = _page(ex, "/batches")
    assert 'data-event="FraudProven"' in batches and "fraud proven at step" in batches
    seqs = _page(ex, "/sequencers")
    new_cur = s.current().address
    assert new_cur != cheater.address
    assert f'id="current-sequencer" data-address="{new_cur}"' in seqs
    row = seqs.split(f'data-signer="{cheater.address}"', 1)[1].split("</tr>", 1)[0]
    assert ">kicked<" in row and ">slashed<" in row
    assert 'data-event="Slashed"' in seqs and 'data-event="Kicked"' in seqs
    chart = seqs.split('aria-label="current sequencer over L1 time"', 1)[1].split("</svg>", 1)[0]
    assert f"<title>{new_cur}:" in chart and f"<title>{cheater.address}:" in chart
    assert f"<title>Slashed {cheater.address}</title>" in chart
    s.b.batches.pop()
    s.b.state = s.b.batches[-1].pre_state.copy()
    s.b.build([(w, fee_to, True), (t, fee_to, True)])

    # The next sequencer withholds its data: the banner shows while the request is open.
    withholder = s.current()
    h2 = s.append([(t2, withholder.address, True)])
    ex.indexer.catch_up()
    assert 'id="insecure"' not in _page(ex, "/")
    v = s.rl.with_sender(s.chain.sender(verifier))
    v.request_data(h2)
    ex.indexer.catch_up()
    for path in ("/", "/batches", "/l2", "/bridge"):
        assert 'id="insecure"' in _page(ex, path), path
    assert 'href="/batches/2"' in _page(ex, "/batches").split('id="data-requests"', 1)[1]
    s.warp(s.params.da_window_s + 1)
    v.resolve_timeout(2)
    ex.indexer.catch_up()
    assert 'id="insecure"' not in _page(ex, "/")
    assert s.rl.batch_status(2).name == "INVALID"
    assert _status_on_page(ex, 2) == "invalid"
    both = _page(ex, "/batches/2")
    assert both.count("header hash") == 2  # the forged header and the withheld one
    assert "timed out" in both
