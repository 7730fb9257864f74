"""EMETH Tickets: the EIP-712 message Signers sign and EmethCore settles.

Specified in docs/spec.md, "EMETH Ticket".

Twin of the ``Ticket`` struct, ``ticketDigest`` and ``debitLeaf`` in
``contracts/emeth/EmethCore.sol``.

- EIP-712 domain: name ``"EmethCore"``, version ``"1"``, ``chainId``, ``verifyingContract`` =
  the EmethCore address.
- Type::

      Ticket(uint256 ticketId,address node,bytes32 jobsRoot,uint256 jobCount,uint256 fuel,
             uint256 penalty,bytes32 debitsRoot,uint256 debitCount,uint256 totalDebit,
             uint64 validUntil)

- ``jobsRoot`` is the l2kit Merkle root (:mod:`offchain.common.merkle`) over job items
  ``job_leaf(job_id, requester, node, fuel, fee)`` in ticket order.
- ``debitsRoot`` is the l2kit Merkle root over one item per billed requester,
  ``debit_leaf(requester, cumulative, prev_ticket_id)``, in order of each requester's first job;
  ``totalDebit`` is the sum of the requesters' debits in this Ticket (what the node is paid).
- ``validUntil`` is the last L1 timestamp at which the Ticket settles: the Signer sets it to
  the L1 time of its view + ``settleMargin`` (docs/spec.md, "Ticket validity").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, _hash_eip191_message, encode_typed_data
from eth_utils import is_address, to_checksum_address

from offchain.common import merkle
from offchain.common.eip712 import domain_type
from offchain.common.hashing import keccak
from offchain.errors import L2KitError

DOMAIN_NAME = "EmethCore"
DOMAIN_VERSION = "1"
TICKET_TYPE = (
    "Ticket(uint256 ticketId,address node,bytes32 jobsRoot,uint256 jobCount,uint256 fuel,"
    "uint256 penalty,bytes32 debitsRoot,uint256 debitCount,uint256 totalDebit,uint64 validUntil)"
)
EL_SHIFT = 32  # Ticket ids are ``execution_layer_id << EL_SHIFT | n``
UINT256_MAX = 2**256 - 1
UINT64_MAX = 2**64 - 1

EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": domain_type(),
    "Ticket": [
        {"name": "ticketId", "type": "uint256"},
        {"name": "node", "type": "address"},
        {"name": "jobsRoot", "type": "bytes32"},
        {"name": "jobCount", "type": "uint256"},
        {"name": "fuel", "type": "uint256"},
        {"name": "penalty", "type": "uint256"},
        {"name": "debitsRoot", "type": "bytes32"},
        {"name": "debitCount", "type": "uint256"},
        {"name": "totalDebit", "type": "uint256"},
        {"name": "validUntil", "type": "uint64"},
    ],
}


class TicketError(L2KitError, ValueError):
    """A malformed Ticket, Debit, job leaf or signature."""


def _address(value: str, what: str) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise TicketError(f"{what} is not an address: {value!r}")
    return str(to_checksum_address(value))


def _uint(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= UINT256_MAX:
        raise TicketError(f"{what} must be a uint256, got {value!r}")
    return value


def _bytes32(value: bytes | str, what: str) -> bytes:
    if isinstance(value, str):
        try:
            value = bytes.fromhex(value.removeprefix("0x"))
        except ValueError:
            raise TicketError(f"{what} is not hex: {value!r}") from None
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise TicketError(f"{what} must be 32 bytes")
    return bytes(value)


@dataclass(frozen=True)
class Debit:
    """What one requester pays in a Ticket, and its leaf under ``debitsRoot``.

    Attributes:
        requester: the requester's address (checksummed on construction).
        amount: EMETH base units this Ticket bills it (the sum of its jobs' fees).
        cumulative: its cumulative debit in this execution layer, this Ticket included
            (its previous leaf's ``cumulative`` + ``amount``).
        prev_ticket_id: the previous Ticket of this execution layer that debited it (0: none).
    """

    requester: str
    amount: int
    cumulative: int
    prev_ticket_id: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "requester", _address(self.requester, "debit requester"))
        _uint(self.amount, "debit amount")
        _uint(self.cumulative, "debit cumulative")
        _uint(self.prev_ticket_id, "debit prevTicketId")
        if self.cumulative < self.amount:
            raise TicketError(f"cumulative debit {self.cumulative} below the amount {self.amount}")

    @property
    def leaf(self) -> bytes:
        """Its item under ``debitsRoot`` (:func:`debit_leaf`)."""
        return debit_leaf(self.requester, self.cumulative, self.prev_ticket_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (amounts as decimal strings, safe for JS clients)."""
        return {
            "requester": self.requester,
            "amount": str(self.amount),
            "cumulative": str(self.cumulative),
            "prevTicketId": str(self.prev_ticket_id),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Debit:
        """Inverse of :meth:`to_dict` (integers may be ints or decimal strings).

        Raises:
            TicketError: a missing or malformed field.
        """
        try:
            return cls(
                requester=data["requester"],
                amount=int(data["amount"]),
                cumulative=int(data["cumulative"]),
                prev_ticket_id=int(data.get("prevTicketId", 0)),
            )
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, TicketError):
                raise
            raise TicketError(f"malformed debit {data!r}: {e}") from e


@dataclass(frozen=True)
class DebitProof:
    """A requester's leaf in a settled Ticket and its path to ``debitsRoot``.

    The ``DebitProof`` argument of ``EmethCore.proveDebit`` / ``requestWithdrawal`` /
    ``withdraw``.
    """

    ticket_id: int
    cumulative: int
    prev_ticket_id: int
    index: int
    proof: tuple[bytes, ...]

    def as_abi(self) -> tuple[Any, ...]:
        """The ``DebitProof`` tuple for a web3 contract call."""
        return (self.ticket_id, self.cumulative, self.prev_ticket_id, self.index, list(self.proof))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (integers as decimal strings, hashes as 0x-hex)."""
        return {
            "ticketId": str(self.ticket_id),
            "cumulative": str(self.cumulative),
            "prevTicketId": str(self.prev_ticket_id),
            "index": self.index,
            "proof": ["0x" + p.hex() for p in self.proof],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DebitProof:
        """Inverse of :meth:`to_dict`.

        Raises:
            TicketError: a missing or malformed field.
        """
        try:
            return cls(
                ticket_id=_uint(int(data["ticketId"]), "ticketId"),
                cumulative=_uint(int(data["cumulative"]), "cumulative"),
                prev_ticket_id=_uint(int(data["prevTicketId"]), "prevTicketId"),
                index=_uint(int(data["index"]), "index"),
                proof=tuple(_bytes32(p, "proof node") for p in data["proof"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, TicketError):
                raise
            raise TicketError(f"malformed debit proof: {e}") from e


@dataclass(frozen=True)
class Ticket:
    """A signed bill for a batch of a node's confirmed jobs.

    Attributes:
        ticket_id: unique id; EmethCore settles each id at most once.
        node: the node paid by the Ticket (and whose collateral pays ``penalty``).
        jobs_root: Merkle root over :func:`job_leaf` items of the billed jobs.
        job_count: number of leaves under ``jobs_root``.
        fuel: fuel of those jobs, added to the node's cumulative ``totalFuel`` on L1.
        penalty: EMETH burned from the node's collateral (timeouts/withdrawals confirmed off-chain).
        debits: one entry per billed requester (the node is paid the sum of the amounts);
            signed only through ``debitsRoot``, ``debitCount`` and ``totalDebit``.
        valid_until: last L1 timestamp (seconds) at which ``settleTicket`` accepts it.
    """

    ticket_id: int
    node: str
    jobs_root: bytes
    job_count: int
    fuel: int
    penalty: int
    debits: tuple[Debit, ...] = field(default_factory=tuple)
    valid_until: int = 0

    def __post_init__(self) -> None:
        _uint(self.ticket_id, "ticketId")
        if (
            isinstance(self.valid_until, bool)
            or not isinstance(self.valid_until, int)
            or not 0 <= self.valid_until <= UINT64_MAX
        ):
            raise TicketError(f"validUntil must be a uint64, got {self.valid_until!r}")
        object.__setattr__(self, "node", _address(self.node, "ticket node"))
        object.__setattr__(self, "jobs_root", _bytes32(self.jobs_root, "jobsRoot"))
        _uint(self.job_count, "jobCount")
        _uint(self.fuel, "fuel")
        _uint(self.penalty, "penalty")
        debits = tuple(self.debits)
        if not all(isinstance(d, Debit) for d in debits):
            raise TicketError("debits must be Debit instances")
        if len({d.requester for d in debits}) != len(debits):
            raise TicketError("a requester has at most one debit in a Ticket")
        for d in debits:
            if d.prev_ticket_id >= self.ticket_id:
                raise TicketError(
                    f"debit of {d.requester}: previous Ticket {d.prev_ticket_id} is not older "
                    f"than {self.ticket_id}"
                )
        object.__setattr__(self, "debits", debits)

    @property
    def total_debit(self) -> int:
        """Sum of all debits: what the node is paid on settlement."""
        return sum(d.amount for d in self.debits)

    @property
    def debits_root(self) -> bytes:
        """Merkle root over the debits' leaves, in order."""
        return merkle.root([d.leaf for d in self.debits])

    def debit_proof(self, requester: str) -> DebitProof:
        """The proof of ``requester``'s leaf in this Ticket.

        Raises:
            TicketError: the Ticket does not debit ``requester``.
        """
        req = _address(requester, "requester")
        for i, d in enumerate(self.debits):
            if d.requester == req:
                tree = merkle.MerkleTree([x.leaf for x in self.debits])
                return DebitProof(
                    self.ticket_id, d.cumulative, d.prev_ticket_id, i, tuple(tree.proof(i))
                )
        raise TicketError(f"Ticket {self.ticket_id} does not debit {req}")

    def message(self) -> dict[str, Any]:
        """The EIP-712 ``message`` object (field names as in the Solidity struct)."""
        return {
            "ticketId": self.ticket_id,
            "node": self.node,
            "jobsRoot": self.jobs_root,
            "jobCount": self.job_count,
            "fuel": self.fuel,
            "penalty": self.penalty,
            "debitsRoot": self.debits_root,
            "debitCount": len(self.debits),
            "totalDebit": self.total_debit,
            "validUntil": self.valid_until,
        }

    def as_abi(self) -> tuple[Any, ...]:
        """The ``Ticket`` tuple for a web3 contract call (``settleTicket(t, sig)``)."""
        return (
            self.ticket_id,
            self.node,
            self.jobs_root,
            self.job_count,
            self.fuel,
            self.penalty,
            self.debits_root,
            len(self.debits),
            self.total_debit,
            self.valid_until,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: big integers as decimal strings, ``jobsRoot`` as 0x-hex."""
        return {
            "ticketId": str(self.ticket_id),
            "node": self.node,
            "jobsRoot": "0x" + self.jobs_root.hex(),
            "jobCount": self.job_count,
            "fuel": str(self.fuel),
            "penalty": str(self.penalty),
            "debitsRoot": "0x" + self.debits_root.hex(),
            "debitCount": len(self.debits),
            "totalDebit": str(self.total_debit),
            "validUntil": str(self.valid_until),
            "debits": [d.to_dict() for d in self.debits],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ticket:
        """Inverse of :meth:`to_dict` (integers may be ints or decimal strings). The derived
        ``debitsRoot``, ``debitCount`` and ``totalDebit``, when present, must match ``debits``.

        Raises:
            TicketError: a missing, malformed or inconsistent field.
        """
        try:
            t = cls(
                ticket_id=int(data["ticketId"]),
                node=data["node"],
                jobs_root=_bytes32(data["jobsRoot"], "jobsRoot"),
                job_count=int(data["jobCount"]),
                fuel=int(data["fuel"]),
                penalty=int(data["penalty"]),
                debits=tuple(Debit.from_dict(d) for d in data.get("debits", [])),
                valid_until=int(data.get("validUntil", 0)),
            )
            derived = {
                "debitsRoot": "0x" + t.debits_root.hex(),
                "debitCount": len(t.debits),
                "totalDebit": t.total_debit,
            }
            for k, want in derived.items():
                got = data.get(k)
                if got is None:
                    continue
                if (str(got).lower() if k == "debitsRoot" else int(got)) != want:
                    raise TicketError(f"{k} {got} does not match the debits ({want})")
            return t
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, TicketError):
                raise
            raise TicketError(f"malformed ticket: {e}") from e


def job_leaf(job_id: bytes, requester: str, node: str, fuel: int, fee: int) -> bytes:
    """Merkle item of one billed job.

    ``keccak256(abi.encode(bytes16 jobId, address requester, address node, uint256 fuel,
    uint256 fee))``.

    Args:
        job_id: the 16-byte job (or SubJob) id.
        requester: who pays for the job.
        node: who processed it.
        fuel: fuel consumed by the job.
        fee: what the requester pays the node for it.

    Returns:
        The 32-byte item to put under a Ticket's ``jobsRoot``.

    Raises:
        TicketError: a malformed argument.
    """
    if not isinstance(job_id, bytes | bytearray) or len(job_id) != 16:
        raise TicketError(f"job id must be 16 bytes, got {job_id!r}")
    req = _address(requester, "job requester")
    nd = _address(node, "job node")
    encoded = (
        bytes(job_id) + b"\x00" * 16  # bytes16 is left-aligned in its word
        + b"\x00" * 12 + bytes.fromhex(req[2:])
        + b"\x00" * 12 + bytes.fromhex(nd[2:])
        + _uint(fuel, "job fuel").to_bytes(32, "big")
        + _uint(fee, "job fee").to_bytes(32, "big")
    )  # fmt: skip
    return keccak(encoded)


def debit_leaf(requester: str, cumulative: int, prev_ticket_id: int) -> bytes:
    """Merkle item of one requester's debit in a Ticket.

    ``keccak256(abi.encode(address requester, uint256 cumulative, uint256 prevTicketId))``.

    Raises:
        TicketError: a malformed argument.
    """
    req = _address(requester, "debit requester")
    encoded = (
        b"\x00" * 12 + bytes.fromhex(req[2:])
        + _uint(cumulative, "debit cumulative").to_bytes(32, "big")
        + _uint(prev_ticket_id, "debit prevTicketId").to_bytes(32, "big")
    )  # fmt: skip
    return keccak(encoded)


def jobs_root(leaves: Sequence[bytes]) -> bytes:
    """Merkle root over job leaves (as returned by :func:`job_leaf`), in ticket order."""
    return merkle.root(leaves)


def typed_data(chain_id: int, core_address: str, ticket: Ticket) -> dict[str, Any]:
    """The full EIP-712 typed-data object (what wallets sign with ``eth_signTypedData_v4``)."""
    return {
        "types": EIP712_TYPES,
        "primaryType": "Ticket",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": _uint(chain_id, "chainId"),
            "verifyingContract": _address(core_address, "EmethCore address"),
        },
        "message": ticket.message(),
    }


def _signable(chain_id: int, core_address: str, ticket: Ticket) -> SignableMessage:
    return encode_typed_data(full_message=typed_data(chain_id, core_address, ticket))


def ticket_hash(ticket: Ticket) -> bytes:
    """EIP-712 ``hashStruct(ticket)``: ``EmethCore.hashTicket(ticket)``, the hash
    ``postTicket`` stores (the domain does not enter it)."""
    return bytes(_signable(1, "0x" + "00" * 20, ticket).body)


def ticket_digest(chain_id: int, core_address: str, ticket: Ticket) -> bytes:
    """EIP-712 digest ``keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(ticket))``.

    Equals ``EmethCore.ticketDigest(ticket)`` on chain ``chain_id`` at ``core_address``.
    """
    return bytes(_hash_eip191_message(_signable(chain_id, core_address, ticket)))


def sign_ticket(account: Any, chain_id: int, core_address: str, ticket: Ticket) -> bytes:
    """Sign ``ticket`` as a Signer.

    Args:
        account: an eth-account ``LocalAccount`` (or anything with ``sign_message``).
        chain_id: chain id of the L1 holding EmethCore.
        core_address: EmethCore address (the EIP-712 verifying contract).
        ticket: the Ticket to sign.

    Returns:
        The 65-byte signature ``r ‖ s ‖ v`` that ``settleTicket`` accepts.
    """
    signed = account.sign_message(_signable(chain_id, core_address, ticket))
    return bytes(signed.signature)


def recover_ticket_signer(
    chain_id: int, core_address: str, ticket: Ticket, signature: bytes | str
) -> str:
    """Address that signed ``ticket`` (checksummed).

    Raises:
        TicketError: the signature is malformed or unrecoverable.
    """
    if isinstance(signature, str):
        try:
            signature = bytes.fromhex(signature.removeprefix("0x"))
        except ValueError:
            raise TicketError("signature is not hex") from None
    if len(signature) != 65:
        raise TicketError(f"signature must be 65 bytes, got {len(signature)}")
    try:
        return str(
            Account.recover_message(_signable(chain_id, core_address, ticket), signature=signature)
        )
    except Exception as e:  # eth-account raises several types for bad signatures
        raise TicketError(f"cannot recover the ticket signer: {e}") from e


def build_ticket(
    ticket_id: int,
    node: str,
    jobs: Iterable[tuple[bytes, str, int, int]],
    penalty: int = 0,
    prior: Mapping[str, tuple[int, int]] | None = None,
    valid_until: int = 0,
    carry: Mapping[str, int] | None = None,
    jobs_root: bytes | None = None,
) -> Ticket:
    """Build a Ticket from a node's confirmed jobs.

    Args:
        ticket_id: the new Ticket's id.
        node: the node that processed every job.
        jobs: ``(job_id, requester, fuel, fee)`` per job, in the order they are hashed.
        penalty: EMETH to burn from the node's collateral.
        prior: per requester (checksummed), ``(cumulative debit, id of the Ticket of that
            debit)`` before this Ticket in its execution layer; absent: ``(0, 0)``.
        valid_until: last L1 timestamp at which the Ticket may settle.
        carry: per requester, its debits in expired Tickets its chain already counts and no
            later debit carried yet: this Ticket's leaf counts ``amount − min(amount, carry)``
            (docs/spec.md, "Ticket validity"); the node is still paid ``amount``.
        jobs_root: the root of the jobs' leaves when they are not :func:`job_leaf` items
            (a posted Ticket's ``JobBacking`` leaves, ``offchain.emeth.backing``).

    Returns:
        A Ticket with ``jobsRoot``, ``jobCount`` and ``fuel`` computed and one Debit per requester
        (in order of first appearance) chained to ``prior``.
    """
    leaves: list[bytes] = []
    fuel = 0
    per_requester: dict[str, int] = {}
    for job_id, requester, job_fuel, fee in jobs:
        leaves.append(job_leaf(job_id, requester, node, job_fuel, fee))
        fuel += job_fuel
        req = _address(requester, "job requester")
        per_requester[req] = per_requester.get(req, 0) + fee
    return Ticket(
        ticket_id=ticket_id,
        node=node,
        jobs_root=merkle.root(leaves) if jobs_root is None else jobs_root,
        job_count=len(leaves),
        fuel=fuel,
        penalty=penalty,
        debits=tuple(
            Debit(
                r,
                a,
                (prior or {}).get(r, (0, 0))[0] + a - min(a, (carry or {}).get(r, 0)),
                (prior or {}).get(r, (0, 0))[1],
            )
            for r, a in per_requester.items()
        ),
        valid_until=valid_until,
    )
