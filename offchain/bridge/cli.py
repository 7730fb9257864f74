"""``l2kit bridge``: the L1 side of the rollup for users: batches, deposits, withdrawals.

``finalize`` pays an L2 withdrawal on L1 once its batch is final: the proof comes from an L2
node (``l2_getProof("withdrawal", txHash)``) or from a JSON file with the same fields.

Censorship resistance and exit (docs/spec.md, "Forced inclusion", "Escape hatch"): ``force-tx``
signs an L2 transfer or withdrawal and posts it on L1 (``--wait`` follows it to its L2
receipt); ``freeze`` freezes a stalled rollup; ``escape`` pays an L2 balance of the last final
state on L1, with a proof rebuilt from batch data or a node store (no sequencer needed);
``refund`` returns deposits the last final batch had not consumed.
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


def _domain(chain: Any, dep: Any) -> Any:
    """The L2 EIP-712 domain from the config's L2 chain id and the deployment (no node needed)."""
    from offchain.config import load_config
    from offchain.rollup.ledger import tx as ltx

    cid = load_config().rollup.l2_chain_id
    return ltx.Domain(cid, ltx.to_checksum(dep.addresses["state_commitment"]))


def _l2_nonce(node: str | None, address: str) -> int:
    from offchain.rollup.node.client import L2Client

    if not node:
        raise ConfigError("give --nonce N, or --node URL to read it from an L2 node")
    try:
        return int(L2Client(node).nonce(address))
    except (RpcError, requests.RequestException) as e:
        raise RpcError(
            f"cannot read the L2 nonce of {address} from {node}: {e}", "pass --nonce N"
        ) from e


def _wait_l2_receipt(node: str, tx_hash: str, timeout_s: float) -> dict[str, Any]:
    """Poll ``node`` until the forced tx has a final receipt (a censor may delay it)."""
    import time

    from offchain.rollup.node.client import L2Client

    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = L2Client(node).receipt(tx_hash)
        except (RpcError, requests.RequestException) as e:
            last = str(e)
        if isinstance(last, dict) and last.get("status") not in (None, "pending"):
            return last
        time.sleep(0.25)
    raise RpcError(f"forced tx {tx_hash} has no L2 receipt after {timeout_s:.0f}s (last: {last})")


@app.command("force-tx")
def force_tx(
    to: str = typer.Option(
        ..., "--to", help="L2 recipient (transfer) or L1 recipient (--withdraw)"
    ),
    amount: int = typer.Option(..., "--amount", help="smallest units (wei)"),
    token: str = typer.Option("0x" + "00" * 20, "--token", help="L1 token address (0x0 = ETH)"),
    fee: int = typer.Option(1, "--fee", help="L2 fee for the including sequencer (> 0)"),
    withdraw: bool = typer.Option(False, "--withdraw", help="a withdrawal to L1 instead"),
    nonce: int = typer.Option(None, "--nonce", help="L2 nonce (default: read from --node)"),
    node: str = typer.Option(None, "--node", help="L2 node RPC URL (nonce, --wait)"),
    wait: bool = typer.Option(False, "--wait", help="follow it to its L2 receipt (needs --node)"),
    timeout_s: float = typer.Option(300.0, "--timeout-s", help="--wait gives up after this"),
    key: str = KEY,
    dev: int = DEV,
    rpc_url: str = DEVNET_RPC_URL,
    deployment: Path = DEVNET_DEPLOYMENT,
    as_json: bool = JSON,
) -> None:
    """Sign an L2 transfer/withdrawal and force it through the L1 queue (censorship resistance)."""
    from offchain.bridge.client import BridgeClient
    from offchain.rollup.ledger import tx as ltx

    if wait and not node:
        raise ConfigError("--wait follows the L2 receipt: give --node URL")
    acct = account(key, dev)
    chain, dep = connect(rpc_url, deployment)
    domain = _domain(chain, dep)
    n = nonce if nonce is not None else _l2_nonce(node, acct.address)
    sign = ltx.sign_withdraw if withdraw else ltx.sign_transfer
    try:
        t = sign(acct, domain, to, token, amount, fee, n)
        raw = ltx.encode_tx(t)
    except ltx.TxRejected as e:
        raise ConfigError(f"cannot build the transaction: {e.message}") from None
    client = BridgeClient(chain, dep.addresses["l1_bridge"], chain.sender(acct))
    qid, deadline, h = client.force_tx(raw)
    out: dict[str, Any] = {
        "queue_id": qid,
        "deadline": deadline,
        "l2_tx_hash": "0x" + h.hex(),
        "kind": "withdraw" if withdraw else "transfer",
        "nonce": n,
    }
    console = Console(soft_wrap=True)
    if not as_json:
        console.print(
            f"forced tx queued at position {qid} (L2 tx 0x{h.hex()}); a batch must include it "
            f"by {deadline}"
        )
    if wait:
        r = _wait_l2_receipt(node, "0x" + h.hex(), timeout_s)
        out["receipt"] = r
        if not as_json:
            extra = f" ({r['detail']})" if r.get("detail") else ""
            console.print(f"L2 receipt: status {r['status']}{extra} in block {r['blockNumber']}")
    if as_json:
        print_json(out)


@app.command("freeze")
def freeze(
    key: str = KEY,
    dev: int = DEV,
    rpc_url: str = DEVNET_RPC_URL,
    deployment: Path = DEVNET_DEPLOYMENT,
) -> None:
    """Freeze a rollup whose batches stopped while L1 queue items wait (opens the escape hatch)."""
    chain, dep = connect(rpc_url, deployment)
    sc = chain.contract("StateCommitment", dep.addresses["state_commitment"])
    chain.sender(account(key, dev)).send(sc.functions.freeze())
    Console(soft_wrap=True).print(f"rollup frozen at {sc.functions.frozenAt().call()}")


