"""An unmodified web3.py wallet against a running node (real NodeService on Anvil): ETH, an
ERC-20 transfer and withdrawals signed locally and sent with ``eth_sendRawTransaction``,
receipts with logs, balances; every bad transaction a wallet can produce is refused with the
code and message wallets expect, and changes nothing."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import requests
from eth_account import Account
from hexbytes import HexBytes
from web3 import Web3
from web3.middleware import SignAndSendRawMiddlewareBuilder

from offchain.chain.accounts import dev_account
from offchain.demo.wallet import ERC20_ABI
from offchain.rollup.ledger.ethtx import (
    GAS_ETH_TRANSFER,
    GAS_TOKEN_TRANSFER,
    L2_BASE_FEE,
    WITHDRAW_ADDRESS,
    l2_token_address,
)
from offchain.rollup.node.eth_format import TRANSFER_TOPIC, WITHDRAWAL_TOPIC
from offchain.rollup.node.service import NodeService
from tests.helpers.wallet import funded_node
from tests.rollup.conftest import RollupEnv, client, wait_until

ALICE, BOB, CAROL = dev_account(10), dev_account(11), dev_account(12)
WITHDRAW_ABI = [
    {"name": "withdraw", "type": "function", "stateMutability": "payable",
     "inputs": [{"name": "l1Recipient", "type": "address"}], "outputs": []},
    {"name": "withdrawToken", "type": "function", "stateMutability": "nonpayable",
     "inputs": [{"name": "token", "type": "address"}, {"name": "amount", "type": "uint256"},
                {"name": "l1Recipient", "type": "address"}], "outputs": []},
]  # fmt: skip


@pytest.fixture
def wallet(rollup_env: RollupEnv) -> tuple[NodeService, str, Web3]:
    svc, token = funded_node(rollup_env)
    return svc, token, Web3(Web3.HTTPProvider(svc.url))


def _rpc(url: str, method: str, params: Any) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    r = requests.post(url, data=json.dumps(body), timeout=10)
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def test_web3_sends_eth_token_and_withdrawals(wallet: tuple[NodeService, str, Web3]) -> None:
    svc, token, w3 = wallet
    w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(ALICE), layer=0)
    a = ALICE.address
    bal0 = w3.eth.get_balance(a)
    # ETH: web3 fills nonce, gas (eth_estimateGas), EIP-1559 fees (base fee + tip), chain id.
    h = w3.eth.send_transaction({"from": a, "to": BOB.address, "value": 10**15})
    r = w3.eth.wait_for_transaction_receipt(h, timeout=20, poll_latency=0.05)
    assert r["status"] == 1 and r["gasUsed"] == GAS_ETH_TRANSFER and r["logs"] == []
    price = r["effectiveGasPrice"]
    assert price >= L2_BASE_FEE
    assert w3.eth.get_balance(BOB.address) == 10**15
    assert w3.eth.get_balance(a) == bal0 - 10**15 - GAS_ETH_TRANSFER * price
    seq = Web3.to_checksum_address(svc.node.address)
    assert w3.eth.get_balance(seq) >= GAS_ETH_TRANSFER * price  # the sequencer got the fee
    t = w3.eth.get_transaction(h)
    assert t["from"] == a and t["to"] == BOB.address and t["value"] == 10**15
    assert t["blockNumber"] == r["blockNumber"] and t["type"] == 2
    assert h in w3.eth.get_block(r["blockNumber"])["transactions"]
    # ERC-20 transfer on the token's L2 address.
    l2t = Web3.to_checksum_address(l2_token_address(token))
    erc = w3.eth.contract(address=l2t, abi=ERC20_ABI)
    h2 = erc.functions.transfer(BOB.address, 2 * 10**18).transact({"from": a})
    r2 = w3.eth.wait_for_transaction_receipt(h2, timeout=20, poll_latency=0.05)
    assert r2["status"] == 1 and r2["gasUsed"] == GAS_TOKEN_TRANSFER
    (ev,) = erc.events.Transfer().process_receipt(r2)
    assert (ev["args"]["from"], ev["args"]["to"], ev["args"]["value"]) == (
        a,
        BOB.address,
        2 * 10**18,
    )
    assert ev["address"] == l2t
    assert erc.functions.balanceOf(BOB.address).call() == 2 * 10**18
    assert erc.functions.balanceOf(a).call() == 3 * 10**18
    logs = w3.eth.get_logs({"fromBlock": 0, "address": l2t, "topics": [TRANSFER_TOPIC]})
    assert any(lg["transactionHash"] == h2 for lg in logs)
    # Withdrawals through the system address: ETH (payable) and the token.
    wd = w3.eth.contract(address=Web3.to_checksum_address(WITHDRAW_ADDRESS), abi=WITHDRAW_ABI)
    h3 = wd.functions.withdraw(CAROL.address).transact({"from": a, "value": 10**16})
    h4 = wd.functions.withdrawToken(token, 10**18, CAROL.address).transact({"from": a})
    for hh in (h3, h4):
        rr = w3.eth.wait_for_transaction_receipt(hh, timeout=20, poll_latency=0.05)
        assert rr["status"] == 1
        w = [lg for lg in rr["logs"] if lg["topics"][0] == WITHDRAWAL_TOPIC]
        assert len(w) == 1 and w[0]["address"] == Web3.to_checksum_address(WITHDRAW_ADDRESS)
        assert w[0]["topics"][2][-20:] == bytes.fromhex(CAROL.address[2:])
    assert erc.functions.balanceOf(a).call() == 2 * 10**18
    assert w3.eth.get_transaction_count(a) == 4
    # The withdrawal is in the ledger's withdrawal root, like an EIP-712 one.
    row = svc.node.store.receipt(bytes(h3))
    assert row is not None and row.status == "success"
    # Legacy (EIP-155) and EIP-2930 envelopes signed by hand; access lists (EIP-2930 and
    # EIP-1559) are carried as signed, shown by eth_getTransactionByHash, and change no gas.
    cid = w3.eth.chain_id
    al = [{"address": l2t, "storageKeys": ["0x" + "01" * 32, "0x" + "02" * 32]},
          {"address": BOB.address, "storageKeys": []}]  # fmt: skip
    fees = {"maxFeePerGas": 2 * L2_BASE_FEE, "maxPriorityFeePerGas": 0}
    for extra in (
        {"gasPrice": L2_BASE_FEE},
        {"gasPrice": L2_BASE_FEE, "accessList": []},
        {"gasPrice": L2_BASE_FEE, "accessList": al},
        {**fees, "accessList": al},
    ):
        n = w3.eth.get_transaction_count(a)
        tx = {"to": BOB.address, "value": 1, "gas": 21_000, "nonce": n, "chainId": cid, **extra}
        raw = Account.sign_transaction(tx, ALICE.key).raw_transaction
        hh = w3.eth.send_raw_transaction(raw)
        rr = w3.eth.wait_for_transaction_receipt(hh, timeout=20, poll_latency=0.05)
        assert rr["status"] == 1 and rr["gasUsed"] == GAS_ETH_TRANSFER
        got = w3.eth.get_transaction(hh).get("accessList", [])
        assert [(x["address"], [HexBytes(k) for k in x["storageKeys"]]) for x in got] == [
            (x["address"], [HexBytes(k) for k in x["storageKeys"]])
            for x in extra.get("accessList", [])
        ]


def _state(svc: NodeService, w3: Web3) -> tuple[Any, ...]:
    st = client(svc).status()
    return (st["stateRoot"], st["mempool"], w3.eth.get_balance(ALICE.address),
            w3.eth.get_transaction_count(ALICE.address, "pending"))  # fmt: skip


def test_every_bad_wallet_transaction_is_refused(wallet: tuple[NodeService, str, Web3]) -> None:
    svc, token, w3 = wallet
    cid = w3.eth.chain_id
    a = ALICE.address

    def signed(**kw: Any) -> bytes:
        tx = {"to": BOB.address, "value": 1, "gas": 21_000, "nonce": 0, "chainId": cid,
              "maxFeePerGas": 2 * L2_BASE_FEE, "maxPriorityFeePerGas": 0, **kw}  # fmt: skip
        tx = {k: v for k, v in tx.items() if v is not None}
        return bytes(Account.sign_transaction(tx, ALICE.key).raw_transaction)

    # One good transaction first (to have a replay and a "nonce too low").
    good = signed()
    h = w3.eth.send_raw_transaction(good)
    w3.eth.wait_for_transaction_receipt(h, timeout=20, poll_latency=0.05)
    before = _state(svc, w3)
    pre155 = {"to": BOB.address, "value": 1, "gas": 21_000, "nonce": 1, "gasPrice": L2_BASE_FEE}
    cases: list[tuple[str, bytes, int, str]] = [
        ("wrong chain", signed(chainId=1, nonce=1), -32000, "invalid chain id"),
        ("pre-EIP-155", bytes(Account.sign_transaction(pre155, ALICE.key).raw_transaction),
         -32000, "invalid chain id"),
        ("replay", good, -32000, "already known"),
        ("nonce too low", signed(value=2), -32000, "nonce too low"),
        ("nonce gap", signed(nonce=5), -32000, "nonce too high"),
        ("underpriced", signed(nonce=1, maxFeePerGas=L2_BASE_FEE - 1), -32000,
         "transaction underpriced"),
        ("insufficient funds", signed(nonce=1, value=10**19), -32000,
         "insufficient funds for gas * price + value"),
        ("intrinsic gas", signed(nonce=1, gas=20_000), -32000, "intrinsic gas too low"),
        ("malformed RLP", b"\x02\xc3\x01\x02", -32602, "invalid params"),
        ("truncated", good[:-3], -32602, "invalid params"),
        ("unsupported envelope", b"\x04" + good[1:], -32000, "not supported"),
        ("calldata to an unknown address", signed(nonce=1, data="0x12345678"), -32000,
         "not supported"),
        ("contract creation", signed(nonce=1, to=None, data="0x6000", gas=100_000), -32000,
         "not supported"),
        ("value on a token call", signed(nonce=1, to=l2_token_address(token), gas=50_000,
         data="0xa9059cbb" + "00" * 12 + BOB.address[2:] + "00" * 31 + "01"), -32000,
         "not supported"),
        ("token never bridged", signed(nonce=1, value=0, to=l2_token_address("0x" + "77" * 20),
         gas=50_000, data="0xa9059cbb" + "00" * 12 + BOB.address[2:] + "00" * 32), -32000,
         "not supported"),
        ("access list of 5 addresses", signed(
            nonce=1, accessList=[{"address": BOB.address, "storageKeys": []}] * 5),
         -32000, "more than 4 addresses or 16 storage keys"),
        ("access list of 17 keys", signed(nonce=1, accessList=[
            {"address": BOB.address, "storageKeys": ["0x" + "11" * 32] * 17}]),
         -32000, "more than 4 addresses or 16 storage keys"),
    ]  # fmt: skip
    for what, raw, code, text in cases:
        ans = _rpc(svc.url, "eth_sendRawTransaction", ["0x" + raw.hex()])
        assert "error" in ans, (what, ans)
        assert ans["error"]["code"] == code and text in ans["error"]["message"], (what, ans)
    for bad in ("0x", "0xzz", "", 7, None):
        assert _rpc(svc.url, "eth_sendRawTransaction", [bad])["error"]["code"] == -32602
    assert _rpc(svc.url, "eth_sendRawTransaction", [])["error"]["code"] == -32602
    assert _state(svc, w3) == before
    assert w3.eth.get_transaction_count(a) == 1


def test_demo_wallet_part(wallet: tuple[NodeService, str, Web3]) -> None:
    from rich.console import Console

    from offchain.demo.wallet import run_wallet

    svc, token, w3 = wallet
    console = Console(record=True, width=200)
    run_wallet(svc.url, ALICE, BOB.address, token, console)
    out = console.export_text()
    assert "eth_getTransactionReceipt" in out and "Transfer" in out
    assert w3.eth.get_balance(BOB.address) == 10**16
    assert "5 TT" in out and "21,000" in out and "50,000" in out


def test_ape_custom_network_sends_a_transfer(
    wallet: tuple[NodeService, str, Web3], tmp_path: Any
) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    svc, _, w3 = wallet
    here = Path(__file__).parent / "ape_wallet"
    cfg = (here / "ape-config.yaml.in").read_text()
    cfg = cfg.replace("CHAIN_ID", str(w3.eth.chain_id)).replace("NODE_URL", svc.url)
    (tmp_path / "ape-config.yaml").write_text(cfg)
    env = {**os.environ, "APE_DATA_FOLDER": str(tmp_path / "ape-data")}  # its own keystore
    out = subprocess.run(
        [sys.executable, str(here / "send.py"), "0x" + bytes(ALICE.key).hex(), BOB.address],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["chainId"] == w3.eth.chain_id and res["status"] == 1
    assert res["gasUsed"] == GAS_ETH_TRANSFER and res["received"] == 10**15
    assert w3.eth.get_transaction_receipt(res["hash"])["status"] == 1
    assert w3.eth.get_balance(BOB.address) == 10**15 and res["nonce"] == 1


def _transfers(chain_id: int, n: int) -> list[bytes]:
    """ALICE's EIP-1559 transfers of 1 wei to BOB with nonces 0..n-1, signed by eth-account."""
    return [
        bytes(Account.sign_transaction(
            {"to": BOB.address, "value": 1, "gas": 21_000, "nonce": k, "chainId": chain_id,
             "maxFeePerGas": 2 * L2_BASE_FEE, "maxPriorityFeePerGas": 0}, ALICE.key,
        ).raw_transaction)
        for k in range(n)
    ]  # fmt: skip


