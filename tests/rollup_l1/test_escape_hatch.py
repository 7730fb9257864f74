"""Censorship resistance and exit through the CLI, against the real bridge and StateCommitment:
`l2kit bridge force-tx` (bad input refused with the custom error), and, with every sequencer
gone, `freeze`, `escape` with a proof rebuilt from batch data (snapshot dir) and `refund`."""

from __future__ import annotations

import json
from pathlib import Path

from offchain.bridge.types import ETH
from offchain.chain.accounts import dev_account
from offchain.chain.client import Chain
from offchain.rollup.ledger.state import balance_key
from offchain.rollup.ledger.tx import Deposit, sign_transfer
from tests.rollup_l1.conftest import FREEZE_AFTER_S, WINDOW_S, deploy_env
from tests.rollup_l1.l2sim import L2Sim
from tests.rollup_l1.test_bridge_cli import _deployment, _one_line_error, _run

USERS = [dev_account(10 + i) for i in range(5)]


def test_force_tx_cli_queues_and_refuses_bad_input(chain: Chain, tmp_path: Path) -> None:
    env = deploy_env(chain)
    dep = _deployment(env, tmp_path)
    bridge = env.contract("L1Bridge", "l1_bridge")
    _one_line_error(
        _run(env, dep, "force-tx", "--to", USERS[1].address, "--amount", "5", "--fee", "0",
             "--nonce", "0", "--dev", "10"),
        "L1BridgeZeroForcedFee",
    )  # fmt: skip
    _one_line_error(
        _run(env, dep, "force-tx", "--to", USERS[1].address, "--amount", "5", "--dev", "10"),
        "--nonce",
    )
    assert bridge.functions.depositCount().call() == 0
    out = _run(env, dep, "force-tx", "--to", USERS[1].address, "--amount", "5", "--nonce", "0",
               "--dev", "10", "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["queue_id"] == 0 and doc["kind"] == "transfer"
    assert bridge.functions.forcedDeadline(0).call() == doc["deadline"]
    assert bridge.functions.firstForcedFrom(0).call() == [0, doc["deadline"]]
    assert bridge.functions.depositCount().call() == 1


def test_every_sequencer_gone_users_escape_with_their_final_balance(
    chain: Chain, tmp_path: Path
) -> None:
    env = deploy_env(chain)
    dep = _deployment(env, tmp_path)
    snap = tmp_path / "snapshots"
    snap.mkdir()
    sim = L2Sim(env)
    token = env.addresses["test_token"]
    tok = env.contract("TestToken", "test_token")
    items = []
    for i, u in enumerate(USERS):
        d = env.bridge(u).deposit_eth(u.address, (i + 1) * 10**18)
        items.append((Deposit(d.deposit_id, u.address, u.address, ETH, d.amount), ETH, True))
    env.chain.sender(env.owner).send(tok.functions.mint(USERS[0].address, 10**21))
    d = env.bridge(USERS[0]).deposit_erc20(token, USERS[0].address, 500)
    items.append((Deposit(d.deposit_id, USERS[0].address, USERS[0].address, token, 500), ETH, True))
    data, pre = sim.build(items)
    h0 = sim.commit(data, pre)
    (snap / f"0x{h0.data_hash.hex()}").write_bytes(data.encode())
    seq = env.current().address
    t = sign_transfer(USERS[0], sim.domain, USERS[4].address, ETH, 10**17, 10**15, 0)
    data, pre = sim.build([(t, seq, True)])
    h1 = sim.commit(data, pre)
    (snap / f"0x{h1.data_hash.hex()}").write_bytes(data.encode())
    expected = {u.address: sim.state.get(balance_key(u.address, ETH)) for u in USERS}
    assert expected[USERS[4].address] == 5 * 10**18 + 10**17
    _one_line_error(_run(env, dep, "freeze", "--dev", "30"), "StateCommitmentNotStalled")
    env.warp(WINDOW_S + 1)
    # A deposit no batch consumed, then every sequencer stops.
    late = env.bridge(USERS[2]).deposit_eth(USERS[2].address, 7 * 10**18)
    _one_line_error(
        _run(env, dep, "escape", "--account", USERS[0].address, "--snapshot-dir", str(snap),
             "--dev", "30"),
        "not frozen",
    )  # fmt: skip
    env.warp(FREEZE_AFTER_S - WINDOW_S)  # the rest of the freeze delay (200 s > 100 s window)
    out = _run(env, dep, "freeze", "--dev", "30")
    assert out.returncode == 0 and "frozen" in out.stdout, out.stderr

    w3 = env.chain.w3
    for u in USERS:
        before = w3.eth.get_balance(u.address)
        out = _run(env, dep, "escape", "--account", u.address, "--snapshot-dir", str(snap),
                   "--dev", "30", "--json")  # fmt: skip
        assert out.returncode == 0, out.stderr
        (row,) = json.loads(out.stdout)
        assert row["paid"] and int(row["balance_wei"]) == expected[u.address]
        assert row["batch"] == 1 and row["sources"] == {"snapshot": 2}
        assert w3.eth.get_balance(u.address) - before == expected[u.address]
    out = _run(env, dep, "escape", "--account", USERS[0].address, "--token", token,
               "--snapshot-dir", str(snap), "--dev", "30", "--json")  # fmt: skip
    assert out.returncode == 0 and json.loads(out.stdout)[0]["paid"], out.stderr
    again = _run(env, dep, "escape", "--account", USERS[1].address, "--snapshot-dir", str(snap),
                 "--dev", "30", "--json")  # fmt: skip
    assert json.loads(again.stdout)[0]["note"] == "already escaped"
    # Without any data source for the batches (Storage mode, no snapshot), no proof is built.
    _one_line_error(
        _run(env, dep, "escape", "--account", USERS[3].address, "--dev", "30"), "in no source"
    )
    # The sequencer's L2 fee is a balance like any other.
    out = _run(env, dep, "escape", "--account", seq, "--snapshot-dir", str(snap), "--dev", "30")
    assert out.returncode == 0 and "paid on L1" in out.stdout, out.stderr
    assert w3.eth.get_balance(env.addresses["l1_bridge"]) == late.amount
    out = _run(env, dep, "refund", "--dev", "30", "--json")
    assert out.returncode == 0, out.stderr
    assert [r["deposit_id"] for r in json.loads(out.stdout)] == [late.deposit_id]
    assert w3.eth.get_balance(env.addresses["l1_bridge"]) == 0
    assert tok.functions.balanceOf(env.addresses["l1_bridge"]).call() == 0
