"""A censoring sequencer (faulty mode ``censor``) ignores one user's forced transaction: after
the deadline its batches are refused on L1, the honest nodes' CensorshipWatch reports it twice
and L1 rotates it out, and the next sequencer includes the item; the user follows it all with
``l2kit bridge force-tx --wait`` (real node processes' RPC, real L1 contracts). A replayed
forced tx gets a failed receipt. Then every sequencer stops: the rollup freezes and the user
escapes with a proof rebuilt from a stopped node's store (``l2kit bridge escape --node-db``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from offchain.chain.accounts import dev_account
from offchain.deploy import Deployment
from offchain.rollup.batcher.faults import Fault
from offchain.rollup.ledger import tx as ltx
from tests.rollup.conftest import FORCE_WINDOW_S, FREEZE_AFTER_S, RollupEnv, client, wait_until

ALICE, BOB, CAROL = dev_account(10), dev_account(11), dev_account(12)


def _cli_bg(env: RollupEnv, dep: Path, *args: str) -> subprocess.Popen[str]:
    url = env.chain.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    return subprocess.Popen(
        [sys.executable, "-m", "offchain.cli", "bridge", *args, "--rpc-url", url,
         "--deployment", str(dep)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def _cli(env: RollupEnv, dep: Path, *args: str) -> subprocess.CompletedProcess[str]:
    url = env.chain.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    return subprocess.run(
        [sys.executable, "-m", "offchain.cli", "bridge", *args, "--rpc-url", url,
         "--deployment", str(dep)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"},
        check=False,
    )  # fmt: skip


def _deployment(env: RollupEnv, tmp_path: Path) -> Path:
    names = {"state_commitment": "StateCommitment", "l1_bridge": "L1Bridge"}
    dep = Deployment(
        env.chain.chain_id, 0, {k: env.addresses[k] for k in names}, names, env.owner.address
    )
    path = tmp_path / "deployment.json"
    dep.save(path)
    return path


def test_censor_is_refused_replaced_and_the_next_sequencer_includes_the_item(
    rollup_env: RollupEnv, tmp_path: Path
) -> None:
    env = rollup_env
    censor, honest, *others = env.start_nodes(env.signers, censorship_watch=True)
    watchers = [honest, *others]
    assert censor.signer.address == env.seqset().functions.currentSequencer().call()
    Fault("censor", censor_account=ALICE.address).install(censor)
    env.bridge(ALICE).deposit_eth(ALICE.address, 10**18)
    env.bridge(CAROL).deposit_eth(CAROL.address, 10**18)
    for svc in (censor, *watchers):
        wait_until(lambda s=svc: client(s).balance(CAROL.address) == 10**18, what="deposits")  # type: ignore[misc]
    sc = env.l1().sc
    dep = _deployment(env, tmp_path)
    transfer = ["force-tx", "--to", BOB.address, "--amount", "5000", "--fee", "7", "--node",
                honest.url, "--wait", "--dev", "10", "--json"]  # fmt: skip
    force = _cli_bg(env, dep, *transfer, "--timeout-s", "120")
    try:
        bridge = env.bridge(ALICE).bridge
        wait_until(lambda: bridge.functions.forcedCount().call() == 1, what="forced tx queued")
        queue_id, _ = bridge.functions.firstForcedFrom(0).call()
        # The censor keeps producing blocks but never consumes the forced item.
        assert client(censor).status()["nextDepositId"] == queue_id
        before = sc.functions.nextIndex().call()
        env.warp(FORCE_WINDOW_S + 1)
        # Other users' transactions still flow into the censor's blocks and batches...
        t = ltx.sign_transfer(CAROL, env.domain, BOB.address, ltx.ETH, 1, 0, 0)
        client(censor).wait_receipt(client(censor).send(ltx.encode_tx(t)), timeout_s=20)
        # ... but its batches are refused on L1 now: the header leaves the expired item unconsumed.
        wait_until(
            lambda: "StateCommitmentForcedTxNotIncluded" in json.dumps(censor.health()),
            timeout_s=30,
            what="the censor's batch refused on L1",
        )
        assert all(  # nothing it appended after the deadline consumed less than the item
            sc.functions.progress().call()[1] > queue_id or sc.functions.nextIndex().call() == n
            for n in [sc.functions.nextIndex().call()]
        )
        assert sc.functions.nextIndex().call() >= before
        # The honest nodes' watch reported it; one window later it is rotated out.
        wait_until(
            lambda: sum(w.censorship.stats["reports"] for w in watchers) >= 1,
            timeout_s=30,
            what="a censorship report",
        )
        env.warp(FORCE_WINDOW_S + 1)
        wait_until(
            lambda: env.seqset().functions.currentSequencer().call() != censor.signer.address,
            timeout_s=30,
            what="the censor rotated out",
        )
        out, err = force.communicate(timeout=150)
    finally:
        if force.poll() is None:
            force.kill()
    assert force.returncode == 0, err
    doc = json.loads(out)
    assert doc["queue_id"] == queue_id and doc["receipt"]["status"] == "success"
    for svc in watchers:
        wait_until(
            lambda s=svc: client(s).balance(BOB.address) == 5000 + 1, what="transfer applied"
        )  # type: ignore[misc]
    block = client(honest).block(doc["receipt"]["blockNumber"])
    assert block is not None
    new_current = env.seqset().functions.currentSequencer().call()
    assert block["header"]["producer"].lower() == new_current.lower()
    assert client(honest).balance(new_current, ltx.ETH) >= 7  # the fee went to the includer
    # The same signed transaction forced again: consumed with a failed receipt (nonce used).
    again = _cli_bg(env, dep, *transfer, "--nonce", "0")
    wait_until(lambda: bridge.functions.forcedCount().call() == 2, what="second forced tx")
    for _ in range(2):  # the nodes follow L1 two blocks behind; this L1 mines on demand
        env.chain.rpc("evm_mine")
    out2, err2 = again.communicate(timeout=120)
    assert again.returncode == 0, err2
    doc2 = json.loads(out2)
    r2 = doc2["receipt"]
    assert (r2["status"], r2["detail"]) == ("failed", "wrong_nonce")
    assert client(honest).balance(BOB.address) == 5000 + 1
    # Batches consuming both forced items land on L1.
    second = doc2["queue_id"]
    wait_until(lambda: sc.functions.progress().call()[1] > second, timeout_s=60, what="batch on L1")
    alice_l2 = client(honest).balance(ALICE.address)
    assert alice_l2 == 10**18 - 5000 - 7
    # A verifier re-executes every batch, forced items included, and finds them honest.
    v = env.start_verifier(dev_account(31), run=True)
    last = sc.functions.nextIndex().call() - 1
    wait_until(lambda: v.verified_index >= last, timeout_s=60, what="batches verified")
    v.stop()

    # Every sequencer stops; a deposit waits; the rollup freezes; Alice leaves from a node store.
    db = Path(honest.config.node.data_dir) / "node.db"
    env.stop_nodes()
    env.bridge(CAROL).deposit_eth(CAROL.address, 10**17)
    env.warp(FREEZE_AFTER_S + 1)
    frozen = _cli(env, dep, "freeze", "--dev", "30")
    assert frozen.returncode == 0, frozen.stderr
    before = env.chain.w3.eth.get_balance(ALICE.address)
    esc = _cli(env, dep, "escape", "--account", ALICE.address, "--node-db", str(db),
               "--dev", "30", "--json")  # fmt: skip
    assert esc.returncode == 0, esc.stderr
    (row,) = json.loads(esc.stdout)
    assert row["paid"] and int(row["balance_wei"]) == alice_l2
    assert row["sources"]["node_store"] >= 1
    assert env.chain.w3.eth.get_balance(ALICE.address) - before == alice_l2
