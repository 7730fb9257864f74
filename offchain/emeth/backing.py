"""Job leaves of posted Tickets with their backing (docs/spec.md, "Disputes and the bonded
Signer set").

Twin of ``EmethCore.JobBacking``, ``jobBackingLeaf``, ``registerJobDigest`` and ``subJobId``:
a posted Ticket's ``jobsRoot`` is the l2kit Merkle root over
``keccak256(abi.encode(JobBacking))`` items, each carrying what the requester signed in
``RegisterJob`` (with its signature) and when the node's ``Process`` was accepted, so anyone
holding the leaves can prove one unbacked on L1 (``disputeJob``, ``disputeDoubleBilling``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_utils import to_checksum_address

from offchain.common import merkle
from offchain.common.hashing import keccak
from offchain.emeth.errors import ActionError
from offchain.emeth.execution.actions import Domain, action_digest, normalize_message, sign_action
from offchain.emeth.ticket import TicketError

_REGISTER_ABI = "(bytes16,address,bytes32,bytes32,bytes32,uint256,uint256,uint256,bool)"
JOB_BACKING_ABI = f"(bytes16,address,uint256,uint256,uint256,{_REGISTER_ABI},bytes,uint64)"
"""ABI type of ``EmethCore.JobBacking`` (the leaf is keccak256 of its ``abi.encode``)."""

#: Dispute reasons, as ``EmethCore.DisputeReason`` numbers them (event ``TicketDisputed``).
DISPUTE_REASONS = ("UnsignedJob", "FeeAboveMax", "CancelledBeforeProcess", "DoubleBilled")


@dataclass(frozen=True)
class JobBacking:
    """One billed job of a posted Ticket and what backs it.

    Attributes:
        job_id: the billed job, or SubJob ``part - 1`` of ``register["jobId"]`` (16 bytes;
            :func:`offchain.emeth.execution.subjobs.subjob_id`).
        requester: who pays ``fee``.
        fuel: fuel of the job.
        fee: what the requester pays for it.
        part: 0 for the registered job itself, ``i + 1`` for its SubJob ``i``.
        register: the requester's ``RegisterJob`` message (JSON form, as posted to the
            execution layer).
        register_signature: the requester's 65-byte signature of ``register``.
        processed_at: unix time the execution layer accepted the node's ``Process``.
    """

    job_id: bytes
    requester: str
    fuel: int
    fee: int
    part: int
    register: dict[str, Any]
    register_signature: bytes
    processed_at: int

    def __post_init__(self) -> None:
        if len(self.job_id) != 16:
            raise TicketError(f"job id must be 16 bytes, got {self.job_id!r}")
        if len(self.register_signature) != 65:
            raise TicketError("a RegisterJob signature is 65 bytes")
        object.__setattr__(self, "requester", to_checksum_address(self.requester))
        try:
            register = normalize_message("RegisterJob", self.register)
        except ActionError as e:
            raise TicketError(f"malformed RegisterJob in a job backing: {e}") from e
        object.__setattr__(self, "register", register)

    def register_abi(self) -> tuple[Any, ...]:
        """``EmethCore.RegisterJob`` tuple (strings as their keccak256)."""
        r = self.register
        return (
            r["jobId"],
            r["requester"],
            keccak(r["programId"].encode()),
            keccak(r["datasetKey"].encode()),
            keccak(r["params"].encode()),
            r["fee"],
            r["timeoutSeconds"],
            r["expiresAt"],
            r["splittable"],
        )

    def as_abi(self) -> tuple[Any, ...]:
        """``EmethCore.JobBacking`` tuple for a web3 call."""
        return (
            self.job_id,
            self.requester,
            self.fuel,
            self.fee,
            self.part,
            self.register_abi(),
            self.register_signature,
            self.processed_at,
        )

    @property
    def leaf(self) -> bytes:
        """Its item under ``jobsRoot``: ``keccak256(abi.encode(JobBacking))``."""
        return keccak(encode([JOB_BACKING_ABI], [self.as_abi()]))

    def to_dict(self) -> dict[str, Any]:
        """JSON form (integers as decimal strings, bytes as 0x-hex)."""
        reg = {k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in self.register.items()}
        for k in ("fee", "timeoutSeconds", "expiresAt"):
            reg[k] = str(reg[k])
        return {
            "jobId": "0x" + self.job_id.hex(),
            "requester": self.requester,
            "fuel": str(self.fuel),
            "fee": str(self.fee),
            "part": self.part,
            "register": reg,
            "registerSignature": "0x" + self.register_signature.hex(),
            "processedAt": self.processed_at,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> JobBacking:
        """Inverse of :meth:`to_dict`.

        Raises:
            TicketError: a missing or malformed field.
        """
        try:
            return cls(
                job_id=bytes.fromhex(str(d["jobId"]).removeprefix("0x")),
                requester=str(d["requester"]),
                fuel=int(d["fuel"]),
                fee=int(d["fee"]),
                part=int(d["part"]),
                register=dict(d["register"]),
                register_signature=bytes.fromhex(str(d["registerSignature"]).removeprefix("0x")),
                processed_at=int(d["processedAt"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, TicketError):
                raise
            raise TicketError(f"malformed job backing: {e}") from e


@dataclass(frozen=True)
class LeafProof:
    """``EmethCore.LeafProof``: leaf ``index`` of a posted Ticket's ``jobsRoot`` and its path."""

    index: int
    backing: JobBacking
    proof: tuple[bytes, ...]

    def as_abi(self) -> tuple[Any, ...]:
        return (self.index, self.backing.as_abi(), list(self.proof))


