"""The standard Ethereum JSON-RPC of a running node (real NodeService on Anvil), read by an
unmodified web3.py client: chain id, blocks, balances, nonces, fees, ERC-20 views of a bridged
token's L2 address; bad params get -32602 and change nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError

from offchain.chain.accounts import dev_account
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.ledger.ethtx import (
    GAS_ETH_TRANSFER,
    GAS_ETH_WITHDRAW,
    GAS_TOKEN_TRANSFER,
    GAS_TOKEN_WITHDRAW,
    L2_BASE_FEE,
    WITHDRAW_ADDRESS,
    l1_token_of,
    l2_token_address,
)
from offchain.rollup.node.service import NodeService
from tests.helpers.wallet import funded_node
from tests.rollup.conftest import RollupEnv, client

ALICE, BOB = dev_account(10), dev_account(11)
ERC20_ABI = [
    {"name": n, "type": "function", "stateMutability": "view", "inputs": i,
     "outputs": [{"name": "", "type": t}]}
    for n, i, t in [
        ("balanceOf", [{"name": "a", "type": "address"}], "uint256"),
        ("totalSupply", [], "uint256"), ("decimals", [], "uint8"),
        ("symbol", [], "string"), ("name", [], "string"),
    ]
]  # fmt: skip


def _rpc(url: str, method: str, params: Any) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    r = requests.post(url, data=json.dumps(body), timeout=10)
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture
def funded(rollup_env: RollupEnv) -> tuple[NodeService, str]:
    return funded_node(rollup_env)


def test_token_address_mapping_is_invertible() -> None:
    for t in (
        "0x" + "00" * 19 + "01",
        "0x" + "ff" * 20,
        "0x5fbdb2315678afecb367f032d93f642f64180aa3",
    ):
        a = l2_token_address(t)
        assert a != t and l1_token_of(a).lower() == t
    assert l2_token_address("0x" + "ff" * 20) == "0x1111000000000000000000000000000000001110"


def test_web3_reads_chain_blocks_balances_and_fees(funded: tuple[NodeService, str]) -> None:
    svc, token = funded
    w3 = Web3(Web3.HTTPProvider(svc.url))
    assert w3.is_connected()
    assert w3.eth.chain_id == svc.node.executor.domain.chain_id
    assert w3.net.version == str(w3.eth.chain_id)
    assert w3.client_version.startswith("l2kit/")
    head = w3.eth.block_number
    assert head == svc.node.head >= 1
    blk = w3.eth.get_block("latest")
    assert blk["number"] == head and blk["hash"] == svc.node.head_hash
    assert blk["baseFeePerGas"] == L2_BASE_FEE and blk["miner"].lower() == svc.node.address
    assert w3.eth.get_block(blk["hash"])["number"] == head  # by hash
    full = w3.eth.get_block(1, full_transactions=True)
    assert full["transactions"][0]["hash"] == w3.eth.get_block(1)["transactions"][0]
    assert _rpc(svc.url, "eth_getBlockByNumber", [hex(head + 100), False])["result"] is None
    assert w3.eth.get_balance(ALICE.address) == 3 * 10**18
    assert w3.eth.get_balance(BOB.address) == 0
    assert w3.eth.get_transaction_count(ALICE.address) == 0
    assert w3.eth.get_transaction_count(ALICE.address, "pending") == 0
    assert w3.eth.gas_price == L2_BASE_FEE
    assert w3.eth.max_priority_fee == 0
    fh = w3.eth.fee_history(4, "latest", [10, 90])
    assert fh["baseFeePerGas"] == [L2_BASE_FEE] * (min(4, head + 1) + 1)
    assert w3.eth.syncing is False and w3.eth.accounts == []
    # The bridged token's L2 address answers the ERC-20 views.
    l2t = Web3.to_checksum_address(l2_token_address(token))
    assert w3.eth.get_code(l2t) != b"" and w3.eth.get_code(BOB.address) == b""
    erc = w3.eth.contract(address=l2t, abi=ERC20_ABI)
    assert erc.functions.balanceOf(ALICE.address).call() == 5 * 10**18
    assert erc.functions.totalSupply().call() == 5 * 10**18
    l1t = svc.contracts.chain.contract("TestToken", token).functions  # the L1 token's own
    assert erc.functions.symbol().call() == l1t.symbol().call()
    assert erc.functions.name().call() == l1t.name().call() == "L2Kit Test Token"
    assert erc.functions.decimals().call() == 18
    # Fixed gas per kind.
    a, b = ALICE.address, BOB.address
    assert w3.eth.estimate_gas({"from": a, "to": b, "value": 1}) == GAS_ETH_TRANSFER
    xfer = "0xa9059cbb" + "00" * 12 + b[2:].lower() + (1).to_bytes(32, "big").hex()
    assert w3.eth.estimate_gas({"from": a, "to": l2t, "data": xfer}) == GAS_TOKEN_TRANSFER
    wd = "0x51cff8d9" + "00" * 12 + a[2:].lower()
    wto = Web3.to_checksum_address(WITHDRAW_ADDRESS)
    assert w3.eth.estimate_gas({"from": a, "to": wto, "data": wd, "value": 5}) == GAS_ETH_WITHDRAW
    wdt = (
        "0x" + Web3.keccak(text="withdrawToken(address,uint256,address)")[:4].hex()
        + "00" * 12 + token[2:].lower() + (1).to_bytes(32, "big").hex() + "00" * 12 + a[2:].lower()
    )  # fmt: skip
    assert w3.eth.estimate_gas({"from": a, "to": wto, "data": wdt}) == GAS_TOKEN_WITHDRAW
    for bad in ({"from": a, "data": "0x6000"}, {"from": a, "to": b, "data": "0x1234"}):
        with pytest.raises(Web3RPCError) as ei:
            w3.eth.estimate_gas(bad)  # type: ignore[arg-type]
        assert "unsupported" in str(ei.value)


def test_estimate_gas_refuses_a_zero_withdrawal(funded: tuple[NodeService, str]) -> None:
    """A withdrawal of 0 (ETH or token) is refused by the node (``zero_amount``): estimating
    its gas answers the same refusal, never a gas a wallet would then sign with."""
    svc, token = funded
    w3 = Web3(Web3.HTTPProvider(svc.url))
    a = ALICE.address
    wto = Web3.to_checksum_address(WITHDRAW_ADDRESS)
    wd = "0x51cff8d9" + "00" * 12 + a[2:].lower()
    sel = Web3.keccak(text="withdrawToken(address,uint256,address)")[:4].hex()
    wdt0 = "0x" + sel + "00" * 12 + token[2:].lower() + "00" * 32 + "00" * 12 + a[2:].lower()
    for call in (
        {"from": a, "to": wto, "data": wd},
        {"from": a, "to": wto, "data": wd, "value": 0},
        {"to": wto, "data": wd},
        {"from": a, "to": wto, "data": wdt0},
    ):
        # web3.py reports an estimate refused with error data as a revert.
        with pytest.raises(ContractLogicError) as ei:
            w3.eth.estimate_gas(call)  # type: ignore[arg-type]
        assert "invalid withdrawal amount" in str(ei.value), call
        assert ei.value.data == {"reason": "zero_amount"}, call
        err = _rpc(svc.url, "eth_estimateGas", [{**call, "value": hex(call.get("value", 0))}])
        assert err["error"]["code"] == -32000, (call, err)
        assert err["error"]["message"].startswith("invalid withdrawal amount: "), (call, err)
    assert w3.eth.estimate_gas({"from": a, "to": wto, "data": wd, "value": 1}) == GAS_ETH_WITHDRAW


def test_bad_params_are_invalid_params_and_change_nothing(funded: tuple[NodeService, str]) -> None:
    svc, _ = funded
    keys = ("head", "headHash", "stateRoot", "mempool", "nextDepositId")
    before = {k: client(svc).status()[k] for k in keys}
    for method, params in [
        ("eth_getBalance", ["0x12", "latest"]),
        ("eth_getBalance", [ALICE.address, "0xzz"]),
        ("eth_getBalance", [ALICE.address, "sometime"]),
        ("eth_getBlockByNumber", ["0x1", "yes"]),
        ("eth_getBlockByNumber", ["0x" + "f" * 70, False]),
        ("eth_getBlockByHash", ["0x1234", False]),
        ("eth_getTransactionCount", []),
        ("eth_call", ["0x00", "latest"]),
        ("eth_feeHistory", ["0x4", "latest", [90, 10]]),
        ("eth_estimateGas", [{"to": BOB.address, "value": "lots"}]),
    ]:
        err = _rpc(svc.url, method, params)["error"]
        assert err["code"] == -32602, (method, params, err)
    # An older block's state is not kept: an execution error, never a wrong answer.
    assert _rpc(svc.url, "eth_getBalance", [ALICE.address, "0x0"])["error"]["code"] == -32000
    assert {k: client(svc).status()[k] for k in keys} == before


def test_latest_nonce_leaves_out_unsealed_transactions(funded: tuple[NodeService, str]) -> None:
    svc, _ = funded
    svc.producer.stop()  # type: ignore[union-attr]  # nothing sealed from here on
    c = client(svc)
    c.send(ltx.encode_tx(ltx.sign_transfer(ALICE, c_domain(svc), BOB.address, ltx.ETH, 1, 0, 0)))
    w3 = Web3(Web3.HTTPProvider(svc.url))
    assert w3.eth.get_transaction_count(ALICE.address, "pending") == 1
    assert w3.eth.get_transaction_count(ALICE.address, "latest") == 0


def c_domain(svc: NodeService) -> ltx.Domain:
    d = svc.node.executor.domain
    return ltx.Domain(d.chain_id, d.verifying_contract)
