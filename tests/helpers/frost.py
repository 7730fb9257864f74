"""Test helpers for the FROST daemons: allocation from L1, a coordinator over a cluster, a
dealt group key installed on a devnet's set (tests and benchmarks)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from offchain.staking.cluster import SequencerCluster
from offchain.staking.config import TOKEN
from offchain.staking.frost.coordinator import FrostCoordinator
from offchain.staking.frost.weights import Allocation, allocate

if TYPE_CHECKING:
    from offchain.staking.frost.keygen import KeyShare

SHARE_CAP = 4


def allocation_from_l1(pool: Any, min_lock_tokens: int) -> Allocation:
    """Shares of the active set as every daemon derives them (``LockingPool.activeSet()``)."""
    signers, stakes = pool.functions.activeSet().call()
    return allocate(
        {str(a): int(s) for a, s in zip(signers, stakes, strict=True)},
        min_lock_tokens * TOKEN,
        SHARE_CAP,
    )


def coordinator(cluster: SequencerCluster) -> FrostCoordinator:
    return FrostCoordinator({a: m.url for a, m in cluster.members.items()}, timeout_s=30)


def frost_sign(coord: FrostCoordinator, session: str, req: Any, pub: dict[str, Any]) -> bytes:
    """One FROST round over ``coord``'s peers for the co-signing request ``req`` with the key
    set ``pub`` (a ``/frost/status`` ``public`` document); the 96-byte L1 signature."""
    from offchain.staking.frost.coordinator import publics_of
    from offchain.staking.frost.signing import to_l1_signature
    from offchain.staking.frost.wire import element_of

    sig = coord.sign(
        session,
        req.to_json(),
        req.digest,
        pub["allocation"],
        pub["threshold"],
        element_of(pub["group_key"], "key"),
        publics_of(pub["publics"]),
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
