"""Governance end to end on Anvil: Governor vote -> Timelock -> owned contracts."""

from __future__ import annotations

import pytest

from offchain.chain.accounts import dev_account
from offchain.errors import ConfigError, TxReverted
from offchain.governance.actions import encode_call, parse_action
from offchain.governance.client import Proposal
from offchain.staking.config import TOKEN

from .conftest import Gov


def test_everything_is_owned_by_the_timelock(g: Gov) -> None:
    tl = g.gov.timelock.address
    for key in ("token", "locking_pool", "sequencer_set"):
        assert g.dep.contract(g.chain, key).functions.owner().call() == tl
    admin = b"\x00" * 32
    assert not g.gov.timelock.functions.hasRole(admin, dev_account(0).address).call()
    assert g.token.functions.getVotes(dev_account(5).address).call() == 1_000_000 * TOKEN
    # Governance-only functions refuse everyone else now.
    with pytest.raises(TxReverted) as e:
        g.proposer.send(g.pool.functions.kick(g.sset.functions.currentSequencer().call()))
    assert e.value.error_name == "LockingPoolUnauthorized"


def test_proposal_kicks_a_sequencer(g: Gov) -> None:
    cur = g.sset.functions.currentSequencer().call()
    action = parse_action(f"locking_pool kick(address) {cur}", g.dep.addresses)
    pid = g.gov.pass_on_devnet(
        g.proposer, g.voters, Proposal.of([action], "Kick the current sequencer")
    )
    assert g.gov.state(pid) == "Executed"
    assert g.pool.functions.statusOf(cur).call() == 3  # Kicked
    new = g.sset.functions.currentSequencer().call()
    assert new != cur and g.pool.functions.isActive(new).call()


def test_proposal_changes_a_locking_pool_parameter(g: Gov) -> None:
    action = parse_action("locking_pool setWithdrawalDelay(uint256) 3600", g.dep.addresses)
    g.gov.pass_on_devnet(g.proposer, g.voters, Proposal.of([action], "Withdrawal delay 1h"))
    assert g.pool.functions.params().call()[3] == 3600


def test_proposal_bans_a_verifier_and_compensates_a_sequencer(g: Gov) -> None:
    target = g.proposer.deploy("VerifierBanTarget", g.gov.timelock.address)
    verifier, seq = dev_account(20).address, dev_account(1).address
    treasury0 = g.token.functions.balanceOf(g.gov.timelock.address).call()
    bal0 = g.token.functions.balanceOf(seq).call()
    actions = [
        parse_action(f"{target.address} banVerifier(address) {verifier}", g.dep.addresses),
        parse_action(f"token transfer(address,uint256) {seq} 2500tokens", g.dep.addresses),
    ]
    g.gov.pass_on_devnet(g.proposer, g.voters, Proposal.of(actions, "Ban spamming verifier"))
    assert target.functions.banned(verifier).call()
    assert g.token.functions.balanceOf(seq).call() == bal0 + 2_500 * TOKEN
    assert g.token.functions.balanceOf(g.gov.timelock.address).call() == treasury0 - 2_500 * TOKEN


def test_governor_lifecycle_errors(g: Gov) -> None:
    action = parse_action("locking_pool setMaxSequencers(uint256) 30", g.dep.addresses)
    p = Proposal.of([action], "Max 30 sequencers")
    pid = g.gov.propose(g.proposer, p)
    assert g.gov.state(pid) == "Pending"
    with pytest.raises(TxReverted) as e:
        g.gov.vote(g.voters[0], pid)
    assert e.value.error_name == "GovernorUnexpectedProposalState"
    g.gov.mine(2)
    g.gov.vote(g.voters[0], pid)
    with pytest.raises(TxReverted) as e:
        g.gov.vote(g.voters[0], pid)
    assert e.value.error_name == "GovernorAlreadyCastVote"
    with pytest.raises(TxReverted) as e:
        g.gov.queue(g.proposer, p)
    assert e.value.error_name == "GovernorUnexpectedProposalState"
    no_votes = g.chain.sender(dev_account(25))
    with pytest.raises(TxReverted) as e:
        g.gov.propose(no_votes, Proposal.of([action], "from someone without votes"))
    assert e.value.error_name == "GovernorInsufficientProposerVotes"
    g.gov.mine(10)
    g.gov.queue(g.proposer, p)
    with pytest.raises(TxReverted) as e:  # timelock delay not over
        g.gov.execute(g.proposer, p)
    assert e.value.error_name == "TimelockUnexpectedOperationState"
    st = g.gov.status(pid)
    assert st["state"] == "Queued" and st["for"] == 1_000_000 * TOKEN


def test_defeated_without_quorum(g: Gov) -> None:
    action = parse_action("locking_pool setMaxSequencers(uint256) 30", g.dep.addresses)
    p = Proposal.of([action], "Nobody votes")
    pid = g.gov.propose(g.proposer, p)
    g.gov.mine(13)
    assert g.gov.state(pid) == "Defeated"


def test_action_parsing_errors(g: Gov) -> None:
    with pytest.raises(ConfigError, match="unknown target"):
        parse_action("lockingpool kick(address) 0x0", g.dep.addresses)
    with pytest.raises(ConfigError, match="takes 1 argument"):
        encode_call("kick(address)", [])
    with pytest.raises(ConfigError, match="not an address"):
        encode_call("kick(address)", ["0x12"])
    with pytest.raises(ConfigError, match="bad function signature"):
        encode_call("kick address", ["0x12"])
    with pytest.raises(ConfigError, match="no proposal"):
        g.gov.find(12345)
