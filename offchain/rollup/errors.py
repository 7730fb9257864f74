"""Errors of the rollup: L2 ledger (docs/spec.md, "L2 ledger") and L1 bindings."""

from __future__ import annotations

from offchain.errors import L2KitError

#: Every rejection code a transaction can get (docs/spec.md, "Execution").
REJECTION_CODES = (
    "malformed",
    "zero_amount",
    "bad_signature",
    "wrong_chain",
    "wrong_nonce",
    "insufficient_balance",
    "overflow",
    "deposit_out_of_order",
    "unsupported",
    "intrinsic_gas",
    "underpriced",
    "forced_out_of_order",
)


class TxRejected(L2KitError, ValueError):
    """A transaction is invalid and was not applied (the state is unchanged).

    Args:
        code: one of :data:`REJECTION_CODES` (stable, for RPC error payloads).
        message: one line saying what is wrong, with the offending values.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class StateProofError(L2KitError, ValueError):
    """A state inclusion/exclusion proof does not verify against the given root."""


class StateError(L2KitError, RuntimeError):
    """The state cannot do what was asked (bad checkpoint, corrupt dump, full tree)."""


class RollupL1Error(L2KitError, LookupError):
    """A batch, event or data request the caller asked about does not exist on L1."""
