"""``l2kit bridge``: the L1 side of the rollup for users: batches, deposits, withdrawals.

``finalize`` pays an L2 withdrawal on L1 once its batch is final: the proof comes from an L2
node (``l2_getProof("withdrawal", txHash)``) or from a JSON file with the same fields.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests
import typer
from rich.console import Console
from rich.table import Table

from offchain.cli_common import (
    DEVNET_DEPLOYMENT,
    DEVNET_RPC_URL,
    JSON,
    KEY,
    account,
    connect,
    make_console,
    print_json,
)
from offchain.errors import ConfigError, RpcError

app = typer.Typer(
    no_args_is_help=True, help="L1 bridge and batches: deposits, withdrawals, status."
)

# This CLI has always spelled it --dev; --dev-account (as everywhere else) works too.
DEV = typer.Option(None, "--dev", "--dev-account", help="use Anvil dev account N instead of --key")


def _load_proof(node: str | None, tx: str | None, proof_file: Path | None) -> dict[str, Any]:
    """The withdrawal proof JSON (fields of the node's ``l2_getProof("withdrawal", hash)``)."""
    if proof_file is not None:
        try:
            data = json.loads(proof_file.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ConfigError(f"cannot read proof file {proof_file}: {e}") from e
        return data  # type: ignore[no-any-return]
    if not node or not tx:
        raise ConfigError("give --proof FILE, or --node URL and --tx HASH")
    body = {"jsonrpc": "2.0", "id": 1, "method": "l2_getProof", "params": ["withdrawal", tx]}
    try:
        resp = requests.post(node, json=body, timeout=10).json()
    except (requests.RequestException, ValueError) as e:
        raise RpcError(f"cannot reach the L2 node at {node}: {e}") from e
    if "error" in resp:
        err = resp["error"]
        raise RpcError(f"the L2 node refused: {err.get('message', err)}")
    return resp["result"]  # type: ignore[no-any-return]


@app.command("finalize")
def finalize(
    tx: str = typer.Option(None, "--tx", help="L2 withdrawal transaction hash"),
    node: str = typer.Option(None, "--node", help="L2 node RPC URL that has the proof"),
    proof: Path = typer.Option(None, "--proof", help="proof JSON instead of --node/--tx"),
    key: str = KEY,
    dev: int = DEV,
    rpc_url: str = DEVNET_RPC_URL,
    deployment: Path = DEVNET_DEPLOYMENT,
) -> None:
    """Pay an L2 withdrawal on L1 (after its batch's challenge window)."""
    from offchain.bridge.client import BridgeClient
    from offchain.bridge.types import Withdrawal
    from offchain.rollup.ledger.batch import BatchHeader

    p = _load_proof(node, tx, proof)
    try:
        header = BatchHeader.from_json(p["header"])
        w = Withdrawal(
            bytes.fromhex(p["txHash"].removeprefix("0x")),
            p["l1Recipient"],
            p["token"],
            int(p["amount"]),
        )
        siblings = [bytes.fromhex(s.removeprefix("0x")) for s in p["proof"]]
        tx_index = int(p["txIndex"])
    except (KeyError, ValueError, TypeError) as e:
        raise ConfigError(f"malformed withdrawal proof: {e}") from e
    chain, dep = connect(rpc_url, deployment)
    client = BridgeClient(chain, dep.addresses["l1_bridge"], chain.sender(account(key, dev)))
    rcpt = client.finalize_withdrawal(header, tx_index, w, siblings)
    Console(soft_wrap=True).print(
        f"withdrawal paid: {w.amount} of {w.token} to {w.recipient} "
        f"(batch {header.index}, L1 tx 0x{bytes(rcpt['transactionHash']).hex()})"
    )


@app.command("batches")
def batches(
    last: int = typer.Option(10, "--last", help="how many of the latest batches"),
    rpc_url: str = DEVNET_RPC_URL,
    deployment: Path = DEVNET_DEPLOYMENT,
    as_json: bool = JSON,
) -> None:
    """The latest batches on L1 with their status and roots."""
    from offchain.cli_common import when
    from offchain.rollup.l1.bindings import RollupL1

    chain, dep = connect(rpc_url, deployment)
    rl = RollupL1.from_deployment(chain, dep)
    nxt = rl.next_index()
    rows: list[dict[str, Any]] = []
    for i in range(max(0, nxt - last), nxt):
        h = rl.get_header_from_event(i)
        rows.append(
            {
                "index": i,
                "status": rl.batch_status(i).name.lower(),
                "tx_count": h.tx_count,
                "first_block": h.first_block,
                "last_block": h.first_block + h.l2_blocks - 1,
                "tx_root": "0x" + h.tx_root.hex(),
                "state_roots_root": "0x" + h.state_roots_root.hex(),
                "final_state_root": "0x" + h.final_state_root.hex(),
                "finalizes_at": rl.finalizes_at(i),
            }
        )
    if as_json:
        print_json({"next_index": nxt, "batches": rows})
        return
    table = Table("index", "status", "txs", "blocks", "MTTBR", "MTSR", "final at")
    for r in rows:
        table.add_row(
            str(r["index"]),
            r["status"],
            str(r["tx_count"]),
            f"{r['first_block']}..{r['last_block']}",
            r["tx_root"][:14],
            r["state_roots_root"][:14],
            when(r["finalizes_at"]),
        )
    make_console().print(table if nxt else "no batches on L1 yet")


@app.command("deposits")
def deposits(
    rpc_url: str = DEVNET_RPC_URL,
    deployment: Path = DEVNET_DEPLOYMENT,
    as_json: bool = JSON,
) -> None:
    """Every deposit queued on the L1 bridge."""
    from offchain.bridge.client import BridgeClient

    chain, dep = connect(rpc_url, deployment)
    client = BridgeClient(chain, dep.addresses["l1_bridge"])
    deposits = client.deposits()
    if as_json:
        print_json(
            [
                {
                    "deposit_id": d.deposit_id,
                    "sender": d.sender,
                    "l2_recipient": d.l2_recipient,
                    "token": d.token,
                    "amount_wei": str(d.amount),
                }
                for d in deposits
            ]
        )
        return
    table = Table("id", "from (L1)", "to (L2)", "token", "amount")
    for d in deposits:
        table.add_row(str(d.deposit_id), d.sender, d.l2_recipient, d.token, str(d.amount))
    make_console().print(table)
