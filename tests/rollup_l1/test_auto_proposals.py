"""The agents' automatic governance proposals on Anvil (seed 001 §11.10.3, §11.6.1), against
the production deployment (``deploy_all``: the real LockingPool, SequencerSet,
DataAvailabilityChallenge, L2KitGovernor and L2KitTimelock; batches signed by the set's FROST
key):

- a verifier whose data request on a batch is answered with data that matches the header,
  although the data the header's ``dataHash`` commits to (as published in storage) does not,
  proposes ``LockingPool.kick(sequencer)``; voted through, the sequencer is kicked (no slash);
  without voting power it warns and raises ``verifier_proposal_blocked``; switched off, it
  proposes nothing;
- a sequencer answering ``spam_requests`` matching-answered requests of one verifier proposes
  ``banVerifier(verifier)`` + ``transfer(sequencer, compensation)``; voted through, the
  verifier is banned and the sequencer paid from the treasury.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from offchain.bridge.types import ETH
from offchain.chain.accounts import dev_account
from offchain.common.hashing import keccak
from offchain.errors import L2KitError, TxReverted
from offchain.governance.auto import AutoProposer, kick_proposal
from offchain.governance.client import Governance, Proposal
from offchain.rollup.batcher.spam import SpamWatch
from offchain.rollup.l1.bindings import RequestStatus
from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.ledger.batch_data import BatchData
from offchain.rollup.ledger.tx import Deposit
from offchain.rollup.node.config import BatcherConfig, VerifierConfig
from offchain.rollup.node.service import NodeService, RollupContracts
from offchain.rollup.verifier.daemon import Verifier
from offchain.staking.config import TOKEN
from tests.helpers.prod import KICKED, ProdRollup, deploy_prod
from tests.rollup_l1.l2sim import L2Sim, tampered

ALICE = dev_account(10)
FEE = dev_account(20).address
VOTERS = (dev_account(5), dev_account(6))  # 1,000,000 delegated tokens each on the devnet
KICKER, POWERLESS, QUIET, SPAMMER = (
    dev_account(31),
    dev_account(32),
    dev_account(33),
    dev_account(35),
)


class Storage:
    """The blob store as the verifier sees it: what the sequencer published, by data hash."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def get(self, key: str) -> bytes:
        if key not in self.blobs:
            raise L2KitError(f"no blob {key}")
        return self.blobs[key]


@pytest.fixture(scope="module")
def env(chain: Any) -> ProdRollup:
    return deploy_prod(chain, 4)


@pytest.fixture
def sim(env: ProdRollup) -> L2Sim:
    return L2Sim(env)


@pytest.fixture
def storage() -> Storage:
    return Storage()


def _gov(env: ProdRollup) -> Governance:
    return Governance(env.chain, env.c("governor"), env.c("timelock"))


def _give_votes(env: ProdRollup, acct: LocalAccount, tokens: int) -> None:
    """``tokens`` L2KitToken from a devnet voter to ``acct``, self-delegated (a block later the
    votes count)."""
    token = env.c("token")
    env.chain.sender(VOTERS[0]).send(token.functions.transfer(acct.address, tokens * TOKEN))
    env.chain.sender(acct).send(token.functions.delegate(acct.address))
    env.chain.rpc("evm_mine")


def _batch(env: ProdRollup, sim: L2Sim, storage: Storage, bad: bool) -> tuple[BatchHeader, Any]:
    """Append the next batch (one deposit for ALICE) by the current sequencer; ``bad``: the
    header's ``dataHash`` commits to other bytes (the data minus its claims, as published in
    storage), while its roots are the real data's. Returns the header and the batch data."""
    d = env.bridge(ALICE).deposit_eth(ALICE.address, 10**18)
    data, pre = sim.build(
        [(Deposit(d.deposit_id, d.sender, d.l2_recipient, ETH, d.amount), FEE, True)]
    )
    if bad:
        published = tampered(data, post_roots=[keccak(b"not the post-state root")]).encode()
        header = sim.commit(data, pre, data_hash=keccak(published))
    else:
        published = data.encode()
        header = sim.commit(data, pre)
    storage.blobs["0x" + header.data_hash.hex()] = published
    return header, data


def _verifier(
    env: ProdRollup, acct: LocalAccount, storage: Storage, tmp: Path, **kw: Any
) -> Verifier:
    cfg = VerifierConfig(data_dir=str(tmp), confirmations=0, **kw)
    return Verifier(RollupContracts.from_deployment(env.chain, env.dep), acct, storage, cfg)


