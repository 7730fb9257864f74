"""Demo scene: the rollup end to end on the devnet, then cheating sequencers caught (a forged
MTSR, a forged standard transaction, withheld data).

1. Every active sequencer runs a node (JSON-RPC, blocks, co-signing, batcher, FROST key
   keeper); finding no group key on L1, the nodes run a DKG at start and install the key
   (>2/3 ECDSA): every batch then carries one FROST signature. A verifier watches L1.
2. Users deposit ETH and an ERC20 on L1, send a few hundred transfers to different nodes
   (followers forward to the current sequencer), batches land on L1 with their roots.
3. A withdrawal is finalized on L1 after the (short) challenge window.
4. The current sequencer cheats on the MTSR: the verifier proves the fraud on L1; the
   sequencer is slashed, kicked and replaced, and the next one re-submits the batch. The next
   one includes a wallet's standard transaction (sent with plain eth-account signing) with a
   forged signature: proven on L1 the same way (``std_bad_signature``).
5. The new current sequencer withholds a batch's data: the verifier requests it on L1, the
   deadline passes, the sequencer is slashed, kicked and replaced.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from web3 import Web3

from offchain.bridge.client import BridgeClient
from offchain.bridge.types import Withdrawal
from offchain.chain.accounts import dev_account
from offchain.chain.anvil import free_port
from offchain.demo.wallet import run_wallet
from offchain.devnet import Devnet
from offchain.errors import L2KitError
from offchain.rollup.batcher.faults import Fault
from offchain.rollup.l1.bindings import BatchStatus, DataMode
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.node.client import L2Client
from offchain.rollup.node.config import BatcherConfig, NodeConfig, RollupNodeConfig, VerifierConfig
from offchain.rollup.node.service import NodeService, RollupContracts
from offchain.rollup.verifier.daemon import Verifier
from offchain.storage.client import BlobClient

TOKEN = 10**18


def _wait(cond: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            v = cond()
            if v:
                return v
        except L2KitError:
            pass
        time.sleep(0.1)
    raise L2KitError(f"demo: timed out waiting for {what}")


def _dev_by_address() -> dict[str, Any]:
    return {dev_account(i).address: dev_account(i) for i in range(40)}


def run(d: Devnet, console: Console) -> None:
    assert d.chain is not None and d.deployment is not None
    chain, dep = d.chain, d.deployment
    contracts = RollupContracts.from_deployment(chain, dep)
    l1 = contracts.l1()
    sset = contracts.seqset()
    pool = chain.contract("LockingPool", dep.addresses["locking_pool"])
    devs = _dev_by_address()
    active = [str(a) for a in sset.functions.activeSigners().call()]
    signers = [devs[a] for a in active if a in devs]
    if len(signers) != len(active):
        console.print("some active sequencers are not devnet accounts: skipping the rollup scene")
        return
    tmp = Path(tempfile.mkdtemp(prefix="rollup-demo-", dir=d.data_dir))
    ports = {s.address.lower(): free_port() for s in signers}
    peers = {a: f"http://127.0.0.1:{p}/" for a, p in ports.items()}
    nodes: list[NodeService] = []
    verifier: Verifier | None = None
    try:
        for s in signers:
            cfg = RollupNodeConfig(
                node=NodeConfig(
                    port=ports[s.address.lower()],
                    data_dir=str(tmp / s.address),
                    block_time_ms=200,
                    peers=peers,
                ),
                batcher=BatcherConfig(
                    max_batch_txs=120, batch_timeout_ms=1500, poll_interval_ms=200
                ),
            )
            nodes.append(NodeService(contracts, s, cfg, d.storage_url, frost_keeper=True).start())
        by_addr = {n.signer.address: n for n in nodes}
        _show_group_key(console, sset, nodes)
        console.print(
            f"{len(nodes)} sequencer nodes up; current sequencer "
            f"{sset.functions.currentSequencer().call()}"
        )
        vacct = dev_account(30)
        verifier = Verifier(
            contracts, vacct, BlobClient(d.storage_url, timeout_s=2),
            VerifierConfig(data_dir=str(tmp / "verifier"), poll_interval_ms=200), name="verifier",
        ).start()  # fmt: skip

        def current_node() -> NodeService:
            return by_addr[sset.functions.currentSequencer().call()]

        # ---- deposits
        users = [dev_account(i) for i in range(10, 15)]
        token = dep.addresses.get("test_token")
        for u in users:
            BridgeClient(chain, contracts.bridge, chain.sender(u)).deposit_eth(u.address, 2 * TOKEN)
        if token:
            erc20 = chain.contract("TestToken", token)
            chain.sender(users[0]).send(erc20.functions.mint(users[0].address, 1000 * TOKEN))
            BridgeClient(chain, contracts.bridge, chain.sender(users[0])).deposit_erc20(
                token, users[0].address, 250 * TOKEN
            )
        c = L2Client(current_node().url)
        _wait(lambda: c.balance(users[-1].address) == 2 * TOKEN, 30, "deposits on L2")
        console.print(
            f"deposited 2 ETH for each of {len(users)} users"
            + (", 250 TT for user 0" if token else "")
        )
        if token:
            _wait(lambda: c.balance(users[0].address, token) == 250 * TOKEN, 30, "ERC20 deposit")

        # ---- a plain web3.py wallet: ETH and the token, receipts from eth_getTransactionReceipt
        run_wallet(current_node().url, users[0], users[4].address, token, console)

        # ---- a few hundred transfers, sent to all nodes (followers forward)
        domain = ltx.Domain(ltx.DEFAULT_L2_CHAIN_ID, ltx.to_checksum(contracts.state_commitment))
        clients = [L2Client(n.url) for n in nodes]
        nonces = {u.address: c.nonce(u.address) for u in users}  # the wallet part sent some
        t0 = time.perf_counter()
        last = ""
        for k in range(300):
            u = users[k % len(users)]
            to = users[(k + 1) % len(users)].address
            t = ltx.sign_transfer(
                u, domain, to, ltx.ETH, random.randrange(1, 10**15), 10**9, nonces[u.address]
            )
            nonces[u.address] += 1
            last = clients[k % len(clients)].send(ltx.encode_tx(t))
        c.wait_receipt(last, timeout_s=30)
        console.print(
            f"300 transfers accepted via {len(clients)} nodes in {time.perf_counter() - t0:.2f}s"
        )

        # ---- withdrawal
        w_user = users[1]
        w = ltx.sign_withdraw(
            w_user, domain, w_user.address, ltx.ETH, TOKEN // 2, 0, nonces[w_user.address]
        )
        nonces[w_user.address] += 1
        wh = c.send(ltx.encode_tx(w))
        c.wait_receipt(wh)
        proof = _wait(lambda: c.call("l2_getProof", "withdrawal", wh), 30, "withdrawal batch on L1")
        _batch_table(console, l1)
        header = BatchHeader.from_json(proof["header"])
        window = l1.challenge_window_s()
        console.print(
            f"withdrawal of 0.5 ETH in batch {header.index}; "
            f"challenge window {window}s: skipping it on L1"
        )
        chain.rpc("evm_increaseTime", window + 1)
        chain.rpc("evm_mine")
        before = chain.w3.eth.get_balance(w_user.address)
        wd = Withdrawal(bytes.fromhex(wh[2:]), w_user.address, ltx.ETH, TOKEN // 2)
        BridgeClient(chain, contracts.bridge, chain.sender(dev_account(31))).finalize_withdrawal(
            header, proof["txIndex"], wd, [bytes.fromhex(p[2:]) for p in proof["proof"]]
        )
        console.print(
            f"finalized on L1: {w_user.address} received "
            f"{(chain.w3.eth.get_balance(w_user.address) - before) / TOKEN} ETH"
        )

        # ---- cheaters
        def cheat_round(mode: str, label: str) -> None:
            cheat = current_node()
            addr = cheat.signer.address
            stake0 = pool.functions.sequencer(addr).call()[2]
            v_tokens0 = _token_balance(chain, dep, vacct.address)
            console.print(f"[bold red]sequencer {addr} {label}[/] (faulty mode, devnet only)")
            assert cheat.batcher is not None
            n0 = l1.next_index()
            shares = _wait(lambda: _colluding_shares(sset, nodes), 60, "colluding shares")
            cheat.batcher.fault = Fault(mode, collude_shares=shares)
            cc = L2Client(cheat.url)

            def agreed() -> dict[str, int] | None:
                """The users' nonces once every node has them the same (a follower that has
                not yet rolled back after the previous round's invalidation would refuse the
                next transactions as 'nonce too high' when they reach it)."""
                views = [
                    {str(u.address): c.nonce(u.address) for u in users}
                    for c in (L2Client(n.url) for n in nodes)
                ]
                return views[0] if all(v == views[0] for v in views) else None

            nonces = _wait(agreed, 60, "every node at the same user nonces")
            w3 = Web3(Web3.HTTPProvider(cheat.url))
            method = "eth_sendRawTransaction" if mode.startswith("std_") else "l2_sendTransaction"
            payloads: list[list[Any]] = []
            for k in range(20):  # signed first, then sent in one JSON-RPC batch: one block
                u = users[k % len(users)]
                if mode.startswith("std_"):  # wallet transactions (plain eth-account signing)
                    raw: bytes = u.sign_transaction(
                        {"to": users[0].address, "value": 1000 + k, "gas": 21_000,
                         "nonce": nonces[u.address], "chainId": w3.eth.chain_id,
                         "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 0}
                    ).raw_transaction  # fmt: skip
                else:
                    t = ltx.sign_transfer(
                        u, domain, users[0].address, ltx.ETH, 1000 + k, 0, nonces[u.address]
                    )
                    raw = ltx.encode_tx(t)
                payloads.append(["0x" + bytes(raw).hex()])
                nonces[u.address] += 1
            answers = cc.call_many(method, payloads)
            refused = [a["error"] for a in answers if "error" in a]
            if refused:
                raise L2KitError(f"demo: the node refused a transaction: {refused[0]}")
            sent = str(answers[-1]["result"])
            cc.wait_receipt(sent, status="")
            _wait(lambda: l1.next_index() > n0, 30, "the bad batch on L1")
            bad = n0
            console.print(f"  bad batch {bad} landed on L1")
            if mode == "withhold":
                _wait(lambda: l1.data_request(bad).status.name == "OPEN", 30, "data request")
                console.print(
                    "  verifier requested the data on L1; insecure state: "
                    f"{l1.sc.functions.insecureAt(bad).call()}"
                )
                da_window = int(l1.da.functions.dataWindow().call())  # type: ignore[union-attr]
                chain.rpc("evm_increaseTime", da_window + 1)
                chain.rpc("evm_mine")
                console.print(f"  no answer within the {da_window}s data window")
            _wait(lambda: pool.functions.sequencer(addr).call()[2] < stake0, 60, "the slash")
            stake1 = pool.functions.sequencer(addr).call()[2]
            new_cur = sset.functions.currentSequencer().call()
            console.print(
                f"  caught: stake {stake0 / TOKEN:,.0f} -> {stake1 / TOKEN:,.0f} L2K, "
                f"active: {addr in sset.functions.activeSigners().call()}, "
                f"batch {bad} invalidated on L1: {_invalidated(l1, bad)}, "
                f"current sequencer now {new_cur}"
            )
            # The slash credits the verifier's reward in the pool (pull pattern); it claims it.
            claimable = int(pool.functions.claimableReward(vacct.address).call())
            if claimable > 0:
                assert verifier.l1.sender is not None  # the daemon's own nonces
                verifier.l1.sender.send(pool.functions.claimSlashReward())
            console.print(
                f"  verifier {vacct.address} L2K: {v_tokens0 / TOKEN:,.0f} -> "
                f"{_token_balance(chain, dep, vacct.address) / TOKEN:,.0f} "
                f"(claimed {claimable / TOKEN:,.0f} slash reward)"
            )
            _wait(lambda: l1.next_index() > bad, 60, "the next sequencer to re-submit")
            console.print(f"  batch {bad} re-submitted by {l1.batch_sequencer(bad)}")

        for mode, label in (
            ("wrong_mtsr", "cheats on the MTSR"),
            ("std_bad_signature", "includes a standard transaction with a forged signature"),
            ("withhold", "withholds batch data"),
        ):
            if len(sset.functions.activeSigners().call()) < 2:
                console.print(f"(skipping a sequencer that {label}: no sequencer would be left)")
                continue
            if mode == "withhold" and l1.data_mode() == DataMode.BLOBS:
                console.print(
                    "a sequencer cannot withhold batch data in Blobs mode: appendBatch refuses a "
                    "batch without the blobs its header commits (StateCommitmentMissingBlobs)"
                )
                continue
            cheat_round(mode, label)
        _batch_table(console, l1)
        nc = L2Client(current_node().url)
        console.print(
            "L2 balances: "
            + ", ".join(f"{u.address[:8]}…={nc.balance(u.address) / TOKEN:.4f}" for u in users)
        )
    finally:
        if verifier is not None:
            verifier.stop()
        for n in nodes:
            n.stop()


def _show_group_key(console: Console, sset: Any, nodes: list[NodeService]) -> None:
    """Wait for the group key the nodes' keepers install at start (seed 004) and print it."""
    before = int(sset.functions.groupKeyX().call())
    gx = _wait(lambda: int(sset.functions.groupKeyX().call()), 90, "the nodes' DKG")
    (ev, *_) = reversed(sset.events.GroupKeyInstalled().get_logs(from_block=0))
    ks = _wait(lambda: nodes[0].frost.store.keyset(), 30, "the first node's key set")
    console.print(
        ("no group key on L1 -> " if not before else "")
        + f"the nodes ran a DKG at start: group key {ks.group_key[:20]}… (x {hex(gx)[:14]}…), "
        f"{sum(len(v) for v in ks.allocation.values())} stake-weighted shares, threshold "
        f"{ks.threshold}; installed by >2/3 ECDSA (GroupKeyInstalled v{ev['args']['version']}). "
        "Every batch below carries one FROST signature."
    )


