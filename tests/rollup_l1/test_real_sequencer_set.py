"""The rollup contracts against the real staking contracts (the devnet deployment: LockingPool,
SequencerSet, governance): appendBatch with the set's FROST signature and a batch reward; a DA
timeout and a fraud proof slash (stake conserved into a claimable reward + a queued burn, then
claimed and flushed), kick and rotate; resubmission."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from offchain.bridge.client import BridgeClient
from offchain.bridge.types import ETH
from offchain.chain.accounts import dev_account
from offchain.chain.client import Chain
from offchain.common.hashing import keccak
from offchain.config import L2KitConfig
from offchain.deploy import Deployment, deploy_all
from offchain.rollup.l1.bindings import BatchStatus, PostedBatchData, RollupL1
from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.ledger.batch_builder import BatchBuilder, tampered
from offchain.rollup.ledger.tx import Deposit, Domain, sign_transfer
from offchain.staking.contracts import REASONS
from offchain.staking.frost.keygen import KeyShare
from offchain.staking.frost.l1 import install_dealt_key, l1_signature
from offchain.staking.signatures import active_stakes
from tests.helpers.rollup import placeholder_header

E18 = 10**18
VERIFIER = dev_account(13)


@dataclass
class Real:
    chain: Chain
    dep: Deployment
    config: L2KitConfig
    shares: list[KeyShare]  # a threshold of the set's group key

    def c(self, key: str) -> Any:
        return self.dep.contract(self.chain, key)

    @property
    def keys(self) -> dict[str, LocalAccount]:
        return {a.address: a for a in (dev_account(i) for i in range(1, 5))}

    def current(self) -> LocalAccount:
        return self.keys[self.c("sequencer_set").functions.currentSequencer().call()]

    def l1(self, acct: LocalAccount) -> RollupL1:
        return RollupL1.from_deployment(self.chain, self.dep, self.chain.sender(acct))

    def append(self, header: BatchHeader) -> Any:
        digest = self.l1(self.current()).digest(header)
        return self.l1(self.current()).append_batch(header, [l1_signature(self.shares, digest)])

    def warp(self, s: int) -> None:
        self.chain.rpc("evm_increaseTime", s)
        self.chain.rpc("evm_mine")


@pytest.fixture(scope="module")
def real(chain: Chain) -> Real:
    cfg = L2KitConfig()
    dep = deploy_all(chain, chain.sender(dev_account(0)), cfg, log=lambda *_: None)
    # The set's group key (installed by >2/3 of the stake, as the nodes' DKG does at start).
    sset = dep.contract(chain, "sequencer_set")
    keys = {a.address: a for a in (dev_account(i) for i in range(1, 5))}
    shares = install_dealt_key(chain, sset, keys, active_stakes(sset))
    return Real(chain, dep, cfg, shares)


def _pool_totals(r: Real) -> tuple[int, int, int]:
    p = r.c("locking_pool").functions
    return p.totalSlashed().call(), p.totalSlashPaid().call(), p.totalSlashBurned().call()


def _assert_punished(
    r: Real,
    seq: LocalAccount,
    beneficiary: LocalAccount,
    slash: int,
    tok0: int,
    before: tuple[int, int, int],
) -> None:
    pool = r.c("locking_pool").functions
    info = pool.sequencer(seq.address).call()
    assert pool.statusOf(seq.address).call() == 3  # Kicked
    assert r.c("sequencer_set").functions.currentSequencer().call() != seq.address
    slashed, paid, burned = _pool_totals(r)
    d_slashed, d_paid, d_burned = slashed - before[0], paid - before[1], burned - before[2]
    assert d_slashed == min(slash, info[2] + d_slashed)
    assert d_slashed == d_paid + d_burned  # slashed stake conserved into reward + burn
    # Pull pattern: the reward is credited in the pool and the beneficiary claims it.
    assert pool.claimableReward(beneficiary.address).call() == d_paid > 0
    assert pool.pendingSlashBurn().call() >= d_burned
    token = r.c("token").functions
    supply = token.totalSupply().call()
    r.chain.sender(beneficiary).send(pool.claimSlashReward())
    assert token.balanceOf(beneficiary.address).call() - tok0 == d_paid
    # Anyone flushes the queued burn share: the supply drops by exactly the pending amount.
    pending = pool.pendingSlashBurn().call()
    r.chain.sender(dev_account(0)).send(pool.burnSlashed())
    assert token.totalSupply().call() == supply - pending
    assert pool.pendingSlashBurn().call() == 0


def _header(r: Real, index: int, **kw: Any) -> BatchHeader:
    fields: dict[str, Any] = dict(first_block=index, l2_blocks=5, tx_count=3)
    fields.update(kw)
    return placeholder_header(index, ("t%d", "s%d", "f%d", "w%d", "d%d"), **fields)


def test_append_with_real_set_accrues_reward(real: Real) -> None:
    seq = real.current()
    pool = real.c("locking_pool").functions
    reward0 = pool.sequencer(seq.address).call()[3]
    real.append(_header(real, 0))
    assert real.l1(VERIFIER).batch_status(0) == BatchStatus.PENDING
    assert pool.sequencer(seq.address).call()[3] > reward0
    assert real.l1(VERIFIER).batch_sequencer(0) == seq.address


def test_da_timeout_slashes_on_the_locking_pool(real: Real) -> None:
    p = real.config.rollup.effective(real.chain.chain_id)
    seq = real.current()
    h = _header(real, 0)
    real.append(h)
    tok0 = real.c("token").functions.balanceOf(VERIFIER.address).call()
    before = _pool_totals(real)
    v = real.l1(VERIFIER)
    v.request_data(h)
    real.warp(p.da_window_s + 1)
    v.resolve_timeout(0)
    _assert_punished(real, seq, VERIFIER, p.da_slash_amount, tok0, before)
    assert v.batch_status(0) == BatchStatus.INVALID
    # the next sequencer resubmits from the last valid batch (here: batch 0)
    nxt = real.current()
    assert nxt.address != seq.address
    real.append(_header(real, 0, l2_blocks=6))
    assert v.batch_status(0) == BatchStatus.PENDING and v.batch_sequencer(0) == nxt.address


def test_da_answer_with_real_set(real: Real) -> None:
    n = 4
    data = PostedBatchData(
        [b"tx%d" % i for i in range(n)],
        [ETH] * n,
        [keccak(b"r%d" % i) for i in range(n)],
        [b"\0" * 32] * n,
    )
    from offchain.rollup.ledger.batch_data import batch_roots

    roots = batch_roots(data.tx_data, data.post_roots, data.withdrawal_items, data.fee_recipients)
    h = _header(
        real,
        0,
        tx_count=n,
        tx_root=roots.mttbr,
        state_roots_root=roots.mtsr,
        final_state_root=data.post_roots[-1],
        withdrawal_root=roots.withdrawal_root,
        data_hash=data.data_hash,
    )
    seq = real.current()
    real.append(h)
    v = real.l1(VERIFIER)
    v.request_data(h)
    real.l1(seq).provide_data(h, data)
    assert v.provided_data(0) == data
    assert real.c("locking_pool").functions.statusOf(seq.address).call() == 1  # still Active


def test_fraud_proof_slashes_on_the_locking_pool(real: Real) -> None:
    p = real.config.rollup.effective(real.chain.chain_id)
    alice, bob = dev_account(10), dev_account(11)
    bridge = real.c("l1_bridge")
    d = BridgeClient(real.chain, bridge.address, real.chain.sender(alice)).deposit_eth(
        alice.address, 5 * E18
    )
    b = BatchBuilder(
        Domain(p.l2_chain_id, real.dep.addresses["state_commitment"]),
        lambda i: bytes(bridge.functions.depositHash(i).call()),
        lambda n: bytes(bridge.functions.depositHashAt(n).call()),
    )
    data, pre = b.build(
        [(Deposit(d.deposit_id, d.sender, d.l2_recipient, ETH, d.amount), ETH, True)]
    )
    h0 = b.header(data)
    real.append(h0)
    b.record(h0, data, pre)
    seq = real.current()
    t = sign_transfer(alice, b.domain, bob.address, ETH, E18, 0, 0)
    data, pre = b.build([(t, ETH, True)])
    data = tampered(data, post_roots=[keccak(b"forged")])
    h1 = b.header(data)
    real.append(h1)
    b.record(h1, data, pre)
    challenger = dev_account(14)
    tok0 = real.c("token").functions.balanceOf(challenger.address).call()
    before = _pool_totals(real)
    real.l1(challenger).prove_fraud(b.witness(1))
    _assert_punished(real, seq, challenger, p.fraud_slash_amount, tok0, before)
    assert real.l1(challenger).batch_status(1) == BatchStatus.INVALID
    assert real.l1(challenger).batch_status(0) == BatchStatus.PENDING


def test_governance_bans_a_spamming_verifier(real: Real, expect_revert: Any) -> None:
    """§11.6.1–11.6.4 through the real Governor + Timelock: the proposal bans the verifier on
    the DA contract (its open request's bond goes to the sequencer) and compensates the
    sequencer from the treasury; other verifiers are unaffected."""
    from offchain.governance.actions import parse_action
    from offchain.governance.client import Governance, Proposal

    seq = real.current()
    h0 = _header(real, 0)
    real.append(h0)
    spammer, other = VERIFIER, dev_account(14)
    real.l1(spammer).request_data(h0)
    gov = Governance(real.chain, real.c("governor"), real.c("timelock"))
    a = real.dep.addresses
    actions = [
        parse_action(f"da_challenge banVerifier(address) {spammer.address}", a),
        parse_action(f"token transfer(address,uint256) {seq.address} 100tokens", a),
    ]
    tok0 = real.c("token").functions.balanceOf(seq.address).call()
    gov.pass_on_devnet(
        real.chain.sender(dev_account(0)),
        [real.chain.sender(dev_account(i)) for i in (5, 6)],
        Proposal.of(actions, "Ban a verifier that spams data requests"),
    )
    da = real.c("da_challenge").functions
    assert da.banned(spammer.address).call()
    assert real.c("token").functions.balanceOf(seq.address).call() - tok0 == 100 * E18
    assert da.claimable(seq.address).call() == real.l1(spammer).da_fee_for(h0.tx_count)
    expect_revert("DataAvailabilityChallengeBanned", real.l1(spammer).request_data, h0)
    real.l1(other).request_data(h0)  # unaffected
    assert real.l1(other).data_request(0).verifier == other.address


def test_pinging_sequencer_without_batches_is_reselected(real: Real, expect_revert: Any) -> None:
    """Attack 4 (issue #10) on the devnet deployment: a deposit waits, the current sequencer
    keeps pinging heartbeat() without a batch; once the work is noted, anyone reselects it after
    one heartbeat timeout (reason NoProgress) although its heartbeat is fresh."""
    sset = real.c("sequencer_set")
    assert sset.functions.depositQueue().call() == real.dep.addresses["l1_bridge"]
    snap = real.chain.rpc("evm_snapshot")
    try:
        user = dev_account(12)
        BridgeClient(
            real.chain, real.dep.addresses["l1_bridge"], real.chain.sender(user)
        ).deposit_eth(user.address, E18)
        idle = real.current()
        anyone = real.chain.sender(dev_account(14))
        anyone.send(sset.functions.noteWork())
        expect_revert("SequencerSetWorkAlreadyNoted", anyone.send, sset.functions.noteWork())
        timeout = int(sset.functions.timing().call()[1])
        stalled = int(sset.functions.progressDeadline().call())
        real.warp(timeout // 2)
        real.chain.sender(idle).send(sset.functions.heartbeat())
        expect_revert("SequencerSetHeartbeatNotMissed", anyone.send, sset.functions.reselect())
        real.warp(timeout - timeout // 2 + 1)
        real.chain.sender(idle).send(sset.functions.heartbeat())
        now = int(real.chain.w3.eth.get_block("latest")["timestamp"])
        assert now > stalled and now <= int(sset.functions.heartbeatDeadline().call())
        rcpt = anyone.send(sset.functions.reselect(), gas=600_000)
        ev = sset.events.SequencerRotated().process_receipt(rcpt)[0]["args"]
        assert ev["previous"] == idle.address and ev["next"] != idle.address
        assert REASONS[ev["reason"]] == "NoProgress"
    finally:
        real.chain.rpc("evm_revert", snap)
