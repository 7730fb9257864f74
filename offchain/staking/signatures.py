"""Batch digests, ECDSA co-signatures and the >2/3-of-stake rule.

Digest (fixed; the rollup contracts compute the same)::

    digest = keccak256(abi.encode(uint256 chainId, address stateCommitment,
                                  uint256 batchIndex, bytes32 batchHeaderHash))

and, when the round's absence bitmap ``absent`` is not 0 (:func:`absence_bitmap`), the same
with ``uint256 absent`` appended (``batchDigestAbsent``).

Signatures are raw 65-byte ECDSA ``r ‖ s ‖ v`` (``v`` in {27, 28}, low ``s``) over ``digest``
itself (no EIP-191 prefix). On L1 such a list (ordered by strictly ascending signer address,
from active signers holding more than 2/3 of the active stake: ``signed * 3 > active * 2``,
stakes from ``SequencerSet.activeStakes()``) only installs or recovers the group key
(``SequencerSet.verifySetSignatures``); a batch, a reselection or a removal carries the group
key's one FROST signature (``verifyBatchSignatures``). The co-signers' ``/cosign`` answers run
the same checks as a FROST round (``/frost/sign``) and are not an L1 signature.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests
from coincurve import PrivateKey, PublicKey
from eth_abi import encode as abi_encode
from eth_utils import to_checksum_address

from offchain.common.hashing import keccak
from offchain.staking.errors import NotEnoughSignatures, StakingError

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount


def batch_digest(
    chain_id: int, contract: str, index: int, header_hash: bytes, absent: int = 0
) -> bytes:
    """The digest the sequencer set signs for batch ``index`` of ``contract``.

    Args:
        chain_id: L1 chain id.
        contract: StateCommitment address.
        index: batch index.
        header_hash: keccak256 of the batch header (32 bytes).
        absent: the absence bitmap (bit i: member i of ``activeSigners()`` took no part in
            co-signing; 0: everyone did, the digest without it, ``batchDigest``).

    Returns:
        32-byte digest.

    Raises:
        StakingError: ``header_hash`` is not 32 bytes.
    """
    if len(header_hash) != 32:
        raise StakingError(f"batch header hash must be 32 bytes, got {len(header_hash)}")
    types = ["uint256", "address", "uint256", "bytes32"]
    values: list[object] = [chain_id, to_checksum_address(contract), index, header_hash]
    if absent:
        types.append("uint256")
        values.append(absent)
    return keccak(abi_encode(types, values))


def absence_bitmap(active: Sequence[str], present: Iterable[str]) -> int:
    """The absence bitmap of a co-signing round: bit i set for member i of ``active`` (the
    order of ``SequencerSet.activeSigners()``) that is not in ``present``.

    Args:
        active: the active signers, in L1's order (at most 256 are counted: the bitmap's width).
        present: the members that took part (any case).

    Returns:
        The bitmap (0: everyone took part).
    """
    here = {a.lower() for a in present}
    return sum(1 << i for i, a in enumerate(active[:256]) if a.lower() not in here)


def absent_members(active: Sequence[str], absent: int) -> list[str]:
    """The members of ``active`` that the bitmap ``absent`` marks (in L1's order)."""
    return [a for i, a in enumerate(active[:256]) if (absent >> i) & 1]


def sign_digest(account: LocalAccount | bytes, digest: bytes) -> bytes:
    """65-byte ``r ‖ s ‖ v`` signature (v = 27/28) of ``account`` over ``digest`` (no prefix).

    Args:
        account: an eth-account account, or a 32-byte private key.
        digest: 32-byte message digest.

    Returns:
        The signature bytes.
    """
    key = account if isinstance(account, bytes) else bytes(account.key)
    if len(digest) != 32:
        raise StakingError(f"digest must be 32 bytes, got {len(digest)}")
    sig = PrivateKey(key).sign_recoverable(digest, hasher=None)  # r(32) s(32) recid(1)
    return sig[:64] + bytes([sig[64] + 27])


def recover_signer(digest: bytes, signature: bytes) -> str:
    """Checksummed address that produced ``signature`` over ``digest``.

    Raises:
        StakingError: malformed signature.
    """
    if len(signature) != 65 or signature[64] not in (27, 28):
        raise StakingError("signature must be 65 bytes r‖s‖v with v in {27, 28}")
    try:
        pub = PublicKey.from_signature_and_message(
            signature[:64] + bytes([signature[64] - 27]), digest, hasher=None
        )
    except Exception as e:  # noqa: BLE001 - coincurve raises plain exceptions
        raise StakingError(f"invalid signature: {e}") from e
    return to_checksum_address(keccak(pub.format(compressed=False)[1:])[-20:])


def order_signatures(signed: dict[str, bytes]) -> list[bytes]:
    """Signatures ordered by ascending signer address (the contract's required order).

    Args:
        signed: signer address -> signature.
    """
    return [signed[a] for a in sorted(signed, key=lambda a: int(a, 16))]


def threshold(active: int) -> int:
    """Smallest ``n`` with ``n * 3 > active * 2`` (more than 2/3 of ``active``: seats or stake)."""
    return active * 2 // 3 + 1


Active = Mapping[str, int] | Sequence[str]
"""The active set: signer -> stake (what the contract weighs), or a plain list (equal stakes)."""


def stake_weights(active: Active) -> dict[str, int]:
    """Lower-cased signer -> stake; a plain list of signers counts one each."""
    if isinstance(active, Mapping):
        return {str(a).lower(): int(w) for a, w in active.items()}
    return {str(a).lower(): 1 for a in active}


def active_stakes(sequencer_set: Any) -> dict[str, int]:
    """Signer -> stake of the active set, read from ``SequencerSet.activeStakes()``.

    Falls back to equal weights from ``activeSigners()`` for an ``ISequencerSet`` without
    ``activeStakes()`` (the interface the rollup contracts use does not require it).
    """
    names = {f.get("name") for f in sequencer_set.abi if f.get("type") == "function"}
    if "activeStakes" in names:
        signers, stakes = sequencer_set.functions.activeStakes().call()
        return {str(a): int(w) for a, w in zip(signers, stakes, strict=True)}
    return {str(a): 1 for a in sequencer_set.functions.activeSigners().call()}


def stake_quorum(weights: Mapping[str, int], candidates: Sequence[str]) -> list[str]:
    """The first of ``candidates`` (in order) whose stakes add up to more than 2/3 of the total.

    Args:
        weights: signer -> stake of the whole active set (:func:`active_stakes`).
        candidates: signers able to sign, in preference order.

    Returns:
        The chosen signers (all of ``candidates`` if even they do not reach the threshold: the
        contract then refuses with ``SequencerSetNotEnoughSignatures``).
    """
    w = stake_weights(weights)
    total = sum(w.values())
    chosen: list[str] = []
    got = 0
    for c in candidates:
        if got * 3 > total * 2:
            break
        if c.lower() in w:
            chosen.append(c)
            got += w[c.lower()]
    return chosen


def _check_stake(
    signed: dict[str, bytes], weights: dict[str, int], failures: dict[str, str]
) -> None:
    total = sum(weights.values())
    got = sum(weights.get(a.lower(), 0) for a in signed)
    if got * 3 <= total * 2:
        raise NotEnoughSignatures(got, threshold(total), failures)


@dataclass
class CosignRequest:
    """What a co-signer needs to check a batch digest before signing it."""

    chain_id: int
    contract: str
    batch_index: int
    header_hash: bytes
    header: dict[str, Any] | None = None
    #: the absence bitmap signed with the batch (bit i: member i of ``activeSigners()``).
    absent: int = 0

    @property
    def digest(self) -> bytes:
        return batch_digest(
            self.chain_id, self.contract, self.batch_index, self.header_hash, self.absent
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": "0x" + self.digest.hex(),
            "chain_id": self.chain_id,
            "contract": self.contract,
            "batch_index": self.batch_index,
            "header_hash": "0x" + self.header_hash.hex(),
            "header": self.header or {},
            "absent": self.absent,
        }


def collect_signatures(
    request: CosignRequest,
    peers: list[str],
    active: Active,
    *,
    own: LocalAccount | None = None,
    timeout_s: float = 5.0,
) -> list[bytes]:
    """Ask ``peers`` (co-signer base URLs) to sign ``request``; return the contract's ``bytes[]``.

    Only signatures that recover to an address of ``active`` over the expected digest count;
    all peers are asked in parallel and the result is ordered by ascending signer.

    Args:
        request: the batch to sign.
        peers: base URLs such as ``http://127.0.0.1:9001``.
        active: signer -> stake (:func:`active_stakes`), or a list of signers (equal stakes).
        own: this node's signer, which signs locally first (optional).
        timeout_s: per-peer HTTP timeout.

    Returns:
        Ordered signatures from more than 2/3 of the active stake.

    Raises:
        NotEnoughSignatures: the signers hold no more than 2/3 of the active stake.
    """
    digest = request.digest
    weights = stake_weights(active)
    wanted = set(weights)
    signed: dict[str, bytes] = {}
    if own is not None and own.address.lower() in wanted:
        signed[own.address] = sign_digest(own, digest)
    failures: dict[str, str] = {}
    body = request.to_json()

    def ask(url: str) -> tuple[str, bytes | None, str]:
        try:
            r = requests.post(url.rstrip("/") + "/cosign", json=body, timeout=timeout_s)
        except requests.RequestException as e:
            return url, None, f"unreachable ({type(e).__name__})"
        if r.status_code != 200:
            try:
                msg = r.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                msg = r.text[:200]
            return url, None, f"HTTP {r.status_code}: {msg}"
        try:
            return url, bytes.fromhex(r.json()["signature"].removeprefix("0x")), ""
        except (ValueError, KeyError, TypeError):
            return url, None, "malformed answer"

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(16, len(peers)))) as ex:
        for url, sig, err in ex.map(ask, peers):
            if sig is None:
                failures[url] = err
                continue
            try:
                who = recover_signer(digest, sig)
            except StakingError as e:
                failures[url] = str(e)
                continue
            if who.lower() not in wanted:
                failures[url] = f"signer {who} is not active"
                continue
            signed[who] = sig
    _check_stake(signed, weights, failures)
    return order_signatures(signed)


RESELECT_TAG = keccak(b"l2kit.SequencerSet.reselect")


def reselect_digest(
    chain_id: int, sequencer_set: str, epoch: int, round_: int, current: str
) -> bytes:
    """``SequencerSet.reselectDigest()``: what >2/3 of the set sign to replace ``current``.

    ``keccak256(abi.encode(keccak256("l2kit.SequencerSet.reselect"), chainid, sequencerSet,
    epoch, round, current))``.
    """
    return keccak(
        abi_encode(
            ["bytes32", "uint256", "address", "uint256", "uint256", "address"],
            [
                RESELECT_TAG,
                chain_id,
                to_checksum_address(sequencer_set),
                epoch,
                round_,
                to_checksum_address(current),
            ],
        )
    )
