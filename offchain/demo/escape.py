"""Demo scene: censorship resistance and the escape hatch (docs/spec.md, "Forced inclusion",
"Escape hatch").

A freeze is final, so the scene runs on its own instance of the production deployment on the
devnet's L1 (``deploy_all``: LockingPool, SequencerSet, rollup, bridge and governance, with short
windows and three sequencers of their own: dev accounts 35-37). Their nodes run batchers, the
CensorshipWatch and the FROST key keeper, whose DKG installs the set's group key with the
members' approvals, as on the devnet:

1. The current sequencer censors one user (faulty mode ``censor``). The user forces a transfer
   through L1 (``L1Bridge.forceTx``); after the deadline the censor's batches are refused on L1,
   the honest nodes report it twice, it is rotated out, and the next sequencer includes it.
2. The whole set stops. With a deposit waiting and no batch for ``freeze_after_s``, anyone
   freezes the rollup; every user leaves through ``escape`` with a proof rebuilt from a stopped
   node's store, their balances printed before and after; the waiting deposit is refunded and
   the bridge ends empty.
"""

from __future__ import annotations

import copy
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from offchain.bridge.client import BridgeClient
from offchain.bridge.escape import build_escape_proof, last_final_index
from offchain.chain.accounts import dev_account
from offchain.chain.anvil import free_port
from offchain.demo.rollup import _wait
from offchain.deploy import deploy_all
from offchain.devnet import Devnet
from offchain.rollup.batcher.faults import Fault
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.node.client import L2Client
from offchain.rollup.node.config import BatcherConfig, NodeConfig, RollupNodeConfig
from offchain.rollup.node.service import NodeService, RollupContracts

TOKEN = 10**18
WINDOW_S, FORCE_WINDOW_S, FREEZE_AFTER_S = 5, 6, 20
SEQUENCERS = (35, 36, 37)  # dev accounts free of the devnet's roles
STAKES_TOKENS = (40_000, 30_000, 30_000)  # no one holds a third of the stake alone


def _deploy(d: Devnet) -> RollupContracts:
    """``deploy_all`` again, with this scene's windows and sequencers (the devnet's own
    deployment is left alone: a freeze is final)."""
    assert d.chain is not None
    cfg = copy.deepcopy(d.config)
    cfg.staking.devnet_sequencer_accounts = list(SEQUENCERS)
    cfg.staking.devnet_stakes_tokens = list(STAKES_TOKENS)
    cfg.staking.devnet_epoch_length_s = 3600  # no epoch boundary inside the scene
    r = cfg.rollup
    r.devnet_challenge_window_s = WINDOW_S
    r.devnet_force_inclusion_window_s = FORCE_WINDOW_S
    r.devnet_freeze_after_s = FREEZE_AFTER_S
    r.da_mode = "storage"
    dep = deploy_all(d.chain, d.chain.sender(dev_account(0)), cfg, log=lambda *_: None)
    return RollupContracts.from_deployment(d.chain, dep)


