"""End to end on Anvil: deposits credited on L2, transfers, withdraw -> batch -> window ->
finalized on L1."""

from __future__ import annotations

import pytest

from offchain.bridge.types import Withdrawal
from offchain.chain.accounts import dev_account
from offchain.errors import TxReverted
from offchain.rollup.l1.bindings import BatchStatus
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.ledger.batch import BatchHeader
from tests.rollup.conftest import WINDOW_S, RollupEnv, client, wait_until


def test_deposit_transfer_withdraw_finalize(rollup_env: RollupEnv) -> None:
    env = rollup_env
    alice, bob = dev_account(10), dev_account(11)
    nodes = env.start_nodes(env.signers[:3])
    seq, follower = client(nodes[0]), client(nodes[1])
    token = env.addresses["test_token"]
    env.chain.sender(alice).send(
        env.chain.contract("TestToken", token).functions.mint(alice.address, 10**21)
    )

    # L1 deposits (ETH and ERC20) are credited on L2, in order.
    env.bridge(alice).deposit_eth(alice.address, 3 * 10**18)
    env.bridge(alice).deposit_erc20(token, alice.address, 500 * 10**18)
    wait_until(
        lambda: seq.balance(alice.address, token) == 500 * 10**18, what="ERC20 deposit on L2"
    )
    assert seq.balance(alice.address) == 3 * 10**18

    # A transfer, sent to a follower (forwarded to the current sequencer).
    t = ltx.sign_transfer(alice, env.domain, bob.address, ltx.ETH, 10**18, 10**15, 0)
    h = follower.send(ltx.encode_tx(t))
    r = seq.wait_receipt(h)
    assert r["blockNumber"] >= 1
    wait_until(lambda: follower.balance(bob.address) == 10**18, what="transfer on the follower")

    # Withdraw from bob to his L1 address.
    w = ltx.sign_withdraw(bob, env.domain, bob.address, ltx.ETH, 4 * 10**17, 10**15, 0)
    wh = seq.send(ltx.encode_tx(w))
    seq.wait_receipt(wh)
    proof = wait_until(
        lambda: _proof(seq, wh), timeout_s=30, what="withdrawal in a submitted batch"
    )
    header = BatchHeader.from_json(proof["header"])
    l1 = env.l1()
    assert l1.batch_status(header.index) == BatchStatus.PENDING
    assert nodes[0].batcher is not None and nodes[0].batcher.last_check.get("result") == "match"

    wd = Withdrawal(bytes.fromhex(wh[2:]), bob.address, ltx.ETH, 4 * 10**17)
    siblings = [bytes.fromhex(p[2:]) for p in proof["proof"]]
    with pytest.raises(TxReverted) as early:  # the challenge window has not passed yet
        env.bridge(dev_account(12)).finalize_withdrawal(header, proof["txIndex"], wd, siblings)
    assert early.value.error_name == "L1BridgeBatchNotFinalized"
    env.warp(WINDOW_S + 1)
    assert l1.is_finalized(header.index)
    before = env.chain.w3.eth.get_balance(bob.address)
    rcpt = env.bridge(dev_account(12)).finalize_withdrawal(
        header, proof["txIndex"], wd, [bytes.fromhex(p[2:]) for p in proof["proof"]]
    )
    assert rcpt["status"] == 1
    assert env.chain.w3.eth.get_balance(bob.address) - before == 4 * 10**17
    # Replaying the same withdrawal fails.
    with pytest.raises(TxReverted) as ei:
        env.bridge(dev_account(12)).finalize_withdrawal(
            header, proof["txIndex"], wd, [bytes.fromhex(p[2:]) for p in proof["proof"]]
        )
    assert ei.value.error_name == "L1BridgeAlreadyFinalized"


def _proof(c, h):  # type: ignore[no-untyped-def]
    try:
        return c.call("l2_getProof", "withdrawal", h)
    except Exception:  # noqa: BLE001
        return None
