"""FROST key generation, resharing and batch signing for 21 sequencers.

Over HTTP (the figures the issue names): 21 ``SequencerDaemon`` instances (one per staked
sequencer, stakes 20k + 1k i tokens: 63 shares, threshold 43) serve the ``/frost/*`` peer
protocol on localhost against a fresh deployment on Anvil; a ``FrostCoordinator`` runs the DKG
(``dkg_s_21_sequencers``), installs the key with >2/3 ECDSA, reshares it to the same set
(``reshare_s_21_sequencers``) and signs batch digests: ``frost_cosign_ms_21_sequencers`` is
the median of 5 steady-state rounds (commitments preprocessed in the previous answer: one
HTTP round of all 21 signers, as the batcher runs it: every member that answers is in the
package so that the absence bitmap can be checked, every co-signing check including the
bitmap against ``activeSigners()``, share verification, aggregation);
``frost_cosign_first_ms_21_sequencers`` the first round (commitment round included). The
daemons share one Python process (one GIL) on this machine: an upper bound for separate hosts.

In process (``*_in_process``): the same protocol functions without HTTP, every participant's
computation one after the other (an upper bound of the computation alone).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from offchain.chain.accounts import dev_account
from offchain.chain.anvil import Anvil
from offchain.chain.client import Chain, connect
from offchain.config import L2KitConfig
from offchain.deploy import deploy_all
from offchain.staking.contracts import StakingContracts
from offchain.staking.daemon import DaemonConfig, SequencerDaemon
from offchain.staking.frost import dkg
from offchain.staking.frost.coordinator import FrostCoordinator, publics_of
from offchain.staking.frost.group import base_mul
from offchain.staking.frost.keygen import KeyShare
from offchain.staking.frost.l1 import group_key_digest, make_even, sign_locally
from offchain.staking.frost.weights import allocate
from offchain.staking.frost.wire import element_of
from offchain.staking.rotation import RotationConfig
from offchain.staking.signatures import CosignRequest

N_SEQUENCERS = 21
QUIET = RotationConfig(send_heartbeats=False, trigger_reselect=False, advance_epochs=False)


def _http_figures(n: int = N_SEQUENCERS) -> dict[str, float]:
    with Anvil(accounts=max(40, n + 10)) as a, tempfile.TemporaryDirectory() as tmp:
        chain = Chain(connect(a.url))
        cfg = L2KitConfig()
        cfg.staking.devnet_sequencer_accounts = list(range(1, n + 1))
        cfg.staking.devnet_stakes_tokens = [20_000 + 1_000 * i for i in range(n)]
        cfg.staking.max_sequencers = max(n, 21)
        dep = deploy_all(chain, chain.sender(dev_account(0)), cfg, log=lambda *_: None)
        sc = StakingContracts.from_deployment(chain, dep)
        target = dep.addresses["state_commitment"]
        ds: dict[str, SequencerDaemon] = {}
        try:
            for i in range(1, n + 1):
                dc = DaemonConfig(
                    data_dir=Path(tmp) / f"seq{i}", cosign_contracts={target}, rotation=QUIET
                )
                d = SequencerDaemon(chain, sc, dev_account(i), dc).start()
                ds[d.signer.address] = d
            signers, stakes = sc.pool.functions.activeSet().call()
            alloc = allocate(
                {str(s): int(w) for s, w in zip(signers, stakes, strict=True)},
            )
            coord = FrostCoordinator({x: d.url for x, d in ds.items()}, timeout_s=60)
            t0 = time.perf_counter()
            res = coord.keygen("dkg-1", alloc.identifiers, alloc.threshold)
            dkg_s = time.perf_counter() - t0
            x = int(res["group_x"], 16)
            kd = group_key_digest(chain.chain_id, sc.sset.address, 0, x)
            approvals = coord.approvals("dkg-1", x, list(ds), kd)
            chain.sender(dev_account(0)).send(
                sc.sset.functions.installGroupKey(x, int(res["group_y"], 16), approvals)
            )
            first = next(iter(ds.values()))
            old = requests.get(first.url + "/frost/status", timeout=30).json()["public"]
            quorum = alloc.all_identifiers()[: alloc.threshold]
            holders = [s for s, ids in alloc.identifiers.items() if set(ids) & set(quorum)]
            t0 = time.perf_counter()
            coord.keygen(
                "reshare-1", alloc.identifiers, alloc.threshold,
                reshare_from="dkg-1", quorum=quorum, old=old, dealers=holders,
            )  # fmt: skip
            reshare_s = time.perf_counter() - t0
            pub = requests.get(first.url + "/frost/status", timeout=30).json()["public"]
            pk = element_of(pub["group_key"], "group key")
            publics = publics_of(pub["publics"])
            rounds: list[float] = []
            for k in range(6):
                req = CosignRequest(chain.chain_id, target, k, bytes([k + 1]) * 32)
                t0 = time.perf_counter()
                coord.sign_batch(  # the batcher's round: everyone, the bitmap from L1
                    "reshare-1", req.to_json(), pub["allocation"], pub["threshold"], pk,
                    publics, lambda: [str(a) for a in sc.sset.functions.activeSigners().call()],
                )  # fmt: skip
                rounds.append((time.perf_counter() - t0) * 1000)
        finally:
            for d in ds.values():
                d.stop()
    return {
        "dkg_s_21_sequencers": round(dkg_s, 2),
        "reshare_s_21_sequencers": round(reshare_s, 2),
        "frost_cosign_ms_21_sequencers": round(statistics.median(rounds[1:]), 1),
        "frost_cosign_first_ms_21_sequencers": round(rounds[0], 1),
    }


def _in_process_once(n: int) -> tuple[float, float, float]:
    stakes = {f"0x{i + 1:040x}": 20_000 + 1_000 * i for i in range(n)}
    alloc = allocate(stakes)
    ids, t = alloc.all_identifiers(), alloc.threshold
    t0 = time.perf_counter()
    dealings = {d: dkg.deal(d, t) for d in range(1, n + 1)}
    packages = {d: x.round1 for d, x in dealings.items()}
    for _ in range(n):  # every sequencer checks every proof of knowledge
        dkg.check_round1(packages, t)
    commitments = {d: p.commitment for d, p in packages.items()}
    secrets = {
        i: dkg.combine_received(
            i, None, {d: x.share_for(i) for d, x in dealings.items()}, commitments
        )
        for i in ids
    }
    for _ in range(n):  # every sequencer derives every verifying share
        dkg.verifying_shares(commitments, ids)
    pk, secrets = make_even(dkg.group_key(commitments), secrets)
    dkg_s = time.perf_counter() - t0

    old_public = {i: base_mul(s) for i, s in secrets.items()}
    t0 = time.perf_counter()
    quorum = ids[:t]
    deals = {i: dkg.reshare_deal(i, secrets[i], quorum, t) for i in quorum}
    rp = {i: x.round1 for i, x in deals.items()}
    for _ in range(n):
        dkg.check_reshare_round1(rp, old_public, t, t)
    rc = {i: p.commitment for i, p in rp.items()}
    new = {
        j: dkg.combine_received(j, None, {i: x.share_for(j) for i, x in deals.items()}, rc)
        for j in ids
    }
    for _ in range(n):
        dkg.verifying_shares(rc, ids)
    if dkg.group_key(rc) != pk:
        raise RuntimeError("resharing changed the group key")
    reshare_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    sign_locally([KeyShare(i, new[i], pk) for i in ids[:t]], b"\x42" * 32)
    cosign_ms = (time.perf_counter() - t0) * 1000
    return dkg_s, reshare_s, cosign_ms


def run() -> dict[str, Any]:
    runs = [_in_process_once(N_SEQUENCERS) for _ in range(3)]
    out: dict[str, Any] = _http_figures()
    out["dkg_s_21_sequencers_in_process"] = round(statistics.median(r[0] for r in runs), 3)
    out["reshare_s_21_sequencers_in_process"] = round(statistics.median(r[1] for r in runs), 3)
    out["frost_cosign_ms_21_sequencers_in_process"] = round(
        statistics.median(r[2] for r in runs), 1
    )
    return out