def run(d: Devnet, console: Console) -> None:
    assert d.chain is not None
    chain = d.chain
    signers = sorted(map(dev_account, SEQUENCERS), key=lambda a: int(a.address, 16))
    c = _deploy(d)
    seqset = c.seqset()
    sc = chain.contract("StateCommitment", c.state_commitment)
    tmp = Path(tempfile.mkdtemp(prefix="escape-demo-", dir=d.data_dir))
    ports = {s.address.lower(): free_port() for s in signers}
    peers = {a: f"http://127.0.0.1:{p}/" for a, p in ports.items()}
    nodes: list[NodeService] = []
    users = [dev_account(i) for i in range(15, 20)]
    domain = ltx.Domain(ltx.DEFAULT_L2_CHAIN_ID, ltx.to_checksum(c.state_commitment))
    try:
        for s in signers:
            cfg = RollupNodeConfig(
                node=NodeConfig(
                    port=ports[s.address.lower()],
                    data_dir=str(tmp / s.address),
                    block_time_ms=200,
                    peers=peers,
                ),
                batcher=BatcherConfig(max_batch_txs=50, batch_timeout_ms=500, poll_interval_ms=200),
            )
            nodes.append(
                NodeService(
                    c, s, cfg, d.storage_url, censorship_watch=True, frost_keeper=True
                ).start()
            )
        # The key keepers' DKG over their /frost; installGroupKey with >2/3 of the stake.
        _wait(lambda: int(seqset.functions.groupKeyX().call()) != 0, 60, "the set's group key")
        current = str(seqset.functions.currentSequencer().call())
        censor = next(n for n in nodes if n.signer.address == current)
        honest = next(n for n in nodes if n is not censor)
        Fault("censor", censor_account=users[0].address).install(censor)
        console.print(
            f"a second rollup instance (windows: challenge {WINDOW_S}s, forced inclusion "
            f"{FORCE_WINDOW_S}s, freeze {FREEZE_AFTER_S}s); current sequencer "
            f"{censor.signer.address} [bold red]censors user {users[0].address}[/] "
            "(faulty mode, devnet only)"
        )
        for u in users:
            BridgeClient(chain, c.bridge, chain.sender(u)).deposit_eth(u.address, TOKEN)
        l2 = L2Client(honest.url)
        _wait(lambda: l2.balance(users[-1].address) == TOKEN, 30, "deposits on L2")
        console.print(f"{len(users)} users deposited 1 ETH each")

        # ---- forced inclusion
        t = ltx.sign_transfer(users[0], domain, users[1].address, ltx.ETH, TOKEN // 4, 10**15, 0)
        br0 = BridgeClient(chain, c.bridge, chain.sender(users[0]))
        qid, deadline, h = br0.force_tx(ltx.encode_tx(t))
        t0 = time.monotonic()
        console.print(
            f"user 0 forces a 0.25 ETH transfer through L1: queue position {qid}, "
            f"deadline {deadline}"
        )
        r = _wait(
            lambda: (
                (l2.receipt("0x" + h.hex()) or {}).get("status") == "success"
                and l2.receipt("0x" + h.hex())
            ),
            120,
            "the forced transfer on L2",
        )
        block = l2.block(r["blockNumber"])
        assert block is not None
        refused = (censor.batcher.last_error if censor.batcher else None) or ""
        if "StateCommitmentForcedTxNotIncluded" in refused:
            console.print(f"  the censor's batches were refused on L1: {refused[:110]}")
        console.print(
            f"  reported and rotated out; included {time.monotonic() - t0:.1f}s after forceTx by "
            f"{block['header']['producer']} in L2 block {r['blockNumber']}"
        )
        _wait(lambda: sc.functions.progress().call()[1] > qid, 60, "a batch consuming it")
        _wait(
            lambda: (
                (k := last_final_index(c.l1())) is not None
                and c.l1().get_header_from_event(k).deposit_count > qid
            ),
            60,
            "that batch final",
        )

        # ---- every sequencer stops
        for n in nodes:
            n.stop()
        honest_dir = tmp / honest.signer.address
        console.print("[bold]the whole sequencer set stops[/]")
        late = BridgeClient(chain, c.bridge, chain.sender(users[2])).deposit_eth(
            users[2].address, TOKEN // 2
        )
        console.print(
            f"user 2 deposits 0.5 ETH more (queue position {late.deposit_id}): never consumed"
        )
        sender = chain.sender(dev_account(0))
        _wait(
            lambda: (
                int(chain.w3.eth.get_block("latest")["timestamp"])
                >= sc.functions.progress().call()[0] + FREEZE_AFTER_S
            ),
            FREEZE_AFTER_S + 30,
            "the freeze delay",
        )
        sender.send(sc.functions.freeze())
        console.print(f"no batch for {FREEZE_AFTER_S}s with items waiting: anyone froze the rollup")

        table = Table("account", "L2 balance (last final root)", "L1 before", "L1 after")
        accounts = [ltx.to_checksum(u.address) for u in [*users, *signers]]
        escaper = BridgeClient(chain, c.bridge, sender)
        for a in accounts:
            p, _ = build_escape_proof(c.l1(), domain, a, ltx.ETH, node_db=honest_dir / "node.db")
            if p.balance == 0:
                continue
            before = chain.w3.eth.get_balance(a)  # type: ignore[arg-type]
            escaper.escape(p.account, ltx.ETH, p.balance, p.to_abi())
            after = chain.w3.eth.get_balance(a)  # type: ignore[arg-type]
            table.add_row(
                a, f"{p.balance / TOKEN:.6f}", f"{before / TOKEN:.4f}", f"{after / TOKEN:.4f}"
            )
        console.print(table)
        k = last_final_index(c.l1(), escaper.bridge)
        assert k is not None
        escaper.refund_deposit(c.l1().get_header_from_event(k).as_tuple(), late)
        left = chain.w3.eth.get_balance(ltx.to_checksum(c.bridge))  # type: ignore[arg-type]
        console.print(
            f"user 2's waiting deposit refunded on L1; the bridge now holds {left} wei "
            "(everyone has left)"
        )
    finally:
        for n in nodes:
            n.stop()
