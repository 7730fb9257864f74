"""Drive the Governor: propose, vote, queue, execute, and read proposal state.

Proposal actions are not stored by the Governor (OpenZeppelin 5 without GovernorStorage), so
:meth:`Governance.find` rebuilds them from the ``ProposalCreated`` event.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from web3 import Web3
from web3.logs import DISCARD

from offchain.errors import ConfigError
from offchain.governance.actions import Action

if TYPE_CHECKING:
    from web3.contract import Contract

    from offchain.chain.client import Chain
    from offchain.chain.tx import TxSender

# IGovernor.ProposalState, in enum order.
STATES = ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"]
SUPPORT = {"against": 0, "for": 1, "abstain": 2}


@dataclass
class Proposal:
    """Targets, values, calldatas and description: what identifies a proposal."""

    targets: list[str]
    values: list[int]
    calldatas: list[bytes]
    description: str

    @classmethod
    def of(cls, actions: list[Action], description: str) -> Proposal:
        return cls(
            [a.target for a in actions],
            [a.value for a in actions],
            [a.calldata for a in actions],
            description,
        )

    @property
    def description_hash(self) -> bytes:
        return bytes(Web3.keccak(text=self.description))

    def args(self) -> tuple[list[str], list[int], list[bytes]]:
        return self.targets, self.values, self.calldatas


@dataclass
class Governance:
    """The Governor and Timelock of a deployment."""

    chain: Chain
    governor: Contract
    timelock: Contract

    def proposal_id(self, p: Proposal) -> int:
        return int(self.governor.functions.hashProposal(*p.args(), p.description_hash).call())

    def propose(self, sender: TxSender, p: Proposal) -> int:
        """Submit ``p``; returns the proposal id."""
        sender.send(self.governor.functions.propose(*p.args(), p.description))
        return self.proposal_id(p)

    def vote(self, sender: TxSender, proposal_id: int, support: str = "for") -> Any:
        if support not in SUPPORT:
            raise ConfigError(f"unknown vote {support!r}", "use for, against or abstain")
        return sender.send(self.governor.functions.castVote(proposal_id, SUPPORT[support]))

    def queue(self, sender: TxSender, p: Proposal) -> Any:
        return sender.send(self.governor.functions.queue(*p.args(), p.description_hash))

    def execute(self, sender: TxSender, p: Proposal) -> Any:
        return sender.send(self.governor.functions.execute(*p.args(), p.description_hash))

    def state(self, proposal_id: int) -> str:
        return STATES[int(self.governor.functions.state(proposal_id).call())]

    def status(self, proposal_id: int) -> dict[str, Any]:
        """State, votes, snapshot/deadline blocks and ETA of a proposal."""
        g = self.governor.functions
        against, for_, abstain = g.proposalVotes(proposal_id).call()
        snapshot = int(g.proposalSnapshot(proposal_id).call())
        block = int(self.chain.w3.eth.block_number)
        # Quorum is known at the snapshot; before it, show the quorum as of the last block.
        quorum_at = min(snapshot, block - 1)
        return {
            "id": proposal_id,
            "state": self.state(proposal_id),
            "for": int(for_),
            "against": int(against),
            "abstain": int(abstain),
            "quorum": int(g.quorum(max(quorum_at, 0)).call()),
            "snapshot_block": snapshot,
            "deadline_block": int(g.proposalDeadline(proposal_id).call()),
            "eta": int(g.proposalEta(proposal_id).call()),
            "block": block,
        }

    def find(self, proposal_id: int) -> Proposal:
        """Rebuild a proposal from its ``ProposalCreated`` event (L2KitGovernor.sol / IGovernor).

        Raises:
            ConfigError: no such proposal.
        """
        logs = self.governor.events.ProposalCreated().get_logs(from_block=0)
        for log in logs:
            a = log["args"]
            if int(a["proposalId"]) == proposal_id:
                return Proposal(
                    list(a["targets"]), list(a["values"]), list(a["calldatas"]), a["description"]
                )
        raise ConfigError(f"no proposal {proposal_id}", "list them with `l2kit governance status`")

    def all_ids(self) -> list[int]:
        logs = self.governor.events.ProposalCreated().get_logs(from_block=0)
        return [int(log["args"]["proposalId"]) for log in logs]

    def created_id(self, receipt: Any) -> int:
        (ev,) = self.governor.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
        return int(ev["args"]["proposalId"])

    # ------------------------------------------------------------ devnet only
    def mine(self, blocks: int) -> None:
        """Mine ``blocks`` empty blocks (Anvil), to move through voting delay / period."""
        self.chain.rpc("anvil_mine", hex(blocks))

    def pass_on_devnet(
        self, proposer: TxSender, voters: list[TxSender], p: Proposal, *, log: Any = None
    ) -> int:
        """Propose, vote for with ``voters``, queue, wait the timelock delay and execute (Anvil).

        Returns:
            The proposal id.
        """
        say = log or (lambda *_: None)
        pid = self.propose(proposer, p)
        say(f"proposed {pid:#x}: {p.description!r}")
        self.mine(int(self.governor.functions.votingDelay().call()) + 1)
        for v in voters:
            self.vote(v, pid, "for")
        say(f"{len(voters)} voter(s) voted for; state {self.state(pid)}")
        self.mine(int(self.governor.functions.votingPeriod().call()))
        self.queue(proposer, p)
        eta = int(self.governor.functions.proposalEta(pid).call())
        delay = max(0, eta - int(self.chain.w3.eth.get_block("latest")["timestamp"]))
        say(f"state {self.state(pid)}; timelock delay {delay}s")
        deadline = time.monotonic() + delay + 30
        while int(self.chain.w3.eth.get_block("latest")["timestamp"]) < eta:
            if time.monotonic() > deadline:
                raise ConfigError(f"timelock ETA {eta} not reached", "is the chain mining?")
            time.sleep(0.25)
            self.mine(1)
        self.execute(proposer, p)
        say(f"state {self.state(pid)}")
        return pid
