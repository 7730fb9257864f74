"""Exception hierarchy shared by every l2kit component.

Every expected failure derives from :class:`L2KitError` and carries a one-line,
actionable message (what went wrong and how to fix it). The CLI prints that
line and exits non-zero; it never shows a traceback for these.
"""

from __future__ import annotations

from typing import Any


class L2KitError(Exception):
    """Base class for every expected l2kit failure.

    Args:
        message: one line saying what went wrong.
        hint: optional one line saying how to fix it.
    """

    exit_code: int = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(L2KitError, ValueError):
    """Bad configuration or bad user input."""


class FatalError(L2KitError, RuntimeError):
    """An error a restart cannot fix (bad configuration, wrong chain, missing contract).

    A daemon loop stops on it (it retries every other error forever) and the process exits
    non-zero, so a supervisor shows it instead of restarting it in a loop.
    """

    exit_code = 3


class BadConfigError(FatalError, ConfigError):
    """The configuration (file, environment or flags) is unreadable or invalid: fatal, exit 3."""


class WrongChainError(FatalError, ConfigError):
    """The L1 RPC serves another chain than the deployment's: fatal, exit 3."""


class ToolchainError(L2KitError, RuntimeError):
    """A required tool (solc shim, anvil, forge) is missing or broken."""


class CompileError(L2KitError, RuntimeError):
    """Solidity compilation failed."""


class ArtifactError(L2KitError, LookupError):
    """A contract artifact is missing or malformed."""


class RpcError(L2KitError, ConnectionError):
    """The JSON-RPC endpoint cannot be reached or answered with an error."""


class TxError(L2KitError, RuntimeError):
    """A transaction could not be sent or was not mined.

    Attributes:
        rpc_response: the node's raw JSON-RPC answer when it refused the transaction.
    """

    rpc_response: Any = None


class TxReverted(TxError):
    """A transaction (or its gas estimate) reverted.

    Attributes:
        error_name: decoded custom error name (e.g. ``LockingPoolStakeTooLow``) or ``Error``
            for a revert string, or ``None`` if undecodable.
        error_args: decoded arguments of the error.
        data: raw revert data (hex string) if any.
    """

    def __init__(
        self,
        message: str,
        *,
        error_name: str | None = None,
        error_args: tuple[Any, ...] = (),
        data: str | None = None,
        receipt: Any = None,
    ) -> None:
        super().__init__(message)
        self.error_name = error_name
        self.error_args = error_args
        self.data = data
        self.receipt = receipt
