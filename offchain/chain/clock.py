"""The L1's clock, also while the L1 makes no blocks.

An agent waiting on an L1 deadline (a data request's window, a heartbeat timeout) compares it
with the time the *next* block will carry. On a busy network that is about the latest block's
timestamp; on an idle devnet (Anvil mining only on transactions) the latest block can be
hours old, and the next block (the one our own transaction creates) carries the wall-clock
time. :class:`L1Clock` estimates it as the latest block's timestamp plus the wall time
elapsed since this process first saw that block, so a deadline passes for the agent when it
passes for the chain, whether or not anyone else sends transactions.
"""

from __future__ import annotations

import threading
import time
from typing import Any


class L1Clock:
    """Estimated timestamp of the next L1 block.

    Args:
        w3: connected Web3.
    """

    def __init__(self, w3: Any) -> None:
        self.w3 = w3
        self._lock = threading.Lock()
        self._seen: tuple[int, int, float] | None = None  # (number, timestamp, monotonic)

    def latest(self) -> tuple[int, int]:
        """(number, timestamp) of the latest block, remembering when it was first seen."""
        b = self.w3.eth.get_block("latest")
        number, ts = int(b["number"]), int(b["timestamp"])
        with self._lock:
            if self._seen is None or self._seen[0] != number or self._seen[1] != ts:
                self._seen = (number, ts, time.monotonic())
        return number, ts

    def now(self) -> int:
        """The latest block's timestamp plus the whole seconds elapsed since it was seen."""
        self.latest()
        with self._lock:
            assert self._seen is not None
            _, ts, seen_at = self._seen
        return ts + int(time.monotonic() - seen_at)

    def stale_for(self, deadline: int) -> bool:
        """True when the deadline has passed by :meth:`now` but not by the latest block: a
        call simulated on the latest block would still see it open (send without estimating).
        """
        _, ts = self.latest()
        return ts <= deadline < self.now()