@app.command("escape")
def escape(
    account_: str = typer.Option(..., "--account", help="the L2 account to pay out"),
    token: list[str] = typer.Option(
        None, "--token", help="L1 token (repeatable; default: ETH only)"
    ),
    storage_url: str = typer.Option(None, "--storage-url", help="blob store with batch data"),
    snapshot_dir: Path = typer.Option(None, "--snapshot-dir", help="a verifier's snapshot dir"),
    node_db: Path = typer.Option(None, "--node-db", help="a node store (<data-dir>/node.db)"),
    proof_only: bool = typer.Option(False, "--proof-only", help="print the proof, send nothing"),
    key: str = KEY,
    dev: int = DEV,
    rpc_url: str = DEVNET_RPC_URL,
    deployment: Path = DEVNET_DEPLOYMENT,
    as_json: bool = JSON,
) -> None:
    """After the freeze: pay ACCOUNT's balance at the last final state root on L1 (any sequencer
    may be gone: the state is rebuilt from batch data or a node store)."""
    from offchain.bridge.client import BridgeClient
    from offchain.bridge.escape import build_escape_proof
    from offchain.rollup.l1.bindings import RollupL1
    from offchain.rollup.ledger import tx as ltx

    chain, dep = connect(rpc_url, deployment)
    l1 = RollupL1.from_deployment(chain, dep)
    domain = _domain(chain, dep)
    sender = None if proof_only else chain.sender(account(key, dev))
    client = BridgeClient(chain, dep.addresses["l1_bridge"], sender)
    if not proof_only and int(l1.sc.functions.frozenAt().call()) == 0:
        raise ConfigError(
            "the rollup is not frozen: escape opens after `l2kit bridge freeze`",
            "use --proof-only to see the proof now",
        )
    rows = []
    console = Console(soft_wrap=True)
    for tok in token or [ltx.ETH]:
        p, used = build_escape_proof(
            l1,
            domain,
            account_,
            tok,
            storage_url=storage_url,
            snapshot_dir=snapshot_dir,
            node_db=node_db,
            bridge=client.bridge,
        )
        row: dict[str, Any] = {
            "account": p.account,
            "token": p.token,
            "balance_wei": str(p.balance),
            "batch": p.header.index,
            "sources": used,
        }
        if p.balance == 0:
            row["paid"] = False
            row["note"] = "no balance in the last final state"
        elif client.escaped(p.account, p.token):
            row["paid"] = False
            row["note"] = "already escaped"
        elif proof_only:
            row["proof"] = _json_safe(p.to_abi())
        else:
            rcpt = client.escape(p.account, p.token, p.balance, p.to_abi())
            row["paid"] = True
            row["l1_tx"] = "0x" + bytes(rcpt["transactionHash"]).hex()
        rows.append(row)
        if not as_json:
            console.print(
                f"{p.account} token {p.token}: balance {p.balance} at batch {p.header.index} "
                f"({', '.join(f'{k} {v}' for k, v in used.items())}): "
                + ("paid on L1" if row.get("paid") else row.get("note", "proof built"))
            )
    if as_json:
        print_json(rows)


def _json_safe(x: Any) -> Any:
    if isinstance(x, bytes):
        return "0x" + x.hex()
    if isinstance(x, list | tuple):
        return [_json_safe(v) for v in x]
    return str(x) if isinstance(x, int) else x


@app.command("refund")
def refund(
    sender_: str = typer.Option(
        None, "--sender", help="refund only this L1 sender's deposits (default: all)"
    ),
    key: str = KEY,
    dev: int = DEV,
    rpc_url: str = DEVNET_RPC_URL,
    deployment: Path = DEVNET_DEPLOYMENT,
    as_json: bool = JSON,
) -> None:
    """After the freeze: refund every deposit the last final batch had not consumed."""
    from offchain.bridge.client import BridgeClient
    from offchain.bridge.escape import last_final_index
    from offchain.rollup.l1.bindings import RollupL1
    from offchain.rollup.ledger.batch import BatchHeader

    chain, dep = connect(rpc_url, deployment)
    l1 = RollupL1.from_deployment(chain, dep)
    if int(l1.sc.functions.frozenAt().call()) == 0:
        raise ConfigError("the rollup is not frozen: refunds open after `l2kit bridge freeze`")
    client = BridgeClient(chain, dep.addresses["l1_bridge"], chain.sender(account(key, dev)))
    k = last_final_index(l1, client.bridge)
    if k is None:
        first, header = 0, BatchHeader(0, 0, 0, 0, 0, b"\x00" * 32, *([b"\x00" * 32] * 5))
    else:
        header = l1.get_header_from_event(k)
        first = header.deposit_count
    rows = []
    for d in client.deposits():
        if d.deposit_id < first or client.refunded(d.deposit_id):
            continue
        if sender_ and d.sender.lower() != sender_.lower():
            continue
        client.refund_deposit(header.as_tuple(), d)
        rows.append({"deposit_id": d.deposit_id, "sender": d.sender, "token": d.token,
                     "amount_wei": str(d.amount)})  # fmt: skip
    if as_json:
        print_json(rows)
        return
    console = Console(soft_wrap=True)
    for r in rows:
        console.print(f"deposit #{r['deposit_id']}: {r['amount_wei']} of {r['token']} back to "
                      f"{r['sender']}")  # fmt: skip
    if not rows:
        console.print("no deposit to refund")
