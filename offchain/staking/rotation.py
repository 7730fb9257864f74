"""Follow the sequencer rotation on L1 and keep it moving.

One :class:`RotationFollower` per sequencer node. Each tick it reads
``SequencerSet.epochInfo()`` and:

- reports when the current sequencer changes (``SequencerRotated`` in SequencerSet.sol) and
  whether *this* node's signer is the current one;
- when this node is current, sends ``heartbeat()`` once the last heartbeat is older than
  ``heartbeat_every_s`` (a batch recorded by the rollup contracts counts as one too);
- when the current sequencer is silent past ``lastHeartbeat + heartbeatTimeout``, calls
  ``reselect()``;
- when the epoch has ended, calls ``advanceEpoch()``.

Several nodes race for the same ``reselect``/``advanceEpoch``: the loser's gas estimate
reverts with ``SequencerSetHeartbeatNotMissed``/``SequencerSetEpochNotOver`` and is ignored.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from offchain.common.daemon import Daemon, LoopConfig
from offchain.errors import L2KitError, TxReverted
from offchain.staking.contracts import RotationState, StakingContracts

if TYPE_CHECKING:
    from offchain.chain.tx import TxSender

log = structlog.get_logger("l2kit.staking.rotation")

# Reverts that only mean "someone else got there first / not yet": not failures.
_RACE_ERRORS = {
    "SequencerSetHeartbeatNotMissed",
    "SequencerSetEpochNotOver",
    "SequencerSetNotCurrent",
    "SequencerSetNoCurrentSequencer",
}


@dataclass
class RotationConfig:
    """Knobs of :class:`RotationFollower` (units in the names).

    Args:
        poll_interval_ms: time between ticks (plus up to 20% jitter).
        heartbeat_every_s: ping when current and the last heartbeat is older than this
            (``None``: a third of the contract's heartbeat timeout).
        reselect_grace_s: wait this long past the deadline before calling ``reselect``.
        send_heartbeats: ping when current (off if the rollup node records batches often).
        trigger_reselect: call ``reselect`` for a silent sequencer.
        advance_epochs: call ``advanceEpoch`` at epoch ends.
        max_failures: consecutive failed ticks before the follower stops (circuit breaker).
        rotation_gas: gas limit of ``reselect``/``advanceEpoch`` transactions.
    """

    poll_interval_ms: int = 250
    heartbeat_every_s: float | None = None
    reselect_grace_s: float = 0.05
    send_heartbeats: bool = True
    trigger_reselect: bool = True
    advance_epochs: bool = True
    max_failures: int = 3
    rotation_gas: int = 600_000


@dataclass
class RotationFollower(Daemon):
    """Follows epochs for the node whose signer is ``signer.address``.

    Args:
        contracts: the staking contracts.
        signer: TxSender of this node's signer key (heartbeats, reselect, advanceEpoch).
        config: timing knobs.
        on_change: called with (previous, new) current sequencer when it changes.
    """

    contracts: StakingContracts
    signer: TxSender
    config: RotationConfig = field(default_factory=RotationConfig)
    on_change: Callable[[str, str], None] | None = None
    state: RotationState | None = None
    stats: dict[str, int] = field(
        default_factory=lambda: {
            "ticks": 0,
            "heartbeats": 0,
            "reselects": 0,
            "advances": 0,
            "lost_races": 0,
        }
    )
    # A tick may fail on the RPC or a revert; anything else is a bug and ends the thread.
    retry_on = (L2KitError, OSError, ValueError)

    def __post_init__(self) -> None:
        Daemon.__init__(
            self,
            LoopConfig(self.config.poll_interval_ms, 10, self.config.max_failures),
            name=f"rotation-{self.address[:8]}",
            log=log,
        )

    def pause_s(self) -> float:
        return self.config.poll_interval_ms / 1000 * (1 + random.uniform(0, 0.2))

    @property
    def address(self) -> str:
        return str(self.signer.address)

    @property
    def is_current(self) -> bool:
        """True if this node's signer was the current sequencer at the last tick."""
        return self.state is not None and self.state.current == self.address

    # ------------------------------------------------------------------ tick
    def tick(self) -> dict[str, Any]:
        """Read the rotation state once and act on it.

        Returns:
            A small dict of what happened (becomes metrics / log fields).
        """
        now = time.time()
        prev = self.state
        st = self.contracts.rotation()
        self.state = st
        self.stats["ticks"] += 1
        out: dict[str, Any] = {"epoch": st.epoch, "round": st.round, "current": st.current}
        if prev is not None and prev.current != st.current:
            log.info("sequencer changed", previous=prev.current, current=st.current, epoch=st.epoch)
            if self.on_change:
                self.on_change(prev.current, st.current)
        # L1 time: the chain's clock, or the wall clock if the chain has not mined for a while
        # (Anvil mines only on transactions; the next block takes the wall-clock time).
        l1_now = max(float(st.block_time), now)
        me_current = st.current == self.address
        if me_current and self.config.send_heartbeats and self._heartbeat_due(st, l1_now):
            out["heartbeat"] = self._act(
                "heartbeats", "heartbeat", self.contracts.sset.functions.heartbeat()
            )
        # The contract needs block.timestamp > deadline, and block timestamps are whole seconds.
        past = int(l1_now - self.config.reselect_grace_s) > st.heartbeat_deadline
        silent = int(st.current, 16) != 0 and past
        if not me_current and self.config.trigger_reselect and silent:
            done = self._act("reselects", "reselect", self.contracts.sset.functions.reselect())
            if done:
                out["reselected"] = st.current
                log.info(
                    "reselected silent sequencer", silent=st.current, deadline=st.heartbeat_deadline
                )
        ended = l1_now >= st.epoch_end or int(st.current, 16) == 0
        if self.config.advance_epochs and ended:
            out["advanced"] = self._act(
                "advances", "advanceEpoch", self.contracts.sset.functions.advanceEpoch()
            )
        return out

    def _heartbeat_due(self, st: RotationState, l1_now: float) -> bool:
        every = self.config.heartbeat_every_s or max(st.heartbeat_timeout_s / 3, 0.5)
        return l1_now - st.last_heartbeat >= every

    def _act(self, counter: str, what: str, call: Any) -> bool:
        done = self._send(what, call)
        if done:
            self.stats[counter] += 1
        return done

    def _send(self, what: str, call: Any) -> bool:
        # reselect/advanceEpoch carry a fixed gas limit instead of an estimate: the estimate runs
        # against the latest block's timestamp, which on a chain that mines only on demand
        # (Anvil) may be older than the deadline we are acting on. A mined-but-reverted
        # transaction (another node was first) is reported as a lost race below.
        gas = None if what == "heartbeat" else self.config.rotation_gas
        try:
            self.signer.send(call, gas=gas)
            return True
        except TxReverted as e:
            # A known "too late / too early" error, or mined after a competitor's identical call.
            if e.error_name in _RACE_ERRORS or (e.receipt is not None and what != "heartbeat"):
                self.stats["lost_races"] += 1
                return False
            raise

    # ------------------------------------------------------------------ loop
    def health(self) -> dict[str, Any]:
        """Serializable status: last state, counters, failures."""
        return {
            "health": self.part_health().to_json(),
            "signer": self.address,
            "is_current": self.is_current,
            "running": self.alive,
            "state": self.state.to_dict() if self.state else None,
            "stats": dict(self.stats),
            "failures": self.failures_in_row,
            "last_error": self.last_error or "",
        }