def _colluding_shares(sset: Any, nodes: list[NodeService]) -> list[Any] | None:
    """A threshold of FROST shares of the key on L1 from one key set held by the nodes (the
    colluding majority a faulty sequencer needs), or None while a resharing is under way: until
    the keepers hold a key set of the key on L1 for exactly the active set (after a kick they
    reshare, or run a recovery DKG that installs a new key: shares taken before it would sign
    for a key L1 no longer has)."""
    from offchain.staking.frost.keygen import KeyShare
    from offchain.staking.frost.wire import element_of

    gx = int(sset.functions.groupKeyX().call())
    active = {str(a).lower() for a in sset.functions.activeSigners().call()}
    latest = {str(n.signer.address).lower(): n.frost.store.keyset() for n in nodes}
    if any(
        k is None or {a.lower() for a in k.allocation} != active
        for addr, k in latest.items()
        if addr in active
    ):
        return None
    pooled: dict[str, list[KeyShare]] = {}
    need: dict[str, int] = {}
    for ks in latest.values():
        if ks is None or int(ks.group_x, 16) != gx:
            continue
        pk = element_of(ks.group_key, "group key")
        pooled.setdefault(ks.session, []).extend(
            KeyShare(i, v, pk) for i, v in sorted(ks.secrets.items())
        )
        need[ks.session] = ks.threshold
    for session, shares in pooled.items():
        if len(shares) >= need[session]:
            return shares[: need[session]]
    return None