def _send_batch(url: str, raws: list[bytes]) -> list[dict[str, Any]]:
    """The answers to one JSON-RPC batch of ``eth_sendRawTransaction`` of ``raws``."""
    body = [
        {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": ["0x" + r.hex()]}
        for i, r in enumerate(raws)
    ]
    return requests.post(url, json=body, timeout=30).json()  # type: ignore[no-any-return]


def test_a_transaction_sent_into_a_busy_mempool_has_its_receipt_at_once(
    rollup_env: RollupEnv,
) -> None:
    """ethers and viem ask for the receipt once right after sending, then wait for a *new*
    block. A transaction sent alone into a non-empty mempool is answered before its seal; if
    the block sealing it came between those two steps, and no other followed (the L2 makes
    no empty blocks), the wallet would wait forever. Its receipt is there at the first ask,
    from the very next block."""
    svc, _ = funded_node(rollup_env, block_time_ms=1000)  # long enough to send into it
    w3 = Web3(Web3.HTTPProvider(svc.url))
    cid = w3.eth.chain_id
    raws = _transfers(cid, 3)
    # Two in one JSON-RPC batch: neither waits for its seal, both stay pending.
    assert all("result" in a for a in _send_batch(svc.url, raws[:2]))
    head = w3.eth.block_number
    assert client(svc).status()["mempool"] == 2
    h = w3.eth.send_raw_transaction(raws[2])  # alone, into a non-empty mempool: no wait
    r = w3.eth.get_transaction_receipt(h)  # the wallet's first ask (raises if there is none)
    assert r["status"] == 1 and r["blockNumber"] == head + 1
    for raw in raws[:2]:
        assert w3.eth.get_transaction_receipt(Web3.keccak(raw))["blockNumber"] == head + 1


def test_follower_forwards_wallet_transactions(rollup_env: RollupEnv) -> None:
    env = rollup_env
    nodes = env.start_nodes(env.signers[:3])
    seq, follower = nodes[0], nodes[1]
    assert seq.node is not None and seq.node.is_current()
    env.bridge(ALICE).deposit_eth(ALICE.address, 10**18)
    wait_until(lambda: client(follower).balance(ALICE.address) == 10**18, what="deposit")
    w3 = Web3(Web3.HTTPProvider(follower.url))  # the wallet talks to a follower only
    w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(ALICE), layer=0)
    h = w3.eth.send_transaction({"from": ALICE.address, "to": BOB.address, "value": 12345})
    r = w3.eth.wait_for_transaction_receipt(h, timeout=20, poll_latency=0.05)
    assert r["status"] == 1 and w3.eth.get_balance(BOB.address) == 12345
    assert seq.node.store.receipt(bytes(h)) is not None  # sealed by the current sequencer
    assert follower.node is not None and follower.node.metrics.forwarded._value.get() >= 1
    # Two in a row through the follower: the second gets the next nonce from its "pending".
    hs = [w3.eth.send_transaction({"from": ALICE.address, "to": BOB.address, "value": v})
          for v in (1, 2)]  # fmt: skip
    # The follower answers the receipt at the first ask: it waits for the block to reach it.
    assert w3.eth.get_transaction_receipt(hs[-1])["status"] == 1
    for hh in hs:
        assert w3.eth.wait_for_transaction_receipt(hh, timeout=20, poll_latency=0.05)["status"] == 1
    assert w3.eth.get_balance(BOB.address) == 12345 + 3
    # A refusal relayed from the current sequencer keeps the wallet's message.
    stale = Account.sign_transaction(  # nonce 0 again
        {"to": BOB.address, "value": 1, "gas": 21_000, "nonce": 0, "chainId": w3.eth.chain_id,
         "maxFeePerGas": 2 * L2_BASE_FEE, "maxPriorityFeePerGas": 0}, ALICE.key,
    ).raw_transaction  # fmt: skip
    err = _rpc(follower.url, "eth_sendRawTransaction", ["0x" + bytes(stale).hex()])["error"]
    assert err["code"] == -32000 and "nonce too low" in err["message"]


