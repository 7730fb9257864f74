"""Errors of the rollup's L1 bindings (offchain/rollup/l1.py)."""

from __future__ import annotations

from offchain.errors import L2KitError


class RollupL1Error(L2KitError, LookupError):
    """A batch, event or data request the caller asked about does not exist on L1."""
