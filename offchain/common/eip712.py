"""EIP-712 pieces shared by every typed-data payload (L2 transactions, EMETH actions, Tickets)."""

from __future__ import annotations

#: The ``EIP712Domain`` struct of every l2kit domain: name, version, chainId, verifyingContract.
EIP712_DOMAIN_FIELDS: tuple[dict[str, str], ...] = (
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
)


def domain_type() -> list[dict[str, str]]:
    """A fresh copy of the ``EIP712Domain`` type list (payloads may be mutated by callers)."""
    return [dict(f) for f in EIP712_DOMAIN_FIELDS]
