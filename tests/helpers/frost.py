"""Test helpers for the FROST daemons: allocation from L1, a coordinator over a cluster, one
signing round over it, governance calls from the Timelock and a new sequencer's lock. A dealt
key on the set: :func:`tests.helpers.prod.install_key` (every share, for the nodes' stores) or
:func:`offchain.staking.frost.l1.install_dealt_key`."""

from __future__ import annotations

from typing import Any

from offchain.staking.cluster import SequencerCluster
from offchain.staking.config import TOKEN
from offchain.staking.frost.coordinator import FrostCoordinator
from offchain.staking.frost.weights import Allocation, allocate


def allocation_from_l1(pool: Any) -> Allocation:
    """Shares of the active set as every daemon derives them (``LockingPool.activeSet()``)."""
    signers, stakes = pool.functions.activeSet().call()
    return allocate({str(a): int(s) for a, s in zip(signers, stakes, strict=True)})


def coordinator(cluster: SequencerCluster) -> FrostCoordinator:
    return FrostCoordinator({a: m.url for a, m in cluster.members.items()}, timeout_s=30)


def frost_sign(
    coord: FrostCoordinator, session: str, req: Any, pub: dict[str, Any], sset: Any
) -> bytes:
    """One FROST round over ``coord``'s peers for the co-signing request ``req`` with the key
    set ``pub`` (a ``/frost/status`` ``public`` document); the 96-byte L1 signature.

    Every member that answers is in the package; ``req.absent`` is set to the round's absence
    bitmap (over ``sset.activeSigners()``), so ``req.digest`` is then the digest it signs.
    """
    from offchain.staking.frost.coordinator import publics_of
    from offchain.staking.frost.signing import to_l1_signature
    from offchain.staking.frost.wire import element_of

    sig, req.absent = coord.sign_batch(
        session,
        req.to_json(),
        pub["allocation"],
        pub["threshold"],
        element_of(pub["group_key"], "key"),
        publics_of(pub["publics"]),
        lambda: [str(a) for a in sset.functions.activeSigners().call()],
    )
    return to_l1_signature(sig)


def as_timelock(chain: Any, dep: Any, call: Any) -> None:
    """Send ``call`` from the deployment's Timelock (impersonated on Anvil)."""
    tl = dep.addresses["timelock"]
    chain.rpc("anvil_impersonateAccount", tl)
    chain.rpc("anvil_setBalance", tl, hex(10**20))
    h = chain.w3.eth.send_transaction(call.build_transaction({"from": tl, "gas": 5_000_000}))
    assert chain.w3.eth.wait_for_transaction_receipt(h)["status"] == 1


def lock_new_sequencer(chain: Any, dep: Any, acct: Any, tokens: int) -> None:
    """Mint ``tokens`` to ``acct`` (through the Timelock) and lock them: a new sequencer."""
    token = dep.contract(chain, "token")
    pool = dep.contract(chain, "locking_pool")
    as_timelock(chain, dep, token.functions.mint(acct.address, tokens * TOKEN))
    s = chain.sender(acct)
    s.send(token.functions.approve(pool.address, tokens * TOKEN))
    s.send(pool.functions.lock(acct.address, tokens * TOKEN))


def halting_peers(shares: dict[str, int], threshold: int, exclude: str) -> list[str]:
    """The fewest members (heaviest first, never ``exclude``: the current sequencer) whose
    absence leaves the others fewer than ``threshold`` shares: e.g. the devnet's 50k member
    (4 of 12, threshold 9), or its 40k and 30k members when the 50k one is ``exclude``."""
    out: list[str] = []
    for m in sorted((m for m in shares if m != exclude), key=lambda m: -shares[m]):
        if sum(shares.values()) - sum(shares[x] for x in out) < threshold:
            break
        out.append(m)
    return out
