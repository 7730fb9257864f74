"""Errors of the rollup daemons, each with the JSON-RPC error code users see."""

from __future__ import annotations

from typing import Any

from offchain.errors import L2KitError

# JSON-RPC 2.0 standard codes.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

# Custom codes: a rejected transaction, by the ledger's reason (TxRejected.code).
TX_REJECTED = -32000
TX_REJECTED_CODES: dict[str, int] = {
    "malformed": -32001,
    "zero_amount": -32002,
    "bad_signature": -32003,
    "wrong_chain": -32004,
    "wrong_nonce": -32005,
    "insufficient_balance": -32006,
    "overflow": -32007,
    "deposit_out_of_order": -32008,
    "unsupported": -32013,
    "intrinsic_gas": -32014,
    "underpriced": -32015,
}
# Node conditions.
KNOWN_TX = -32010
MEMPOOL_FULL = -32011
NO_CURRENT_SEQUENCER = -32012
BLOCK_REJECTED = -32020
NOT_FOUND = -32030


class RollupNodeError(L2KitError):
    """A rollup daemon failure with a JSON-RPC error code.

    Args:
        code: JSON-RPC error code.
        message: one line for the user.
        data: optional structured detail (e.g. the ledger's reason code).
    """

    def __init__(self, code: int, message: str, data: Any = None, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.code = code
        self.data = data

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            out["data"] = self.data
        return out


class TxInvalid(RollupNodeError):
    """A transaction the ledger refuses (never enters a block).

    Args:
        reason: the ledger's reason code (e.g. ``bad_nonce``).
        message: the ledger's explanation.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(TX_REJECTED_CODES.get(reason, TX_REJECTED), message, {"reason": reason})
        self.reason = reason


class BlockInvalid(RollupNodeError):
    """A block from a peer that this node refuses (bad signature, state root, parent...)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(BLOCK_REJECTED, message, {"reason": reason})
        self.reason = reason


class BatchError(L2KitError, RuntimeError):
    """The batcher could not build, sign or submit a batch."""


class VerifierError(L2KitError, RuntimeError):
    """The verifier could not obtain or check a batch."""