def backed_jobs_root(jobs: Sequence[JobBacking]) -> bytes:
    """The ``jobsRoot`` of a posted Ticket over ``jobs`` in order."""
    return merkle.root([j.leaf for j in jobs])


def leaf_proof(jobs: Sequence[JobBacking], index: int) -> LeafProof:
    """The proof of ``jobs[index]`` under :func:`backed_jobs_root`."""
    tree = merkle.MerkleTree([j.leaf for j in jobs])
    return LeafProof(index, jobs[index], tuple(tree.proof(index)))


def register_digest(domain: Domain, register: dict[str, Any]) -> bytes:
    """EIP-712 digest of a ``RegisterJob`` in ``domain`` (``EmethCore.registerJobDigest``)."""
    return bytes.fromhex(action_digest(domain, "RegisterJob", register)[2:])


def sign_register(domain: Domain, register: dict[str, Any], key: Any) -> bytes:
    """The requester's signature of ``register`` (what ``POST /actions`` takes)."""
    return bytes.fromhex(sign_action(domain, "RegisterJob", register, key).removeprefix("0x"))


def signed_job(
    domain: Domain,
    key: Any,
    job_id: bytes,
    fee: int,
    processed_at: int,
    max_fee: int | None = None,
    fuel: int = 1_000,
    part: int = 0,
    expires_at: int = 2**32,
) -> JobBacking:
    """A ``wordcount/v1`` job of the requester holding ``key``, registered with maximum fee
    ``max_fee`` (default ``fee``) and signed by it, billed at ``fee`` (its SubJob ``part - 1``
    when ``part`` > 0): the backing of benchmarks and tests.
    """
    register = {
        "jobId": "0x" + job_id.hex(),
        "requester": key.address,
        "programId": "wordcount/v1",
        "datasetKey": "blob:" + job_id.hex(),
        "params": "{}",
        "fee": fee if max_fee is None else max_fee,
        "timeoutSeconds": 60,
        "expiresAt": expires_at,
        "splittable": part != 0,
    }
    billed = job_id
    if part:
        from offchain.emeth.execution.subjobs import subjob_id

        billed = bytes.fromhex(subjob_id("0x" + job_id.hex(), part - 1)[2:])
    signature = sign_register(domain, register, key)
    return JobBacking(billed, key.address, fuel, fee, part, register, signature, processed_at)
