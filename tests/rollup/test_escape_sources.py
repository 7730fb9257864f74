"""``l2kit bridge escape`` with every sequencer gone, its proof rebuilt from batch data alone:
the batches' own L1 publication (type-3 blobs, ``appendBatchWithData`` calldata) with the
blob store down too, or the blob store (which also holds the Calldata-mode frames). Real node
services produce batches in Blobs then Calldata mode, then all stop; the rollup freezes; the
CLI proves and pays exactly each balance at the last final root."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from offchain.chain.accounts import dev_account
from offchain.rollup.l1.bindings import BatchStatus, DataMode
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.node.config import BatcherConfig
from tests.rollup.conftest import RollupEnv, client, wait_until
from tests.rollup.test_censorship import FREEZE_AFTER_S, _cli, _deployment
from tests.rollup.test_da_modes_e2e import _set_mode
from tests.rollup.test_verifier import DEAD_STORAGE

# Slow lane (make test-all): the default suite's escape is
# tests/rollup_l1/test_escape_hatch.py (every sequencer gone, users exit with their balance).
pytestmark = pytest.mark.slow

ALICE, BOB, CAROL = dev_account(10), dev_account(11), dev_account(12)
FAST = BatcherConfig(max_batch_txs=50, batch_timeout_ms=300, poll_interval_ms=100)


def test_escape_from_storage_and_l1_data_with_every_sequencer_gone(
    rollup_env: RollupEnv, tmp_path: Path
) -> None:
    env = rollup_env
    _set_mode(env, DataMode.BLOBS)  # from the first batch on: no Storage-mode batch
    nodes = env.start_nodes(env.signers, FAST)
    c, l1 = client(nodes[0]), env.l1()
    env.bridge(ALICE).deposit_eth(ALICE.address, 10**18)
    env.bridge(BOB).deposit_eth(BOB.address, 10**18)
    wait_until(lambda: c.balance(BOB.address) == 10**18, what="deposits on L2")
    sent = 0
    for n, mode in enumerate((DataMode.BLOBS, DataMode.CALLDATA)):
        _set_mode(env, mode)
        k = l1.next_index()
        amount = random.randrange(1, 10**9)
        t = ltx.sign_transfer(ALICE, env.domain, BOB.address, ltx.ETH, amount, 1, n)
        c.wait_receipt(c.send(ltx.encode_tx(t)), timeout_s=20)
        sent += amount + 1
        wait_until(lambda k=k: l1.next_index() > k, timeout_s=30, what=f"a {mode.name} batch")  # type: ignore[misc]
    wait_until(
        lambda: (
            l1.get_header_from_event(l1.next_index() - 1).final_state_root.hex()
            == client(nodes[0]).status()["stateRoot"].removeprefix("0x")
        ),
        timeout_s=30,
        what="every block in a batch on L1",
    )
    alice_l2, bob_l2 = c.balance(ALICE.address), c.balance(BOB.address)
    assert alice_l2 == 10**18 - sent
    env.stop_nodes()  # every sequencer gone
    dep = _deployment(env, tmp_path)
    env.bridge(CAROL).deposit_eth(CAROL.address, 10**17)  # a queue item waits
    env.warp(FREEZE_AFTER_S + 1)
    last = l1.next_index() - 1
    assert l1.batch_status(last) == BatchStatus.FINALIZED
    frozen = _cli(env, dep, "freeze", "--dev", "30")
    assert frozen.returncode == 0, frozen.stderr
    # Alice: the blob store down too; every frame comes from L1 (blobs, then calldata).
    # Bob: the blob store up; it serves the Calldata-mode frames (stored there too).
    for user, expected, store, srcs in (
        (ALICE, alice_l2, DEAD_STORAGE, {"l1_blobs", "l1_calldata"}),
        (BOB, bob_l2, env.storage_url, {"l1_blobs", "storage"}),
    ):
        before = env.chain.w3.eth.get_balance(user.address)
        esc = _cli(env, dep, "escape", "--account", user.address, "--storage-url", store,
                   "--dev", "30", "--json")  # fmt: skip
        assert esc.returncode == 0, esc.stderr
        (row,) = json.loads(esc.stdout)
        assert row["paid"] and int(row["balance_wei"]) == expected
        assert set(row["sources"]) == srcs and sum(row["sources"].values()) == last + 1, row
        assert env.chain.w3.eth.get_balance(user.address) - before == expected
    # A second escape of the same (account, token), from L1 data alone, pays nothing more.
    before = env.chain.w3.eth.get_balance(ALICE.address)
    again = _cli(env, dep, "escape", "--account", ALICE.address, "--dev", "30", "--json")
    assert json.loads(again.stdout)[0]["note"] == "already escaped", again.stderr
    assert env.chain.w3.eth.get_balance(ALICE.address) == before
