"""Configuration of the execution layer: operator roles, rules, and the context transitions run in.

:class:`Roles` and :class:`ServiceConfig` are what a deployment sets; :class:`Rules` bundles
them with the L1 view and the clock for the job state machine (:mod:`.jobs`, :mod:`.subjobs`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from offchain.emeth.execution.l1state import L1State


@dataclass
class Roles:
    """Addresses allowed to act as off-chain operators (lower-cased on load)."""

    splitters: set[str] = field(default_factory=set)
    verifiers: set[str] = field(default_factory=set)
    aggregators: set[str] = field(default_factory=set)
    signers: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for name in ("splitters", "verifiers", "aggregators", "signers"):
            setattr(self, name, {a.lower() for a in getattr(self, name)})

    def holds(self, role: str, address: str) -> bool:
        return address.lower() in getattr(self, role + "s", set())


@dataclass
class ServiceConfig:
    """Rules of the execution layer (units in names)."""

    penalty_bps: int = 2500  # 25% of the job's fee, as in the L1-only EmethCore
    min_penalty_wei: int = 10**15  # no penalty rounds to 0 (a cheap job is no free retry)
    max_subjobs: int = 256
    max_timeout_s: int = 7 * 24 * 3600
    max_expiry_s: int = 7 * 24 * 3600  # expiresAt at most this far ahead at registration
    max_params_bytes: int = 4096
    # Fuel counts only as far as the fee pays for it: fee >= fuel * min_fuel_price_wei.
    min_fuel_price_wei: int = 1
    # Longest time from a job's processing deadline to its Ticket settling on L1 (verify,
    # Signer round, billing, confirmations). timeoutSeconds + settle_margin_s must stay below
    # both EmethCore withdrawal delays (docs/spec.md "The withdrawal delay rule").
    settle_margin_s: int = 3600


@dataclass
class Rules:
    """What a transition is checked against: L1 state, the rules, the programs, the clock.

    Args:
        l1: EmethCore views for funds, collateral and cancellation checks.
        config: rules.
        programs: ProgramIds that may be registered.
        clock: seconds since the epoch.
    """

    l1: L1State
    config: ServiceConfig
    programs: set[str]
    clock: Callable[[], float]
