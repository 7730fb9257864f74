"""EMETH error types (all derive from :class:`offchain.errors.L2KitError`)."""

from __future__ import annotations

from typing import Any

from offchain.errors import ConfigError, L2KitError


class EmethError(L2KitError):
    """Base class of EMETH failures."""


class ProgramError(EmethError, ValueError):
    """A program got a dataset or result it cannot handle (bad input, not a bug)."""


class UnknownProgram(ProgramError, LookupError):
    """No program is registered under the given ProgramId."""


class ActionError(EmethError):
    """The execution layer refused an action.

    Attributes:
        status: HTTP status (401 bad signature, 403 wrong role, 404 unknown id,
            409 illegal transition, 422 invalid input).
        code: stable machine-readable error code (e.g. ``illegal_transition``).
        details: extra JSON-serialisable context.
    """

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.details = details or {}


class ExecutionLayerError(EmethError, ConnectionError):
    """The execution layer could not be reached or answered with an error.

    Attributes:
        status: HTTP status (0 when unreachable).
        code: the error code the service returned.
        details: the ``details`` the service returned with it (empty if none).
    """

    def __init__(
        self,
        message: str,
        status: int = 0,
        code: str = "unreachable",
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.details = details or {}


__all__ = [
    "ActionError",
    "ConfigError",
    "EmethError",
    "ExecutionLayerError",
    "ProgramError",
    "UnknownProgram",
]
