"""Demo, wallet part of the rollup scene: a plain web3.py client (eth-account signing, the
standard JSON-RPC; no l2kit code on the client side) sends ETH and an ERC-20 transfer to the
L2 and prints the receipts ``eth_getTransactionReceipt`` returns."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

# What a dApp ships: the ERC-20 ABI it calls on the token's L2 address.
ERC20_ABI = [
    {"name": "transfer", "type": "function", "stateMutability": "nonpayable",
     "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
     "outputs": [{"name": "", "type": "bool"}]},
    {"name": "balanceOf", "type": "function", "stateMutability": "view",
     "inputs": [{"name": "a", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]},
    {"name": "symbol", "type": "function", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "string"}]},
    {"name": "Transfer", "type": "event", "anonymous": False,
     "inputs": [{"name": "from", "type": "address", "indexed": True},
                {"name": "to", "type": "address", "indexed": True},
                {"name": "value", "type": "uint256", "indexed": False}]},
]  # fmt: skip
# The L2 token address of an L1 token T (docs/spec.md): T + 0x1111…1111 mod 2^160.
ALIAS_OFFSET = 0x1111000000000000000000000000000000001111


def run_wallet(url: str, sender: Any, to: str, l1_token: str | None, console: Console) -> None:
    """Send 0.01 ETH and (if ``l1_token``) 5 tokens from ``sender`` (an eth-account
    ``LocalAccount``) to ``to`` through ``url``, as any wallet would, and print the receipts."""
    from web3 import Web3
    from web3.types import Wei

    w3 = Web3(Web3.HTTPProvider(url))
    to = Web3.to_checksum_address(to)
    chain_id = w3.eth.chain_id
    console.print(
        f"wallet view of the L2: chain id {chain_id}, block {w3.eth.block_number}, "
        f"gas price {w3.eth.gas_price / 1e9:g} gwei, {sender.address} holds "
        f"{w3.eth.get_balance(sender.address) / 1e18:g} ETH"
    )
    base = w3.eth.get_block("latest")["baseFeePerGas"]
    fees: dict[str, Any] = {
        "maxFeePerGas": 2 * base,
        "maxPriorityFeePerGas": w3.eth.max_priority_fee,
    }
    nonce = w3.eth.get_transaction_count(sender.address, "pending")
    sent = []
    eth_tx: dict[str, Any] = {
        "to": to,
        "value": 10**16,
        "nonce": nonce,
        "chainId": chain_id,
        **fees,
    }
    eth_tx["gas"] = w3.eth.estimate_gas({"from": sender.address, "to": to, "value": Wei(10**16)})
    signed = sender.sign_transaction(eth_tx)
    sent.append(("0.01 ETH", w3.eth.send_raw_transaction(signed.raw_transaction)))
    if l1_token:
        l2t = Web3.to_checksum_address(
            "0x" + ((int(l1_token, 16) + ALIAS_OFFSET) % (1 << 160)).to_bytes(20, "big").hex()
        )
        erc = w3.eth.contract(address=l2t, abi=ERC20_ABI)
        params: Any = {"from": sender.address, "nonce": nonce + 1, "chainId": chain_id, **fees}
        tx = erc.functions.transfer(to, 5 * 10**18).build_transaction(params)
        signed = sender.sign_transaction(tx)
        sent.append(
            (
                f"5 {erc.functions.symbol().call()}",
                w3.eth.send_raw_transaction(signed.raw_transaction),
            )
        )
    table = Table(title="eth_getTransactionReceipt (a plain web3.py wallet)")
    for col in ("sent", "tx hash", "block", "status", "gasUsed", "effectiveGasPrice", "logs"):
        table.add_column(col)
    for what, h in sent:
        r = w3.eth.wait_for_transaction_receipt(h, timeout=30, poll_latency=0.1)
        logs = ", ".join(f"Transfer {lg['topics'][1].hex()[-8:]}→{lg['topics'][2].hex()[-8:]}"
                         for lg in r["logs"]) or "-"  # fmt: skip
        price = f"{r['effectiveGasPrice'] / 1e9:g} gwei"
        table.add_row(what, h.hex()[:18] + "…", str(r["blockNumber"]), str(r["status"]),
                      f"{r['gasUsed']:,}", price, logs)  # fmt: skip
    console.print(table)
    line = f"recipient now holds {w3.eth.get_balance(to) / 1e18:g} ETH on L2"
    if l1_token:
        line += (
            f" and {erc.functions.balanceOf(to).call() / 1e18:g} {erc.functions.symbol().call()}"
        )
    console.print(line)
