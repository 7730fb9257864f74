"""Demo scene: one threshold key for the sequencer set (FROST, seed 004's MPC).

The active sequencers' daemons find no group key on L1 and run a DKG over their peer HTTP
(shares by stake); the key is installed by >2/3 of the stake (ECDSA); a batch digest is
accepted on L1 with one 96-byte signature; a new sequencer locks and the set reshares to it,
then governance kicks one and the set reshares it out: the group key printed before and after
is the same, L1 never changes it, and the kicked sequencer's old share no longer signs.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import requests
from rich.console import Console
from rich.table import Table

from offchain.chain.accounts import dev_account
from offchain.governance.actions import parse_action
from offchain.governance.client import Governance, Proposal
from offchain.staking.config import TOKEN
from offchain.staking.contracts import StakingContracts
from offchain.staking.daemon import DaemonConfig, SequencerDaemon
from offchain.staking.frost.coordinator import FrostCoordinator, publics_of
from offchain.staking.frost.keygen import KeyShare
from offchain.staking.frost.l1 import group_key_digest, l1_signature
from offchain.staking.frost.signing import to_l1_signature
from offchain.staking.frost.weights import Allocation, allocate
from offchain.staking.frost.wire import element_of
from offchain.staking.rotation import RotationConfig
from offchain.staking.signatures import CosignRequest

if TYPE_CHECKING:
    from offchain.devnet import Devnet

QUIET = RotationConfig(send_heartbeats=False, trigger_reselect=False, advance_epochs=False)
NEWBIE_STAKE = 80_000  # tokens the joining sequencer locks: the set's largest share count
LIGHT_STAKE = 20_000  # a second newcomer, the minimum lock: the one governance kicks below


def _allocation(sc: StakingContracts) -> Allocation:
    signers, stakes = sc.pool.functions.activeSet().call()
    return allocate({str(s): int(w) for s, w in zip(signers, stakes, strict=True)})


def _show(console: Console, title: str, alloc: Allocation) -> None:
    t = Table(title=title)
    for col in ("signer", "shares (identifiers)"):
        t.add_column(col)
    for a, ids in alloc.identifiers.items():
        t.add_row(a, f"{len(ids)} {list(ids)}")
    console.print(t)
    console.print(f"  {alloc.total} shares, threshold {alloc.threshold} (> 2/3 of the shares)")


def _status(d: SequencerDaemon) -> dict[str, Any]:
    return dict(requests.get(d.url + "/frost/status", timeout=30).json())


def run(d: Devnet, console: Console) -> None:
    """Play the scene on the devnet ``d``."""
    assert d.chain and d.deployment
    chain = d.chain
    sc = StakingContracts.from_deployment(chain, d.deployment)
    target = dev_account(39).address  # the StateCommitment the demo batch digest names
    by_addr = {str(dev_account(i).address): i for i in range(1, 30)}
    daemons: dict[str, SequencerDaemon] = {}

    def start(i: int) -> None:
        cfg = DaemonConfig(
            data_dir=d.data_dir / f"frost-seq{i}", cosign_contracts={target}, rotation=QUIET
        )
        daemons[dev_account(i).address] = SequencerDaemon(chain, sc, dev_account(i), cfg).start()

    try:
        alloc = _allocation(sc)
        for a in alloc.identifiers:
            start(by_addr[a])
        coord = FrostCoordinator({a: x.url for a, x in daemons.items()}, timeout_s=60)
        gx = int(sc.sset.functions.groupKeyX().call())
        if gx:
            console.print(
                f"group key on L1: {hex(gx)[:18]}… (the rollup nodes'); these daemons hold no "
                "share of it -> they run a new DKG, installed by >2/3 ECDSA (the recovery path)"
            )
        else:
            console.print("group key on L1: none -> the daemons run a DKG")
        _show(console, "stake-weighted shares (one per minimum lock, capped at 4)", alloc)

        # 1. DKG over the daemons' /frost HTTP; key installed by >2/3 of the stake.
        t0 = time.perf_counter()
        res = coord.keygen("demo-dkg", alloc.identifiers, alloc.threshold)
        x = int(res["group_x"], 16)
        version = int(sc.sset.functions.groupKeyVersion().call())
        digest = group_key_digest(chain.chain_id, sc.sset.address, version, x)
        approvals = coord.approvals("demo-dkg", x, list(alloc.identifiers), digest)
        chain.sender(dev_account(0)).send(
            sc.sset.functions.installGroupKey(x, int(res["group_y"], 16), approvals)
        )
        console.print(
            f"[bold]DKG[/] in {time.perf_counter() - t0:.1f}s: group key {res['group_key']}; "
            f"installed by {len(approvals)} ECDSA approvals (GroupKeyInstalled v"
            f"{sc.sset.functions.groupKeyVersion().call()})"
        )

        def batch(index: int, session: str, holder: str) -> None:
            st = _status(daemons[holder])["public"]
            req = CosignRequest(chain.chain_id, target, index, bytes([index]) * 32, {"demo": True})
            t1 = time.perf_counter()
            sig, req.absent = coord.sign_batch(
                session, req.to_json(), st["allocation"], st["threshold"],
                element_of(st["group_key"], "key"), publics_of(st["publics"]),
                lambda: [str(a) for a in sc.sset.functions.activeSigners().call()],
            )  # fmt: skip
            ms = (time.perf_counter() - t1) * 1000
            l1sig = to_l1_signature(sig)
            sc.sset.functions.verifyBatchSignatures(req.digest, [l1sig]).call()
            gas = sc.sset.functions.verifyBatchSignatures(req.digest, [l1sig]).estimate_gas()
            console.print(
                f"batch {index}: one {len(l1sig)}-byte FROST signature ({ms:.0f} ms signing round)"
                f" accepted by verifyBatchSignatures (eth_estimateGas {gas:,} incl. 21,000 base)"
            )

        batch(1, "demo-dkg", next(iter(alloc.identifiers)))

        # 2. New sequencers lock: reshare to them, same key. The first locks four minimum locks
        # (the most shares), so it carries the signing below whatever set the earlier scenes leave.
        newbie = next(i for i in range(5, 30) if dev_account(i).address not in alloc.identifiers)
        acct = dev_account(newbie)
        tl = d.deployment.addresses["timelock"]
        chain.rpc("anvil_impersonateAccount", tl)
        chain.rpc("anvil_setBalance", tl, hex(10**20))
        # A second, minimum-stake newcomer: kicking it below always leaves more than 2/3 of the
        # shares with the rest, whatever set the earlier scenes leave (kicking an old member of
        # a small set could take more than 1/3 of the weight: the recovery path, not a reshare).
        light = next(
            i for i in range(newbie + 1, 30) if dev_account(i).address not in alloc.identifiers
        )
        for who, stake in ((newbie, NEWBIE_STAKE), (light, LIGHT_STAKE)):
            joiner = dev_account(who)
            mint = sc.token.functions.mint(joiner.address, stake * TOKEN)
            h = chain.w3.eth.send_transaction(mint.build_transaction({"from": tl, "gas": 200_000}))
            chain.w3.eth.wait_for_transaction_receipt(h)
            s = chain.sender(joiner)
            s.send(sc.token.functions.approve(sc.pool.address, stake * TOKEN))
            s.send(sc.pool.functions.lock(joiner.address, stake * TOKEN))
            start(who)
            coord.peers[joiner.address.lower()] = daemons[joiner.address].url
            console.print(f"{joiner.address} locked {stake:,} tokens: the set reshares to it")
        new = _allocation(sc)
        old = _status(next(iter(daemons.values())))["public"]
        quorum = alloc.all_identifiers()[: alloc.threshold]
        holders = [a for a, ids in alloc.identifiers.items() if set(ids) & set(quorum)]
        before = old["group_key"]
        res2 = coord.keygen(
            "demo-reshare-1", new.identifiers, new.threshold,
            reshare_from="demo-dkg", quorum=quorum, old=old, dealers=holders,
        )  # fmt: skip
        console.print(
            f"[bold]reshared[/]: group key before {before}\n"
            f"                    after  {res2['group_key']}  (same; L1 groupKeyX unchanged: "
            f"{int(sc.sset.functions.groupKeyX().call()) == x})"
        )
        batch(2, "demo-reshare-1", acct.address)

        # 3. Governance kicks one sequencer (the minimum-stake newcomer): reshare it out, same key.
        kicked = dev_account(light).address
        kicked_old = [
            KeyShare(int(i), int(v), element_of(before, "key"))
            for i, v in daemons[kicked].frost.store.keyset("demo-reshare-1").secrets.items()  # type: ignore[union-attr]
        ]
        gov = Governance(
            chain,
            d.deployment.contract(chain, "governor"),
            d.deployment.contract(chain, "timelock"),
        )
        action = parse_action(f"locking_pool kick(address) {kicked}", d.deployment.addresses)
        proposal = Proposal.of([action], f"Kick sequencer {kicked} (FROST demo)")
        voters = [chain.sender(dev_account(i)) for i in (5, 6)]
        gov.pass_on_devnet(chain.sender(dev_account(0)), voters, proposal)
        after = _allocation(sc)
        console.print(f"governance kicked {kicked}: the set reshares it out")
        cur = _status(daemons[acct.address])["public"]
        q2 = sorted(i for a, ids in new.identifiers.items() if a != kicked for i in ids)
        q2 = q2[: new.threshold]
        holders2 = [a for a, ids in new.identifiers.items() if set(ids) & set(q2)]
        res3 = coord.keygen(
            "demo-reshare-2", after.identifiers, after.threshold,
            reshare_from="demo-reshare-1", quorum=q2, old=cur, dealers=holders2,
        )  # fmt: skip
        console.print(
            f"[bold]reshared[/]: group key after the kick {res3['group_key']} (same: "
            f"{res3['group_key'] == before})"
        )
        batch(3, "demo-reshare-2", acct.address)
        # The kicked sequencer's old shares with fresh ones of the others: not a signature.
        fresh = [
            KeyShare(i, v, element_of(before, "key"))
            for a in after.identifiers
            for i, v in daemons[a].frost.store.keyset("demo-reshare-2").secrets.items()  # type: ignore[union-attr]
            if i not in {k.identifier for k in kicked_old}
        ]
        mixed = (kicked_old + fresh)[: after.threshold]
        req = CosignRequest(chain.chain_id, target, 4, b"\x04" * 32)
        try:
            sc.sset.functions.verifyBatchSignatures(
                req.digest, [l1_signature(mixed, req.digest)]
            ).call()
            console.print("[red]the kicked sequencer's old share still signs[/]")
        except Exception:  # noqa: BLE001 - the custom error is what we show
            console.print(
                "the kicked sequencer's old share + fresh shares: rejected on L1 "
                "(SequencerSetInvalidFrostSignature)"
            )
    finally:
        for daemon in daemons.values():
            daemon.stop()
