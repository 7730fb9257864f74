"""The staking contracts of a deployment, and a one-call snapshot of the rotation state."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from web3.contract import Contract
    from web3.types import BlockIdentifier

    from offchain.chain.client import Chain
    from offchain.deploy import Deployment

# LockingPool.Status, in enum order.
STATUSES = ["None", "Active", "Exiting", "Kicked", "Withdrawn"]
# SequencerSet.Reason, in enum order.
REASONS = ["EpochEnded", "HeartbeatMissed", "SetVote", "Removed", "Punished", "NoProgress"]


@dataclass(frozen=True)
class RotationState:
    """``SequencerSet.epochInfo()`` plus timing, read at one block."""

    block: int
    block_time: int
    epoch: int
    round: int
    current: str
    epoch_start: int
    epoch_end: int
    last_heartbeat: int
    seed_block: int
    epoch_length_s: int
    heartbeat_timeout_s: int

    @property
    def heartbeat_deadline(self) -> int:
        return self.last_heartbeat + self.heartbeat_timeout_s

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StakingContracts:
    """Token, LockingPool and SequencerSet bound to a chain."""

    chain: Chain
    token: Contract
    pool: Contract
    sset: Contract

    @classmethod
    def from_deployment(cls, chain: Chain, dep: Deployment) -> StakingContracts:
        return cls(
            chain,
            dep.contract(chain, "token"),
            dep.contract(chain, "locking_pool"),
            dep.contract(chain, "sequencer_set"),
        )

    def rotation(self, block: BlockIdentifier = "latest") -> RotationState:
        """Snapshot of the rotation state at ``block``."""
        b = self.chain.w3.eth.get_block(block)
        n = int(b["number"])
        info = self.sset.functions.epochInfo().call(block_identifier=n)
        epoch_len, timeout = self.sset.functions.timing().call(block_identifier=n)
        return RotationState(
            block=n,
            block_time=int(b["timestamp"]),
            epoch=int(info[0]),
            round=int(info[1]),
            current=str(info[2]),
            epoch_start=int(info[3]),
            epoch_end=int(info[4]),
            last_heartbeat=int(info[5]),
            seed_block=int(info[6]),
            epoch_length_s=int(epoch_len),
            heartbeat_timeout_s=int(timeout),
        )

    def sequencer(self, signer: str) -> dict[str, Any]:
        """The LockingPool record of ``signer`` (amounts in exact token wei, times in unix s)."""
        owner, sig, amount, reward, unlock_time, updated_at, status = self.pool.functions.sequencer(
            signer
        ).call()
        return {
            "signer": sig if int(sig, 16) else signer,
            "owner": owner,
            "stake_wei": int(amount),
            "reward_wei": int(reward),
            "unlock_time": int(unlock_time),
            "signer_updated_at": int(updated_at),
            "status": STATUSES[int(status)],
        }

    def active(self) -> list[tuple[str, int]]:
        """(signer, stake in wei) of the active set."""
        signers, stakes = self.pool.functions.activeSet().call()
        return list(zip((str(s) for s in signers), (int(x) for x in stakes), strict=True))