def _created(env: ProdRollup, from_block: int) -> list[Any]:
    # L2KitGovernor.sol (IGovernor): event ProposalCreated(uint256 proposalId, address proposer,
    # address[] targets, uint256[] values, string[] signatures, bytes[] calldatas, ...)
    return list(env.c("governor").events.ProposalCreated().get_logs(from_block=from_block))


def _pass(env: ProdRollup, p: Proposal) -> None:
    """Vote ``p`` through with the devnet voters, queue it, wait its ETA and execute it."""
    gov = _gov(env)
    pid = gov.proposal_id(p)
    gov.mine(int(gov.governor.functions.votingDelay().call()) + 1)
    for v in VOTERS:
        gov.vote(env.chain.sender(v), pid, "for")
    gov.mine(int(gov.governor.functions.votingPeriod().call()))
    anyone = env.chain.sender(dev_account(0))
    gov.queue(anyone, p)
    eta = int(gov.governor.functions.proposalEta(pid).call())
    now = int(env.chain.w3.eth.get_block("latest")["timestamp"])
    env.warp(max(eta - now, 0) + 1)
    gov.execute(anyone, p)
    assert gov.state(pid) == "Executed"


def _answer(env: ProdRollup, seq: LocalAccount, header: BatchHeader, data: BatchData) -> None:
    env.sc(seq).provide_data(header, data)
    assert env.sc(seq).data_request(header.index).status == RequestStatus.ANSWERED


def test_matching_answer_files_kick_and_governance_kicks(
    env: ProdRollup, sim: L2Sim, storage: Storage, tmp_path: Path
) -> None:
    """§11.10.3: published data that does not match, a matching answer on L1: the verifier
    proposes the kick (fast lane), goes on with the L1 data; voted through, the sequencer is
    kicked without a slash."""
    _give_votes(env, KICKER, 2_000)
    seq = env.current()
    header, data = _batch(env, sim, storage, bad=True)
    v = _verifier(env, KICKER, storage, tmp_path)
    first = v.tick()[0]
    assert (first.result, first.detail) == ("requested", "claimed roots do not match the header")
    assert env.sc(KICKER).data_request(header.index).verifier == KICKER.address
    _answer(env, seq, header, data)
    block = int(env.chain.w3.eth.block_number)
    out = v.tick()[0]
    assert (out.index, out.result, out.detail) == (header.index, "verified", "l1_answer")
    assert v.verified_index == header.index and v.state.root == header.final_state_root
    pool = env.c("locking_pool")
    (ev,) = _created(env, block)
    a = ev["args"]
    kick = pool.functions.kick(seq.address)._encode_transaction_data()
    assert a["proposer"] == KICKER.address
    assert list(a["targets"]) == [pool.address] and list(a["values"]) == [0]
    assert ["0x" + bytes(c).hex() for c in a["calldatas"]] == [kick]
    assert f"kick sequencer {seq.address}" in a["description"]
    assert v.health()["proposals"]["blocked"] == "" and v.m_proposal_blocked._value.get() == 0
    # Once only: another tick (or a restarted verifier) does not propose it again.
    assert v.tick() == [] and len(_created(env, block)) == 1
    # The fast lane: the Timelock's delay for the kick is the minimum delay, not the exit window.
    tl = env.c("timelock").functions
    assert tl.delayOf(pool.address, bytes.fromhex(kick[2:])).call() == tl.getMinDelay().call()
    stake0 = env.stake(seq.address)
    _pass(
        env, Proposal(list(a["targets"]), list(a["values"]), list(a["calldatas"]), a["description"])
    )
    assert pool.functions.statusOf(seq.address).call() == KICKED
    assert env.stake(seq.address) == stake0  # kicked, not slashed
    assert seq.address not in env.c("sequencer_set").functions.activeSigners().call()


