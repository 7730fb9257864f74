"""TxSender: stuck-transaction replacement, fee spikes, unreachable RPC (Anvil cheatcodes)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from offchain.chain.anvil import free_port
from offchain.chain.client import Chain
from offchain.chain.tx import GWEI, SentTx, TxConfig, TxSender
from offchain.errors import RpcError

FAST = TxConfig(stuck_after_s=0.3, receipt_timeout_s=30, poll_interval_s=0.02)


@pytest.fixture
def manual_mining(chain: Chain) -> Iterator[None]:
    """Blocks are mined only by evm_mine during the test."""
    chain.rpc("evm_setAutomine", False)
    try:
        yield
    finally:
        chain.rpc("evm_setAutomine", True)


def pool(chain: Chain) -> list[dict[str, Any]]:
    content = chain.rpc("txpool_content")
    return [tx for by_nonce in content["pending"].values() for tx in by_nonce.values()]


def wait_until(cond: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def wait_in_thread(s: TxSender, sent: SentTx) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["receipt"] = s.wait(sent)
        except Exception as e:  # noqa: BLE001 - reported to the test
            out["error"] = e

    t = threading.Thread(target=target)
    t.start()
    return t, out


def test_dropped_tx_is_resent_with_same_nonce_and_higher_fees(
    chain, sender, owner, manual_mining
) -> None:
    s = sender(owner, FAST)
    chain.rpc("evm_setAutomine", True)
    reverter = s.deploy("Reverter")
    chain.rpc("evm_setAutomine", False)
    sent = s.send(reverter.functions.poke(), wait=False)
    assert isinstance(sent, SentTx)
    first = sent.hashes[0]
    first_fee = sent.params["maxFeePerGas"]
    first_tip = sent.params["maxPriorityFeePerGas"]
    assert [tx["hash"] for tx in pool(chain)] == [first.to_0x_hex()]
    chain.rpc("anvil_dropTransaction", first.to_0x_hex())  # the node forgets it
    assert pool(chain) == []
    t, out = wait_in_thread(s, sent)
    try:
        wait_until(lambda: len(pool(chain)) == 1)  # the sender re-sent it
        resent = pool(chain)[0]
        assert resent["hash"] != first.to_0x_hex()
        assert int(resent["nonce"], 16) == sent.nonce
        assert int(resent["maxFeePerGas"], 16) > first_fee
        assert int(resent["maxPriorityFeePerGas"], 16) >= first_tip * 110 // 100
        chain.rpc("evm_mine")
    finally:
        t.join(timeout=30)
    assert "error" not in out, out
    rcpt = out["receipt"]
    assert rcpt["status"] == 1 and rcpt["transactionHash"] == sent.hashes[-1]
    assert reverter.functions.pokes().call() == 1
    assert s.bumps >= 1


def test_base_fee_spike_is_outbid(chain, sender, owner, manual_mining) -> None:
    s = sender(owner, FAST)
    chain.rpc("evm_setAutomine", True)
    reverter = s.deploy("Reverter")
    chain.rpc("evm_setAutomine", False)
    sent = s.send(reverter.functions.poke(), wait=False)
    assert isinstance(sent, SentTx)
    low_fee = sent.params["maxFeePerGas"]
    spike = 50 * low_fee
    chain.rpc("anvil_setNextBlockBaseFeePerGas", hex(spike))
    chain.rpc("evm_mine")  # the spiked block cannot include our tx
    assert reverter.functions.pokes().call() == 0  # (Anvil also evicts it from its pool)
    t, out = wait_in_thread(s, sent)
    try:
        wait_until(lambda: len(sent.hashes) >= 2)
        assert sent.params["maxFeePerGas"] >= s.next_base_fee()
        chain.rpc("evm_mine")
    finally:
        t.join(timeout=30)
    assert "error" not in out, out
    assert out["receipt"]["status"] == 1
    assert reverter.functions.pokes().call() == 1
    assert out["receipt"]["effectiveGasPrice"] > low_fee


def test_send_after_a_spike_prices_for_the_next_block(chain, sender, owner) -> None:
    s = sender(owner)
    reverter = s.deploy("Reverter")
    chain.rpc("anvil_setNextBlockBaseFeePerGas", hex(200 * GWEI))
    rcpt = s.send(reverter.functions.poke())  # priced from the next block's base fee
    assert rcpt["status"] == 1
    block = chain.w3.eth.get_block(rcpt["blockNumber"])
    assert block["baseFeePerGas"] == 200 * GWEI


def test_wrong_rpc_url_is_a_clear_rpc_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RpcError) as e:
        Chain.connect(url)
    assert f"cannot reach the L1 RPC at {url}" in str(e.value)
    assert "l2kit devnet up" in str(e.value)
    with pytest.raises(RpcError, match="unsupported RPC URL"):
        Chain.connect("127.0.0.1:8545")


def test_node_going_away_mid_use_is_an_rpc_error(artifacts, owner) -> None:
    from offchain.chain.anvil import Anvil

    with Anvil() as a:
        c = Chain.connect(a.url, artifacts)
        s = c.sender(owner)
        reverter = s.deploy("Reverter")
    with pytest.raises(
        RpcError, match=r"cannot reach the L1 RPC at http://127.0.0.1:\d+ while sending poke"
    ):
        s.send(reverter.functions.poke())
