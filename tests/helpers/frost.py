"""Test helpers for the FROST daemons: allocation from L1, a coordinator over a cluster, and a
dealt group key (one share per signer) for the ``TestSequencerSet`` that only
``tests/devnet/test_outage_processes.py`` still deploys. A dealt key on the real set:
:func:`tests.helpers.prod.install_key` (every share, for the nodes' stores) or
:func:`offchain.staking.frost.l1.install_dealt_key`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offchain.common.hashing import keccak
from offchain.staking.cluster import SequencerCluster
from offchain.staking.config import TOKEN
from offchain.staking.frost.coordinator import FrostCoordinator
from offchain.staking.frost.group import N, base_mul
from offchain.staking.frost.keygen import KeyShare, trusted_dealer_keygen
from offchain.staking.frost.l1 import l1_signature
from offchain.staking.frost.store import FrostStore, KeySet
from offchain.staking.frost.weights import Allocation, allocate
from offchain.staking.frost.wire import element_hex

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


@dataclass(frozen=True)
class DealtKey:
    """A FROST group key dealt to ``signers`` (RFC 9591 appendix C: one share each, threshold
    more than 2/3 of them), deterministic in the signers so every fixture derives the same
    shares. Nodes get their share in their FROST store (:meth:`give_share`) and sign batches
    over the real ``/frost`` protocol; tests that append by hand sign with :meth:`sign`.

    Attributes:
        signers: the sequencer addresses, ascending.
        secret: the group secret (even-y key).
    """

    signers: tuple[str, ...]
    secret: int

    @property
    def allocation(self) -> Allocation:
        return allocate({a: 1 for a in self.signers}, 1, 1)

    def shares(self) -> list[KeyShare]:
        alloc = self.allocation
        t = alloc.threshold
        # Fixed coefficients (from the secret): every call deals the same shares.
        coeffs = [_scalar(self.secret, k) for k in range(1, t)]
        dealt, _ = trusted_dealer_keygen(self.secret, alloc.total, t, coeffs)
        return [KeyShare(d.identifier, d.secret, d.group_public_key) for d in dealt]

    @property
    def x(self) -> int:
        return int(base_mul(self.secret).xy()[0])

    def sign(self, digest: bytes) -> bytes:
        """The set's 96-byte signature of ``digest`` (a threshold of the shares, in-process)."""
        return l1_signature(self.shares()[: self.allocation.threshold], digest)

    def give_share(self, signer: str, data_dir: str | Path) -> None:
        """Store ``signer``'s share in the node store at ``data_dir`` (``frost.sqlite``), as a
        finished key generation would."""
        shares = self.shares()
        pk = shares[0].group_public_key
        ids = self.allocation.identifiers
        mine = next(v for a, v in ids.items() if a.lower() == signer.lower())
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        store = FrostStore(Path(data_dir) / "frost.sqlite")
        try:
            store.save_keyset(
                KeySet(
                    "dealt-1",
                    hex(self.x),
                    element_hex(pk),
                    self.allocation.threshold,
                    {a: list(v) for a, v in ids.items()},
                    {s.identifier: element_hex(s.public) for s in shares},
                    {s.identifier: s.secret for s in shares if s.identifier in mine},
                )
            )
        finally:
            store.close()


def _scalar(secret: int, k: int) -> int:
    return (
        int.from_bytes(
            keccak(b"l2kit.tests.dealt" + secret.to_bytes(32, "big") + bytes([k])), "big"
        )
        % N
    )


def dealt_key(signers: Sequence[Any]) -> DealtKey:
    """The :class:`DealtKey` of ``signers`` (accounts or addresses); its y is even."""
    addrs = tuple(
        sorted((str(getattr(s, "address", s)) for s in signers), key=lambda a: int(a, 16))
    )
    secret = int.from_bytes(keccak(b"l2kit.tests.groupKey" + "".join(addrs).encode()), "big") % N
    if base_mul(secret).xy()[1] % 2:
        secret = N - secret
    return DealtKey(addrs, secret)
