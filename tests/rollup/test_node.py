"""Sequencer node on Anvil: RPC errors, follower block checks, restart, forwarding."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import requests

from offchain.chain.accounts import dev_account
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.node.block import Block, sign_block
from offchain.rollup.node.errors import TX_REJECTED_CODES, RollupNodeError
from offchain.rollup.node.service import NodeService
from tests.rollup.conftest import RollupEnv, client, wait_until

ALICE, BOB = dev_account(10), dev_account(11)


def _fund(env: RollupEnv, c, amount: int = 2 * 10**18) -> None:  # type: ignore[no-untyped-def]
    env.bridge(ALICE).deposit_eth(ALICE.address, amount)
    wait_until(lambda: c.balance(ALICE.address) >= amount, what="deposit credited")


def _rpc(url: str, body: object) -> dict:  # type: ignore[type-arg]
    return requests.post(url, data=json.dumps(body), timeout=5).json()


def test_rpc_errors_for_each_invalid_tx(rollup_env: RollupEnv) -> None:
    env = rollup_env
    (svc,) = env.start_nodes(env.signers[:1])
    c = client(svc)
    _fund(env, c)
    d = env.domain
    head_before = c.status()["head"]
    cases = {
        "bad_signature": ltx.sign_transfer(BOB, d, BOB.address, ltx.ETH, 1, 0, 0),
        "wrong_nonce": ltx.sign_transfer(ALICE, d, BOB.address, ltx.ETH, 1, 0, 7),
        "insufficient_balance": ltx.sign_transfer(ALICE, d, BOB.address, ltx.ETH, 10**20, 0, 0),
        "zero_amount": ltx.sign_transfer(ALICE, d, BOB.address, ltx.ETH, 0, 0, 0),
    }
    # bob's tx claims to be from alice: recovered signer differs
    forged = ltx.sign_transfer(BOB, d, BOB.address, ltx.ETH, 1, 0, 0)
    cases["bad_signature"] = dataclasses.replace(forged, sender=ltx.to_checksum(ALICE.address))
    other_chain = ltx.sign_transfer(
        ALICE, ltx.Domain(5, d.verifying_contract), BOB.address, ltx.ETH, 1, 0, 0
    )
    for reason, t in cases.items():
        with pytest.raises(RollupNodeError) as ei:
            c.send(ltx.encode_tx(t))
        assert ei.value.code == TX_REJECTED_CODES[reason], (reason, ei.value.message)
        assert ei.value.data == {"reason": reason}
    with pytest.raises(RollupNodeError) as ei:
        c.send(ltx.encode_tx(other_chain))
    assert ei.value.code == TX_REJECTED_CODES["bad_signature"]
    with pytest.raises(RollupNodeError) as ei:
        c.send(b"\x01" + b"\x00" * 10)
    assert ei.value.code == TX_REJECTED_CODES["malformed"]
    with pytest.raises(RollupNodeError) as ei:  # a user cannot inject a deposit
        c.send(ltx.encode_tx(ltx.Deposit(5, ALICE.address, ALICE.address, ltx.ETH, 10**30)))
    assert ei.value.code == TX_REJECTED_CODES["malformed"]
    # JSON-RPC protocol errors.
    assert (
        _rpc(
            svc.url, {"jsonrpc": "2.0", "id": 1, "method": "l2_sendTransaction", "params": ["zz"]}
        )["error"]["code"]
        == -32602
    )
    assert (
        _rpc(svc.url, {"jsonrpc": "2.0", "id": 1, "method": "l2_nope", "params": []})["error"][
            "code"
        ]
        == -32601
    )
    assert requests.post(svc.url, data=b"{not json", timeout=5).json()["error"]["code"] == -32700
    assert _rpc(svc.url, {"id": 1})["error"]["code"] == -32600
    assert (
        _rpc(svc.url, {"jsonrpc": "2.0", "id": 1, "method": "l2_getBalance", "params": ["0x12"]})[
            "error"
        ]["code"]
        == -32602
    )
    # A valid tx still goes through, and none of the invalid ones is in any block.
    ok = c.send(ltx.encode_tx(ltx.sign_transfer(ALICE, d, BOB.address, ltx.ETH, 5, 1, 0)))
    c.wait_receipt(ok)
    included = set()
    for n in range(head_before + 1, c.status()["head"] + 1):
        included |= set((c.block(n) or {}).get("txHashes", []))
    assert included == {ok}
    assert c.balance(BOB.address) == 5 and c.nonce(ALICE.address) == 1


def test_follower_rejects_wrong_state_root_and_signature(rollup_env: RollupEnv) -> None:
    env = rollup_env
    cur, fol = env.start_nodes(env.signers[:2])
    c, f = client(cur), client(fol)
    _fund(env, c)
    wait_until(lambda: f.status()["head"] == c.status()["head"], what="follower in sync")
    # Build the next block on the follower's head, honestly except for one field.
    assert cur.node is not None
    head = cur.node.store.block(cur.node.head)
    assert head is not None
    t = ltx.sign_transfer(ALICE, env.domain, BOB.address, ltx.ETH, 7, 0, 0)
    good = cur.node.executor  # for the root of an honest block
    cp = good.checkpoint()
    applied = good.apply(ltx.encode_tx(t), cur.node.address)
    honest_root = good.state_root()
    good.rollback(cp)
    from offchain.common import merkle

    base = dataclasses.replace(
        head.header,
        number=head.number + 1,
        parent_hash=head.hash(),
        tx_root=merkle.root([applied.leaf]),
        state_root=honest_root,
        tx_count=1,
    )
    key = bytes(env.signers[0].key)
    wrong_root = sign_block(
        dataclasses.replace(base, state_root=b"\x11" * 32), key, [ltx.encode_tx(t)]
    )
    with pytest.raises(RollupNodeError) as ei:
        f.call("l2_importBlock", wrong_root.to_json())
    assert ei.value.code == -32020 and ei.value.data["reason"] == "state_root"
    outsider = sign_block(
        dataclasses.replace(base, producer=dev_account(30).address.lower()),
        bytes(dev_account(30).key),
        [ltx.encode_tx(t)],
    )
    with pytest.raises(RollupNodeError) as ei:
        f.call("l2_importBlock", outsider.to_json())
    assert ei.value.data["reason"] == "producer"
    bad_sig = Block(
        base,
        [ltx.encode_tx(t)],
        signature=sign_block(base, bytes(dev_account(30).key), []).signature,
    )
    with pytest.raises(RollupNodeError) as ei:
        f.call("l2_importBlock", bad_sig.to_json())
    assert ei.value.data["reason"] == "signature"
    assert f.balance(BOB.address) == 0 and f.status()["head"] == head.number
    # The honest block is accepted.
    honest = sign_block(base, key, [ltx.encode_tx(t)])
    assert f.call("l2_importBlock", honest.to_json())["accepted"] is True
    assert f.balance(BOB.address) == 7


def test_restarted_node_resumes(rollup_env: RollupEnv) -> None:
    env = rollup_env
    (svc,) = env.start_nodes(env.signers[:1])
    c = client(svc)
    _fund(env, c)
    h = c.send(ltx.encode_tx(ltx.sign_transfer(ALICE, env.domain, BOB.address, ltx.ETH, 9, 0, 0)))
    c.wait_receipt(h)
    status = c.status()
    cfg = svc.config
    svc.stop()
    env.services.remove(svc)
    again = NodeService(env.contracts, env.signers[0], cfg, env.storage_url).start()
    env.services.append(again)
    c2 = client(again)
    s2 = c2.status()
    assert (s2["head"], s2["stateRoot"], s2["nextDepositId"]) == (
        status["head"],
        status["stateRoot"],
        status["nextDepositId"],
    )
    assert c2.receipt(h)["status"] == "success"
    assert c2.nonce(ALICE.address) == 1 and c2.balance(BOB.address) == 9
    h2 = c2.send(ltx.encode_tx(ltx.sign_transfer(ALICE, env.domain, BOB.address, ltx.ETH, 1, 0, 1)))
    assert c2.wait_receipt(h2)["blockNumber"] > status["head"]
    assert Path(cfg.node.data_dir, "node.db").exists()


def test_cli_transfer_balance_and_errors(rollup_env: RollupEnv) -> None:
    import subprocess
    import sys

    env = rollup_env
    (svc,) = env.start_nodes(env.signers[:1])
    c = client(svc)
    _fund(env, c)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "offchain.cli", "rollup", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    ok = cli(
        "tx",
        "transfer",
        "--dev-account",
        "10",
        "--to",
        BOB.address,
        "--amount",
        "12",
        "--url",
        svc.url,
    )
    assert ok.returncode == 0, ok.stderr
    assert "status success" in ok.stdout
    assert c.balance(BOB.address) == 12
    bal = cli("balance", BOB.address, "--url", svc.url)
    assert f"{BOB.address}: 12" in bal.stdout
    bad = cli(
        "tx",
        "transfer",
        "--dev-account",
        "11",
        "--to",
        ALICE.address,
        "--amount",
        "13",
        "--url",
        svc.url,
    )
    assert bad.returncode != 0
    assert "error:" in bad.stderr and "Traceback" not in bad.stderr
    assert "needs 13" in bad.stderr or "insufficient" in bad.stderr.lower()
