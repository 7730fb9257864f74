"""EMETH Tickets: the EIP-712 message Signers sign and EmethCore settles.

Specified in docs/spec.md, "EMETH Ticket".

Twin of the ``Debit``/``Ticket`` structs and ``ticketDigest`` in ``contracts/emeth/EmethCore.sol``.

- EIP-712 domain: name ``"EmethCore"``, version ``"1"``, ``chainId``, ``verifyingContract`` =
  the EmethCore address.
- Types::

      Debit(address requester,uint256 amount)
      Ticket(uint256 ticketId,address node,bytes32 jobsRoot,uint256 jobCount,uint256 fuel,
             uint256 penalty,Debit[] debits)

- ``jobsRoot`` is the l2kit Merkle root (:mod:`offchain.common.merkle`) over job items
  ``job_leaf(job_id, requester, node, fuel, fee)`` in ticket order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
DEBIT_TYPE = "Debit(address requester,uint256 amount)"
TICKET_TYPE = (
    "Ticket(uint256 ticketId,address node,bytes32 jobsRoot,uint256 jobCount,uint256 fuel,"
    "uint256 penalty,Debit[] debits)"
)
UINT256_MAX = 2**256 - 1

EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": domain_type(),
    "Debit": [
        {"name": "requester", "type": "address"},
        {"name": "amount", "type": "uint256"},
    ],
    "Ticket": [
        {"name": "ticketId", "type": "uint256"},
        {"name": "node", "type": "address"},
        {"name": "jobsRoot", "type": "bytes32"},
        {"name": "jobCount", "type": "uint256"},
        {"name": "fuel", "type": "uint256"},
        {"name": "penalty", "type": "uint256"},
        {"name": "debits", "type": "Debit[]"},
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
    """What one requester pays in a Ticket (sum of its jobs' fees).

    Attributes:
        requester: the requester's address (checksummed on construction).
        amount: EMETH base units debited from its EmethCore deposit.
    """

    requester: str
    amount: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "requester", _address(self.requester, "debit requester"))
        _uint(self.amount, "debit amount")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``amount`` as a decimal string, safe for JS clients)."""
        return {"requester": self.requester, "amount": str(self.amount)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Debit:
        """Inverse of :meth:`to_dict` (``amount`` may be an int or a decimal string).

        Raises:
            TicketError: a missing or malformed field.
        """
        try:
            return cls(requester=data["requester"], amount=int(data["amount"]))
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, TicketError):
                raise
            raise TicketError(f"malformed debit {data!r}: {e}") from e


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
        debits: per-requester amounts (the node is paid their sum).
    """

    ticket_id: int
    node: str
    jobs_root: bytes
    job_count: int
    fuel: int
    penalty: int
    debits: tuple[Debit, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        _uint(self.ticket_id, "ticketId")
        object.__setattr__(self, "node", _address(self.node, "ticket node"))
        object.__setattr__(self, "jobs_root", _bytes32(self.jobs_root, "jobsRoot"))
        _uint(self.job_count, "jobCount")
        _uint(self.fuel, "fuel")
        _uint(self.penalty, "penalty")
        debits = tuple(self.debits)
        if not all(isinstance(d, Debit) for d in debits):
            raise TicketError("debits must be Debit instances")
        object.__setattr__(self, "debits", debits)

    @property
    def total_debit(self) -> int:
        """Sum of all debits: what the node is paid on settlement."""
        return sum(d.amount for d in self.debits)

    def message(self) -> dict[str, Any]:
        """The EIP-712 ``message`` object (field names as in the Solidity struct)."""
        return {
            "ticketId": self.ticket_id,
            "node": self.node,
            "jobsRoot": self.jobs_root,
            "jobCount": self.job_count,
            "fuel": self.fuel,
            "penalty": self.penalty,
            "debits": [{"requester": d.requester, "amount": d.amount} for d in self.debits],
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
            [(d.requester, d.amount) for d in self.debits],
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
            "debits": [d.to_dict() for d in self.debits],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ticket:
        """Inverse of :meth:`to_dict` (integers may be ints or decimal strings).

        Raises:
            TicketError: a missing or malformed field.
        """
        try:
            return cls(
                ticket_id=int(data["ticketId"]),
                node=data["node"],
                jobs_root=_bytes32(data["jobsRoot"], "jobsRoot"),
                job_count=int(data["jobCount"]),
                fuel=int(data["fuel"]),
                penalty=int(data["penalty"]),
                debits=tuple(Debit.from_dict(d) for d in data.get("debits", [])),
            )
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
) -> Ticket:
    """Build a Ticket from a node's confirmed jobs.

    Args:
        ticket_id: the new Ticket's id.
        node: the node that processed every job.
        jobs: ``(job_id, requester, fuel, fee)`` per job, in the order they are hashed.
        penalty: EMETH to burn from the node's collateral.

    Returns:
        A Ticket with ``jobsRoot``, ``jobCount`` and ``fuel`` computed and one Debit per requester
        (in order of first appearance).
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
        jobs_root=jobs_root(leaves),
        job_count=len(leaves),
        fuel=fuel,
        penalty=penalty,
        debits=tuple(Debit(r, a) for r, a in per_requester.items()),
    )
