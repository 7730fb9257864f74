"""FROST key generation, resharing and signing work for 21 sequencers, in one process.

The protocol functions the daemons would run (``offchain/staking/frost``), every participant's
share of the work done one after the other in this process (no HTTP, no parallelism: an upper
bound of the computation, not the daemon protocol's wall time). 21 sequencers with stakes
20k + 1k i tokens, one share per 20k minimum lock capped at 4 (22 shares, threshold 15).

Figures: ``dkg_s_21_sequencers_in_process`` (21 dealers; every sequencer checks the 21 proofs
and derives all verifying shares; every identifier's shares checked and combined),
``reshare_s_21_sequencers_in_process`` (a threshold quorum reshares to the set, same key),
``frost_cosign_ms_21_sequencers_in_process`` (one batch digest: commitments, 15 signature
shares, each share verified, aggregate). Medians of 3 runs.
"""

from __future__ import annotations

import statistics
import time

from offchain.staking.frost import dkg
from offchain.staking.frost.group import base_mul
from offchain.staking.frost.keygen import KeyShare
from offchain.staking.frost.l1 import make_even, sign_locally
from offchain.staking.frost.weights import allocate

N_SEQUENCERS = 21


def _once(n: int) -> tuple[float, float, float]:
    stakes = {f"0x{i + 1:040x}": 20_000 + 1_000 * i for i in range(n)}
    alloc = allocate(stakes, 20_000, 4)
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


def run() -> dict[str, float]:
    runs = [_once(N_SEQUENCERS) for _ in range(3)]
    return {
        "dkg_s_21_sequencers_in_process": round(statistics.median(r[0] for r in runs), 3),
        "reshare_s_21_sequencers_in_process": round(statistics.median(r[1] for r in runs), 3),
        "frost_cosign_ms_21_sequencers_in_process": round(statistics.median(r[2] for r in runs), 1),
    }