def test_a_batch_of_wallet_transactions_is_not_sealed_one_by_one(
    wallet: tuple[NodeService, str, Web3],
) -> None:
    svc, _, w3 = wallet
    cid = w3.eth.chain_id
    ans = _send_batch(svc.url, _transfers(cid, 20))
    assert all("result" in a for a in ans), ans
    rs = [w3.eth.wait_for_transaction_receipt(a["result"], timeout=20, poll_latency=0.05)
          for a in ans]  # fmt: skip
    # In a batch of several sends none waits for its seal (else 20 blocks, one per request).
    assert len({r["blockNumber"] for r in rs}) <= 3


def _signed(key: Any, to: str, value: int, nonce: int, chain_id: int) -> str:
    tx = {"to": to, "value": value, "gas": 21_000, "nonce": nonce, "chainId": chain_id,
          "maxFeePerGas": 2 * L2_BASE_FEE, "maxPriorityFeePerGas": 0}  # fmt: skip
    return "0x" + bytes(Account.sign_transaction(tx, key).raw_transaction).hex()


def test_concurrent_wallets_one_request_each_all_land_and_a_lone_one_waits(
    wallet: tuple[NodeService, str, Web3],
) -> None:
    """Single requests go through the node's submission lane: a lone one (empty mempool) is
    answered once sealed or after its full wait, never before; wallets sending at once on
    their own connections all get their hash and every transaction lands, in nonce order."""
    svc, _, w3 = wallet
    assert svc.node is not None
    cid = w3.eth.chain_id
    wallets = [dev_account(40 + i) for i in range(8)]
    t0 = time.monotonic()
    first = _rpc(svc.url, "eth_sendRawTransaction",
                 [_signed(ALICE.key, wallets[0].address, 10**17, 0, cid)])["result"]  # fmt: skip
    sealed = svc.node.store.receipt(bytes.fromhex(first[2:])) is not None
    assert sealed or time.monotonic() - t0 >= 2 * svc.node.config.block_time_ms / 1000
    funds = [_signed(ALICE.key, w.address, 10**17, n, cid) for n, w in enumerate(wallets[1:], 1)]
    for raw in funds:
        assert "result" in _rpc(svc.url, "eth_sendRawTransaction", [raw])
    c = client(svc)
    wait_until(lambda: all(c.balance(w.address) == 10**17 for w in wallets), what="funded")
    answers: dict[int, list[Any]] = {}

    def send(i: int) -> None:
        with requests.Session() as s:  # one keep-alive connection per wallet
            answers[i] = [
                s.post(svc.url, json={"jsonrpc": "2.0", "id": n, "method":
                       "eth_sendRawTransaction", "params": [_signed(
                           wallets[i].key, BOB.address, 1, n, cid)]}, timeout=30).json()
                for n in range(10)
            ]  # fmt: skip

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(wallets))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    hashes = [a["result"] for i in range(len(wallets)) for a in answers[i]]
    assert len(hashes) == 80, answers
    rs = [w3.eth.wait_for_transaction_receipt(h, timeout=30, poll_latency=0.05) for h in hashes]
    assert all(r["status"] == 1 for r in rs)
    assert all(w3.eth.get_transaction_count(w.address) == 10 for w in wallets)