def test_without_voting_power_the_verifier_warns_and_raises_the_alert(
    env: ProdRollup, sim: L2Sim, storage: Storage, tmp_path: Path
) -> None:
    """No votes: no proposal, no crash; the batch is still verified from the L1 answer, the
    status names the shortfall and ``verifier_proposal_blocked`` is 1. Switched off: the
    verifier does not try."""
    seq = env.current()
    header, data = _batch(env, sim, storage, bad=True)
    v = _verifier(env, POWERLESS, storage, tmp_path / "powerless")
    quiet = _verifier(env, QUIET, storage, tmp_path / "quiet", propose_kick=False)
    assert v.proposer is not None and quiet.proposer is None
    assert v.tick()[-1].result == "requested"
    assert quiet.tick()[-1].result == "waiting"  # the request is open
    _answer(env, seq, header, data)
    block = int(env.chain.w3.eth.block_number)
    assert v.tick()[-1].detail == "l1_answer"
    assert quiet.tick()[-1].detail == "l1_answer"
    assert _created(env, block) == []
    assert "proposal threshold" in v.health()["proposals"]["blocked"]
    assert v.m_proposal_blocked._value.get() == 1
    # Given votes, the same verifier files it (the kick is still due: the sequencer is active).
    _give_votes(env, POWERLESS, 2_000)
    v.proposer.file(
        f"kick:{header.index}:0x{header.hash().hex()}",
        kick_proposal(env.addresses["locking_pool"], seq.address, header.index, "test"),
    )
    assert len(_created(env, block)) == 1


def _spam_watch(env: ProdRollup, seq: LocalAccount, **kw: Any) -> SpamWatch:
    cfg = BatcherConfig(spam_check_interval_s=0, **kw)
    return SpamWatch(
        env.sc(seq),
        AutoProposer(_gov(env), env.chain.sender(seq), "test"),
        seq.address,
        env.addresses["token"],
        cfg,
    )


def test_spammed_sequencer_proposes_ban_and_compensation(
    env: ProdRollup, sim: L2Sim, storage: Storage
) -> None:
    """§11.6.1: three requests of one verifier on this sequencer's batches, each answered with
    matching data: the sequencer proposes ``banVerifier`` + ``transfer`` (one proposal, two
    actions); voted through, the verifier is banned and the sequencer paid from the treasury."""
    seq = env.current()
    _give_votes(env, seq, 2_000)
    batches = [_batch(env, sim, storage, bad=False) for _ in range(3)]
    watch = _spam_watch(env, seq, spam_requests=3, spam_compensation_tokens=1_500)
    block = int(env.chain.w3.eth.block_number)
    for i, (header, data) in enumerate(batches):
        env.sc(SPAMMER).request_data(header)
        _answer(env, seq, header, data)
        if i < 2:
            assert watch.tick() == {} and _created(env, block) == []  # below the threshold
    out = watch.tick()
    assert list(out["proposed"]) == [SPAMMER.address]
    (ev,) = _created(env, block)
    a = ev["args"]
    da, token = env.c("da_challenge"), env.c("token")
    calls = [
        da.functions.banVerifier(SPAMMER.address)._encode_transaction_data(),
        token.functions.transfer(seq.address, 1_500 * TOKEN)._encode_transaction_data(),
    ]
    assert a["proposer"] == seq.address
    assert list(a["targets"]) == [da.address, token.address]
    assert ["0x" + bytes(c).hex() for c in a["calldatas"]] == calls
    assert watch.tick() == {} and len(_created(env, block)) == 1  # once
    bal0 = token.functions.balanceOf(seq.address).call()
    treasury0 = token.functions.balanceOf(env.addresses["timelock"]).call()
    _pass(
        env, Proposal(list(a["targets"]), list(a["values"]), list(a["calldatas"]), a["description"])
    )
    assert da.functions.banned(SPAMMER.address).call() is True
    assert token.functions.balanceOf(seq.address).call() == bal0 + 1_500 * TOKEN
    assert token.functions.balanceOf(env.addresses["timelock"]).call() == treasury0 - 1_500 * TOKEN
    header, _ = _batch(env, sim, storage, bad=False)
    with pytest.raises(TxReverted) as e:
        env.sc(SPAMMER).request_data(header)
    assert e.value.error_name == "DataAvailabilityChallengeBanned"


def test_spam_proposal_switched_off(env: ProdRollup) -> None:
    """``rollup_node.batcher.propose_spam_ban = false``: the node builds no spam check."""
    contracts = RollupContracts.from_deployment(env.chain, env.dep)
    seq = env.current()
    on = SimpleNamespace(
        contracts=contracts, config=SimpleNamespace(batcher=BatcherConfig()), signer=seq
    )
    off = SimpleNamespace(
        contracts=contracts,
        config=SimpleNamespace(batcher=BatcherConfig(propose_spam_ban=False)),
        signer=seq,
    )
    l1 = env.sc(seq)
    assert isinstance(NodeService._spam_watch(on, l1, env.chain.sender(seq)), SpamWatch)  # type: ignore[arg-type]
    assert NodeService._spam_watch(off, l1, env.chain.sender(seq)) is None  # type: ignore[arg-type]
