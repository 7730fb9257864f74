"""Signed actions of the execution layer (EIP-712), see docs/spec.md "EMETH execution layer".

Every write to the execution layer is one of these typed messages, signed by the actor
named in it. Domain: ``name="EmethExecutionLayer"``, ``version="1"``, the L1 chain id,
``verifyingContract = EmethCore`` and ``salt`` = the execution layer id, so a signature is
bound to one execution layer of one deployment.
Actions on a job carry the job's ``attempt`` (bumped each time it is re-offered), which makes
every action a one-shot on a stable id: replaying it later cannot act on a newer attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import to_checksum_address

from offchain.common.eip712 import domain_type
from offchain.emeth.errors import ActionError

DOMAIN_NAME = "EmethExecutionLayer"
DOMAIN_VERSION = "1"

# primaryType -> EIP-712 fields, in order.
ACTION_TYPES: dict[str, list[tuple[str, str]]] = {
    "RegisterJob": [
        ("jobId", "bytes16"),
        ("requester", "address"),
        ("programId", "string"),
        ("datasetKey", "string"),
        ("params", "string"),
        ("fee", "uint256"),
        ("timeoutSeconds", "uint256"),
        ("expiresAt", "uint256"),
        ("splittable", "bool"),
    ],
    "SplitJob": [
        ("parentId", "bytes16"),
        ("splitter", "address"),
        ("datasetKeys", "string[]"),
    ],
    "Process": [("jobId", "bytes16"), ("node", "address"), ("attempt", "uint256")],
    "Withdraw": [("jobId", "bytes16"), ("node", "address"), ("attempt", "uint256")],
    "Submit": [
        ("jobId", "bytes16"),
        ("node", "address"),
        ("attempt", "uint256"),
        ("resultKey", "string"),
        ("fuel", "uint256"),
    ],
    "ReportInput": [
        ("jobId", "bytes16"),
        ("node", "address"),
        ("attempt", "uint256"),
        ("reason", "string"),
    ],
    "RejectInput": [
        ("jobId", "bytes16"),
        ("verifier", "address"),
        ("attempt", "uint256"),
        ("reason", "string"),
    ],
    "RefuseReport": [
        ("jobId", "bytes16"),
        ("verifier", "address"),
        ("attempt", "uint256"),
        ("reason", "string"),
    ],
    "Verify": [("jobId", "bytes16"), ("verifier", "address"), ("attempt", "uint256")],
    "RejectResult": [
        ("jobId", "bytes16"),
        ("verifier", "address"),
        ("attempt", "uint256"),
        ("reason", "string"),
    ],
    "Reregister": [("jobId", "bytes16"), ("verifier", "address"), ("attempt", "uint256")],
    "Timeout": [("jobId", "bytes16"), ("verifier", "address"), ("attempt", "uint256")],
    "Confirm": [
        ("jobId", "bytes16"),
        ("aggregator", "address"),
        ("resultKey", "string"),
        ("fuel", "uint256"),
    ],
}

# primaryType -> the field naming the signer, and the role it must hold.
ACTOR_FIELD: dict[str, tuple[str, str]] = {
    "RegisterJob": ("requester", "requester"),
    "SplitJob": ("splitter", "splitter"),
    "Process": ("node", "node"),
    "Withdraw": ("node", "node"),
    "Submit": ("node", "node"),
    "ReportInput": ("node", "node"),
    "RejectInput": ("verifier", "verifier"),
    "RefuseReport": ("verifier", "verifier"),
    "Verify": ("verifier", "verifier"),
    "RejectResult": ("verifier", "verifier"),
    "Reregister": ("verifier", "verifier"),
    "Timeout": ("verifier", "verifier"),
    "Confirm": ("aggregator", "aggregator"),
}


@dataclass(frozen=True)
class Domain:
    """The EIP-712 domain of one execution layer: the L1 chain, EmethCore, and the execution
    layer's id as ``salt`` (bytes32), so an action signed for one execution layer is refused
    by every other on the same EmethCore."""

    chain_id: int
    verifying_contract: str
    el_id: int = 0

    @property
    def salt(self) -> bytes:
        return self.el_id.to_bytes(32, "big")

    def as_dict(self) -> dict[str, Any]:
        """The domain as JSON (``GET /domain``); ``salt`` is 0x-hex."""
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": to_checksum_address(self.verifying_contract),
            "salt": "0x" + self.salt.hex(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Domain:
        """Parse ``GET /domain``."""
        salt = bytes.fromhex(str(d.get("salt", "0x" + "00" * 32)).removeprefix("0x"))
        return cls(int(d["chainId"]), str(d["verifyingContract"]), int.from_bytes(salt, "big"))


SUBJOB_ID_BIT = 0x80
"""Top bit of a job id's first byte: set in every SubJob id, clear in every requester's id, so
no requester can register (or cancel on L1) the id a SubJob will get."""


def is_subjob_id(job_id: str | bytes) -> bool:
    """Whether ``job_id`` lies in the SubJob id space (top bit of its first byte set)."""
    raw = bytes.fromhex(job_id_hex(job_id)[2:])
    return bool(raw[0] & SUBJOB_ID_BIT)


def job_id_hex(value: bytes | str) -> str:
    """Canonical ``0x`` + 32 lower-case hex digits for a bytes16 job id.

    Raises:
        ActionError: 422 when it is not 16 bytes.
    """
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
    else:
        s = value[2:] if value.startswith(("0x", "0X")) else value
        try:
            raw = bytes.fromhex(s)
        except ValueError:
            raw = b""
    if len(raw) != 16:
        raise ActionError(422, "invalid_job_id", f"job id {value!r} is not 16 bytes of hex")
    return "0x" + raw.hex()


def _normalize(type_: str, value: Any, field: str) -> Any:
    """JSON value -> the Python value eth_account encodes for ``type_``."""
    try:
        if type_ == "bytes16":
            return bytes.fromhex(job_id_hex(value)[2:])
        if type_ == "bytes32":
            raw = bytes.fromhex(str(value).removeprefix("0x"))
            if len(raw) != 32:
                raise ValueError("not 32 bytes")
            return raw
        if type_ == "address":
            return to_checksum_address(value)
        if type_ == "uint256":
            if isinstance(value, bool):
                raise ValueError("boolean")
            v = int(value)
            if not 0 <= v < 2**256:
                raise ValueError("out of uint256 range")
            return v
        if type_ == "bool":
            if not isinstance(value, bool):
                raise ValueError("not a boolean")
            return value
        if type_ == "string":
            if not isinstance(value, str):
                raise ValueError("not a string")
            return value
        if type_ == "string[]":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError("not a list of strings")
            return list(value)
    except ActionError:
        raise
    except (ValueError, TypeError) as e:
        raise ActionError(422, "invalid_field", f"field {field!r}: {e} ({type_} expected)") from e
    raise ActionError(422, "invalid_field", f"field {field!r}: unsupported type {type_}")


def normalize_message(action: str, message: dict[str, Any]) -> dict[str, Any]:
    """Check ``message`` has exactly the fields of ``action`` and convert them.

    Raises:
        ActionError: 422 for an unknown action, missing/extra fields or bad values.
    """
    if action not in ACTION_TYPES:
        raise ActionError(
            422, "unknown_action", f"unknown action {action!r}", {"known": sorted(ACTION_TYPES)}
        )
    fields = ACTION_TYPES[action]
    names = [n for n, _ in fields]
    missing = [n for n in names if n not in message]
    extra = [k for k in message if k not in names]
    if missing or extra:
        raise ActionError(
            422,
            "invalid_fields",
            f"{action}: missing {missing or 'none'}, unexpected {extra or 'none'}",
        )
    return {n: _normalize(t, message[n], n) for n, t in fields}


def typed_data(domain: Domain, action: str, message: dict[str, Any]) -> dict[str, Any]:
    """The full EIP-712 structure (``eth_signTypedData_v4`` input) of an action."""
    domain_dict = domain.as_dict() | {"salt": domain.salt}
    return {
        "types": {
            "EIP712Domain": [*domain_type(), {"name": "salt", "type": "bytes32"}],
            action: [{"name": n, "type": t} for n, t in ACTION_TYPES[action]],
        },
        "primaryType": action,
        "domain": domain_dict,
        "message": normalize_message(action, message),
    }


def sign_action(domain: Domain, action: str, message: dict[str, Any], key: Any) -> str:
    """Sign ``message`` as ``action`` with ``key`` (a LocalAccount or private key); 0x-hex."""
    signable = encode_typed_data(full_message=typed_data(domain, action, message))
    signed = Account.sign_message(signable, private_key=getattr(key, "key", key))
    return "0x" + bytes(signed.signature).hex()


def recover_actor(domain: Domain, action: str, message: dict[str, Any], signature: str) -> str:
    """The address that signed ``message`` as ``action``.

    Raises:
        ActionError: 401 when the signature is malformed or does not recover.
    """
    try:
        sig = bytes.fromhex(signature.removeprefix("0x"))
        if len(sig) != 65:
            raise ValueError("a signature is 65 bytes")
        signable = encode_typed_data(full_message=typed_data(domain, action, message))
        return str(Account.recover_message(signable, signature=sig))
    except ActionError:
        raise
    except Exception as e:  # noqa: BLE001 - every decoding failure is a bad signature
        raise ActionError(401, "bad_signature", f"{action}: cannot recover the signer: {e}") from e


def action_digest(domain: Domain, action: str, message: dict[str, Any]) -> str:
    """EIP-712 digest of an action (its stable id for idempotency), 0x-hex."""
    from eth_account._utils.encode_typed_data.encoding_and_hashing import (  # type: ignore[import-not-found]
        hash_domain,
        hash_eip712_message,
    )

    td = typed_data(domain, action, message)
    msg_types = {k: v for k, v in td["types"].items() if k != "EIP712Domain"}
    from offchain.common.hashing import keccak

    h = keccak(
        b"\x19\x01" + hash_domain(td["domain"]) + hash_eip712_message(msg_types, td["message"])
    )
    return "0x" + h.hex()
