"""Helpers for benchmarks: medians of repeated timings, a FROST key for a devnet's set."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from offchain.staking.frost.keygen import KeyShare


def median_time_s(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs in this process."""
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def install_dealt_key(
    chain: Any, seqset: Any, keys: Mapping[Any, Any], stakes: Mapping[str, int], min_lock: int
) -> list[KeyShare]:
    """Give the set a FROST group key the way a devnet gets one, minus the HTTP rounds: shares
    by stake (one per minimum lock, capped at 4), a dealt key (the DKG's output has the same
    form), installed by ``installGroupKey`` with the ECDSA approvals of the first signers (by
    address) holding more than 2/3 of the active stake.

    Args:
        chain: the L1 connection.
        seqset: the SequencerSet contract.
        keys: signer address -> its account (every active sequencer).
        stakes: signer address -> active stake (wei).
        min_lock: the LockingPool's minimum lock (wei).

    Returns:
        A threshold of shares (lowest identifiers), enough for :func:`l1_signature`.
    """
    from offchain.chain.accounts import dev_account
    from offchain.rollup.ledger.batch import order_signatures, sign_digest
    from offchain.staking.frost.group import random_scalar
    from offchain.staking.frost.keygen import KeyShare, trusted_dealer_keygen
    from offchain.staking.frost.l1 import group_key_digest, make_even
    from offchain.staking.frost.weights import allocate
    from offchain.staking.signatures import active_stakes, stake_quorum

    alloc = allocate(dict(stakes), min_lock, 4)
    dealt, _ = trusted_dealer_keygen(random_scalar(), alloc.total, alloc.threshold)
    pk, secrets = make_even(dealt[0].group_public_key, {d.identifier: d.secret for d in dealt})
    x, y = pk.xy()
    version = int(seqset.functions.groupKeyVersion().call())
    kd = group_key_digest(chain.chain_id, seqset.address, version, x)
    by = {str(a): acct for a, acct in keys.items()}
    quorum = stake_quorum(active_stakes(seqset), sorted(by, key=lambda a: int(a, 16)))
    approvals = order_signatures(kd, [sign_digest(bytes(by[a].key), kd) for a in quorum])
    chain.sender(dev_account(0)).send(seqset.functions.installGroupKey(x, y, approvals))
    return [KeyShare(i, secrets[i], pk) for i in alloc.all_identifiers()[: alloc.threshold]]


def call_gas(chain: Any, receipt: Any, to: str, signature: str) -> int:
    """gasUsed of the calls to ``to``'s function ``signature`` (e.g. ``"punish(address,uint256,
    address)"``) inside the transaction of ``receipt``, summed, exact from a call trace."""
    from offchain.common.hashing import keccak

    h = receipt["transactionHash"]
    trace = chain.rpc(
        "debug_traceTransaction",
        h.to_0x_hex() if hasattr(h, "to_0x_hex") else h,
        {"tracer": "callTracer"},
    )
    selector = "0x" + keccak(signature.encode())[:4].hex()

    def walk(call: dict[str, Any]) -> int:
        if call.get("to", "").lower() == to.lower() and call.get("input", "").startswith(selector):
            return int(call["gasUsed"], 16)
        return sum(walk(c) for c in call.get("calls", []) or [])

    return walk(trace)
