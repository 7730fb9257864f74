"""End to end on Anvil: deposits credited on L2, transfers, withdraw -> batch -> window ->
finalized on L1."""

from __future__ import annotations

import pytest
from eth_account import Account

from offchain.bridge.types import Withdrawal
from offchain.chain.accounts import dev_account
from offchain.errors import TxReverted
from offchain.rollup.l1.bindings import BatchStatus
from offchain.rollup.ledger import ethtx
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.ledger.batch import BatchHeader
from tests.rollup.conftest import WINDOW_S, RollupEnv, client, wait_until


def test_deposit_transfer_withdraw_finalize(rollup_env: RollupEnv) -> None:
    env = rollup_env
    alice, bob = dev_account(10), dev_account(11)
    nodes = env.start_nodes(env.signers)
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


def test_wallet_signed_token_transfer_and_withdrawals_finalize_on_l1(rollup_env: RollupEnv) -> None:
    """Standard transactions signed by eth-account as a wallet does (no l2kit code signs):
    an ERC-20 transfer on the token's L2 address, an ETH withdrawal and a token withdrawal
    through 0x…4200; both withdrawals finalize on L1 from the node's l2_getProof."""
    env = rollup_env
    carol, dave = dev_account(13), dev_account(14)
    nodes = env.start_nodes(env.signers)
    seq = client(nodes[0])
    token = env.addresses["test_token"]
    erc20 = env.chain.contract("TestToken", token)
    env.chain.sender(carol).send(erc20.functions.mint(carol.address, 10**21))
    env.bridge(carol).deposit_eth(carol.address, 2 * 10**18)
    env.bridge(carol).deposit_erc20(token, carol.address, 300)
    wait_until(lambda: seq.balance(carol.address, token) == 300, what="ERC20 deposit on L2")
    chain, n0 = env.domain.chain_id, seq.nonce(carol.address)

    def send(nonce: int, to: str, value: int, data: bytes, gas: int) -> str:
        tx = {"nonce": nonce, "to": to, "value": value, "data": data, "gas": gas}
        tx |= {"chainId": chain, "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9}
        signed = Account.sign_transaction(tx, carol.key)
        h = seq.send(b"\x03" + bytes(signed.raw_transaction))
        assert h == "0x" + bytes(signed.hash).hex()  # the node's id is the Ethereum hash
        return h

    def word(a: str) -> bytes:
        return bytes(12) + bytes.fromhex(a[2:])

    xfer = ethtx.SELECTOR_TRANSFER + word(dave.address) + (100).to_bytes(32, "big")
    seq.wait_receipt(send(n0, ethtx.l2_token_address(token), 0, xfer, 50_000))
    assert seq.balance(dave.address, token) == 100
    wd_eth = send(
        n0 + 1, ethtx.WITHDRAW_ADDRESS, 10**17, ethtx.SELECTOR_WITHDRAW + word(dave.address), 60_000
    )
    wt = ethtx.SELECTOR_WITHDRAW_TOKEN + word(token) + (50).to_bytes(32, "big") + word(dave.address)
    wd_tok = send(n0 + 2, ethtx.WITHDRAW_ADDRESS, 0, wt, 70_000)
    seq.wait_receipt(wd_tok)
    assert seq.balance(carol.address, token) == 150
    proofs = [
        wait_until(lambda h=h: _proof(seq, h), timeout_s=30, what="withdrawal in a batch")
        for h in (wd_eth, wd_tok)
    ]
    env.warp(WINDOW_S + 1)
    eth_before = env.chain.w3.eth.get_balance(dave.address)
    tok_before = erc20.functions.balanceOf(dave.address).call()
    for h, p, tok, amount in ((wd_eth, proofs[0], ltx.ETH, 10**17), (wd_tok, proofs[1], token, 50)):
        assert (p["l1Recipient"], p["token"], int(p["amount"])) == (dave.address, tok, amount)
        header = BatchHeader.from_json(p["header"])
        wd = Withdrawal(bytes.fromhex(h[2:]), dave.address, tok, amount)
        siblings = [bytes.fromhex(s[2:]) for s in p["proof"]]
        rcpt = env.bridge(dev_account(12)).finalize_withdrawal(header, p["txIndex"], wd, siblings)
        assert rcpt["status"] == 1
    assert env.chain.w3.eth.get_balance(dave.address) - eth_before == 10**17
    assert erc20.functions.balanceOf(dave.address).call() - tok_before == 50
