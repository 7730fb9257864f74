"""Proposals the agents file on their own (seed 001 §11.10.3 and §11.6.1).

- The verifier, after a **matching answer** (the data posted on L1 matches the header's roots
  although the data the header's ``dataHash`` commits to, as published off L1, does not), files
  ``LockingPool.kick(sequencer)`` (one action: the Timelock's fast lane).
- The sequencer's batcher, spammed with data requests (``spam_requests`` requests from one
  verifier on its batches inside ``spam_window_s``, each answered with matching data), files
  "ban a verifier and compensate a sequencer": ``DataAvailabilityChallenge.banVerifier(verifier)``
  and ``L2KitToken.transfer(sequencer, compensation)`` (slow lane: the exit window).

:class:`AutoProposer` files a proposal at most once (its id is the hash of its actions and
description, so a restart or a second tick finds it on L1), and only with enough voting power:
an account whose votes (``getVotes`` at the previous block) are below ``proposalThreshold()``
logs ``auto_proposal_no_votes`` once, reports ``blocked`` in :meth:`AutoProposer.status` and
never raises. Voting and executing stay with the token holders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from offchain.errors import L2KitError, TxReverted
from offchain.governance.actions import Action
from offchain.governance.client import Governance, Proposal

if TYPE_CHECKING:
    from offchain.chain.tx import TxSender

log = structlog.get_logger("governance.auto")

KICK_SIG = "kick(address)"
BAN_SIG = "banVerifier(address)"
TRANSFER_SIG = "transfer(address,uint256)"


def call(target: str, signature: str, types: list[str], args: list[Any]) -> Action:
    """One proposal action: ``target.signature(args)``."""
    data = function_signature_to_4byte_selector(signature) + abi_encode(types, args)
    return Action(to_checksum_address(target), 0, data, f"{target} {signature} {args}")


def kick_proposal(locking_pool: str, sequencer: str, index: int, evidence: str) -> Proposal:
    """§11.10.3: ``LockingPool.kick(sequencer)`` (the fast lane), with the evidence in the
    description (stable: the same batch gives the same proposal id)."""
    seq = to_checksum_address(sequencer)
    return Proposal.of(
        [call(locking_pool, KICK_SIG, ["address"], [seq])],
        f"l2kit auto: kick sequencer {seq} (seed 001 §11.10.3): batch {index}: {evidence}",
    )


def ban_proposal(
    da_challenge: str,
    token: str,
    verifier: str,
    sequencer: str,
    compensation_wei: int,
    indexes: list[int],
) -> Proposal:
    """§11.6.1: ban ``verifier`` and pay ``sequencer`` ``compensation_wei`` from the treasury
    (no transfer action when it is 0)."""
    v, s = to_checksum_address(verifier), to_checksum_address(sequencer)
    actions = [call(da_challenge, BAN_SIG, ["address"], [v])]
    if compensation_wei > 0:
        actions.append(call(token, TRANSFER_SIG, ["address", "uint256"], [s, compensation_wei]))
    batches = ",".join(str(i) for i in sorted(indexes))
    return Proposal.of(
        actions,
        f"l2kit auto: ban verifier {v} and compensate sequencer {s} with {compensation_wei} wei "
        f"(seed 001 §11.6.1): matching answers to its requests on batches {batches}",
    )


@dataclass
class AutoProposer:
    """Files proposals for one agent's account (see the module docstring).

    Args:
        governance: the Governor and Timelock.
        sender: the agent's L1 sender (its account proposes).
        agent: label in logs.
    """

    governance: Governance
    sender: TxSender
    agent: str
    filed: dict[str, int] = field(default_factory=dict)  # key -> proposal id
    blocked: str = ""  # why the last proposal could not be filed ("" = none)
    _warned: set[str] = field(default_factory=set)

    @property
    def address(self) -> str:
        return str(self.sender.address)

    def votes(self) -> tuple[int, int]:
        """The account's voting power at the previous block and the proposal threshold."""
        g = self.governance.governor.functions
        clock = int(g.clock().call())
        votes = int(g.getVotes(self.address, max(clock - 1, 0)).call())
        return votes, int(g.proposalThreshold().call())

    def exists(self, proposal: Proposal) -> bool:
        """Whether the Governor already holds ``proposal`` (any state)."""
        pid = self.governance.proposal_id(proposal)
        return int(self.governance.governor.functions.proposalSnapshot(pid).call()) != 0

    def file(self, key: str, proposal: Proposal) -> int | None:
        """Propose ``proposal`` once (``key`` names it in logs and :meth:`status`).

        Returns:
            The proposal id (also when it was filed before, by this agent or anyone), or
            ``None`` when the account lacks the voting power or the Governor refused.
        """
        if key in self.filed:
            return self.filed[key]
        pid = self.governance.proposal_id(proposal)
        if self.exists(proposal):
            self.filed[key] = pid
            return pid
        votes, threshold = self.votes()
        if votes < threshold:
            self.blocked = f"{self.address} has {votes} votes < proposal threshold {threshold}"
            if key not in self._warned:
                self._warned.add(key)
                log.warning(
                    "auto_proposal_no_votes",
                    agent=self.agent,
                    key=key,
                    account=self.address,
                    votes=votes,
                    threshold=threshold,
                    hint="delegate at least the proposal threshold of L2KitToken to this account",
                )
            return None
        try:
            self.governance.propose(self.sender, proposal)
        except (TxReverted, L2KitError) as e:
            self.blocked = f"propose reverted: {getattr(e, 'error_name', '') or e}"
            log.error("auto_proposal_failed", agent=self.agent, key=key, error=self.blocked)
            return None
        self.blocked = ""
        self.filed[key] = pid
        log.warning(
            "auto_proposal_filed",
            agent=self.agent,
            key=key,
            proposal=hex(pid),
            description=proposal.description,
        )
        return pid

    def status(self) -> dict[str, Any]:
        """``{"filed": {key: id}, "blocked": reason}`` for ``/health``."""
        return {"filed": {k: hex(v) for k, v in self.filed.items()}, "blocked": self.blocked}