def _signature_count(l1: Any, index: int) -> int:
    """Signatures carried by the appendBatch that put the current batch ``index`` on L1."""
    logs = l1.sc.events.BatchAppended.get_logs(from_block=0, argument_filters={"index": index})
    tx = l1.chain.w3.eth.get_transaction(logs[-1]["transactionHash"])
    _fn, args = l1.sc.decode_function_input(tx["input"])
    return len(args["signatures"])


def _invalidated(l1: Any, index: int) -> bool:
    """A ``BatchesInvalidated`` event (StateCommitment.sol) starts at ``index``."""
    logs = l1.sc.events.BatchesInvalidated().get_logs(
        from_block=0, argument_filters={"fromIndex": index}
    )
    return bool(logs)


def _token_balance(chain: Any, dep: Any, who: str) -> int:
    tok = chain.contract("L2KitToken", dep.addresses["token"])
    return int(tok.functions.balanceOf(who).call())


def _batch_table(console: Console, l1: Any) -> None:
    t = Table(title="batches on L1")
    for col in ("index", "L2 blocks", "txs", "MTTBR", "MTSR", "status", "sequencer", "sigs"):
        t.add_column(col)
    for i in range(l1.next_index()):
        h = l1.get_header_from_event(i)
        t.add_row(
            str(i),
            f"{h.first_block}..{h.first_block + h.l2_blocks - 1}",
            str(h.tx_count),
            "0x" + h.tx_root.hex()[:12] + "…",
            "0x" + h.state_roots_root.hex()[:12] + "…",
            BatchStatus(l1.batch_status(i)).name,
            l1.batch_sequencer(i)[:10] + "…",
            str(_signature_count(l1, i)),
        )
    console.print(t)
