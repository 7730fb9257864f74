"""Data-availability challenge on Anvil, one test per branch of seed 001 §11.6–11.16 / §3.3:
request -> provide (match), request -> provide (mismatch / invalid data), request -> no answer
-> timeout, spam ban, stale requests; the insecure state holds withdrawals."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from eth_abi import encode
from web3.logs import DISCARD

from offchain.bridge.types import ETH, Withdrawal
from offchain.chain.accounts import dev_account
from offchain.common import merkle
from offchain.common.hashing import keccak
from offchain.rollup.l1.bindings import BatchStatus, PostedBatchData, RequestStatus
from offchain.rollup.ledger.batch import BatchHeader
from tests.helpers.prod import assert_punished
from tests.rollup_l1.conftest import DA_FEE, DA_WINDOW_S, SLASH, WINDOW_S, Env

VERIFIER = dev_account(13)
VERIFIER2 = dev_account(14)
ZERO = b"\x00" * 32


def _txs(
    n: int, tag: bytes = b"tx", withdrawals: dict[int, bytes] | None = None
) -> PostedBatchData:
    """Batch data of ``n`` opaque transactions (the DA contract only checks commitments)."""
    w = withdrawals or {}
    return PostedBatchData(
        [tag + i.to_bytes(4, "big") * 20 for i in range(n)],
        [dev_account(20).address] * n,
        [keccak(tag + b"root%d" % i) for i in range(n)],
        [w.get(i, ZERO) for i in range(n)],
    )


def _batch(env: Env, index: int, data: PostedBatchData, **kw: Any) -> BatchHeader:
    leaves = [
        keccak(encode(["bytes32", "address"], [keccak(t), f]))
        for t, f in zip(data.tx_data, data.fee_recipients, strict=True)
    ]
    fields: dict[str, Any] = dict(
        tx_count=len(data.tx_data),
        tx_root=merkle.root(leaves),
        state_roots_root=merkle.root(data.post_roots),
        final_state_root=data.post_roots[-1],
        withdrawal_root=merkle.root(data.withdrawal_items),
        data_hash=data.data_hash,
    )
    fields.update(kw)
    h = env.header(index, **fields)
    env.append(h)
    return h


def _tampered(data: PostedBatchData, **kw: Any) -> PostedBatchData:
    return replace(data, **kw)


def _seqset(env: Env) -> Any:
    return env.c("sequencer_set")


def test_request_then_matching_data(env: Env, expect_revert: Any) -> None:
    """§11.6 -> §11.8–11.10.1: data posted, matches, insecure state exits, fee to the sequencer."""
    txs = _txs(5)
    seq = env.current()
    h0 = _batch(env, 0, txs)
    _batch(env, 1, _txs(3, b"b1"))
    env.warp(WINDOW_S - 10)  # request late in the challenge window
    v = env.sc(VERIFIER)
    v.request_data(h0)
    req = v.data_request(0)
    assert (req.verifier, req.sequencer, req.status, req.bond) == (
        VERIFIER.address,
        seq.address,
        RequestStatus.OPEN,
        DA_FEE,
    )
    sc = env.sc(env.owner).sc
    assert sc.functions.insecureAt(0).call() and sc.functions.insecureAt(1).call()
    # the insecure state holds finalization of this batch and every later one (§11.7)
    env.warp(11)
    assert v.batch_status(0) == BatchStatus.PENDING and v.batch_status(1) == BatchStatus.PENDING
    expect_revert("DataAvailabilityChallengeAlreadyRequested", env.sc(VERIFIER2).request_data, h0)
    # only the batch's sequencer answers, with the right header
    expect_revert("DataAvailabilityChallengeNotSequencer", env.sc(VERIFIER).provide_data, h0, txs)
    wrong = replace(h0, l2_blocks=11)
    expect_revert("DataAvailabilityChallengeWrongHeader", env.sc(seq).provide_data, wrong, txs)
    env.sc(seq).provide_data(h0, txs)
    assert v.data_request(0).status == RequestStatus.ANSWERED
    assert v.provided_data(0) == txs  # §11.10.2: the verifier reads the data from L1
    assert not sc.functions.insecureAt(1).call()
    assert v.batch_status(0) == BatchStatus.FINALIZED and v.batch_status(1) == BatchStatus.FINALIZED
    da = env.contract("DataAvailabilityChallenge", "da_challenge")
    assert da.functions.claimable(seq.address).call() == DA_FEE
    bal = env.chain.w3.eth.get_balance(seq.address)
    rc = env.chain.sender(seq).send(da.functions.claim())
    assert (
        env.chain.w3.eth.get_balance(seq.address)
        == bal + DA_FEE - rc["gasUsed"] * rc["effectiveGasPrice"]
    )
    # the same header cannot be requested again; the sequencer was not punished
    expect_revert("DataAvailabilityChallengeAlreadyRequested", env.sc(VERIFIER2).request_data, h0)
    assert env.stake(seq.address) == env.stake_at_deploy(seq.address)


def test_request_checks(env: Env, expect_revert: Any) -> None:
    h0 = _batch(env, 0, _txs(2))
    v = env.sc(VERIFIER)
    expect_revert("DataAvailabilityChallengeBadFee", v.request_data, h0, fee_wei=DA_FEE - 1)
    expect_revert("StateCommitmentHeaderMismatch", v.request_data, env.header(0, tx_count=9))
    expect_revert("StateCommitmentUnknownBatch", v.request_data, env.header(1))
    expect_revert("DataAvailabilityChallengeNoOpenRequest", v.resolve_timeout, 0)
    expect_revert("DataAvailabilityChallengeNoOpenRequest", v.provide_data, h0, _txs(2))
    env.warp(WINDOW_S + 1)
    # a finalized batch can no longer be challenged
    expect_revert("DataAvailabilityChallengeWindowClosed", v.request_data, h0)


def _assert_punished(env: Env, seq: Any, verifier: Any, index: int, rcpt: Any) -> None:
    """§11.11 slashed on the LockingPool, §11.12 kicked, §11.15 rotated to the draw's next
    sequencer (:func:`assert_punished`), §11.14 batch invalid, §11.13 the verifier credited
    ``slashBeneficiaryBps`` of the slash (claimed in tokens here) plus its bond back."""
    v = env.sc(verifier)
    paid = assert_punished(env, seq.address, verifier.address, SLASH, None, rcpt)
    assert paid == env.paid(SLASH) > 0
    assert v.batch_status(index) == BatchStatus.INVALID  # §11.14 marked invalid
    assert v.next_index() == index  # open for resubmission
    da = env.contract("DataAvailabilityChallenge", "da_challenge")
    ev = da.events.DataRequestFailed().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    assert ev["reward"] == paid
    assert da.functions.claimable(verifier.address).call() == DA_FEE
    pool, token = env.c("locking_pool").functions, env.c("token").functions
    tok0 = token.balanceOf(verifier.address).call()
    env.chain.sender(verifier).send(pool.claimSlashReward())
    assert token.balanceOf(verifier.address).call() - tok0 == paid
    assert (
        not env.sc(env.owner).sc.functions.insecureAt(index).call()
    )  # §11.16 exits insecure state


def test_request_then_mismatching_data(env: Env, expect_revert: Any) -> None:
    """§11.10 mismatch -> §11.11–11.16."""
    seq = env.current()
    txs = _txs(4)
    h0 = _batch(env, 0, txs)
    _batch(env, 1, _txs(2, b"b1"))
    env.sc(VERIFIER).request_data(h0)
    rcpt = env.sc(seq).provide_data(h0, _tampered(txs, tx_data=[*txs.tx_data[:3], b"forged"]))
    da = env.contract("DataAvailabilityChallenge", "da_challenge")
    ev = da.events.DataRequestFailed().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    assert not ev["timedOut"] and ev["reward"] == env.paid(SLASH)
    _assert_punished(env, seq, VERIFIER, 0, rcpt)
    assert env.sc(VERIFIER).batch_status(1) == BatchStatus.INVALID
    # the next sequencer resubmits from the last valid batch
    nxt = env.current()
    assert nxt.address != seq.address
    _batch(env, 0, txs)
    assert env.sc(VERIFIER).batch_status(0) == BatchStatus.PENDING


def test_request_then_wrong_tx_count(env: Env) -> None:
    """Invalid data (a prefix of the right data: wrong count) is a mismatch too."""
    seq = env.current()
    txs = _txs(4)
    h0 = _batch(env, 0, txs)
    env.sc(VERIFIER).request_data(h0)
    short = PostedBatchData(
        txs.tx_data[:3], txs.fee_recipients[:3], txs.post_roots[:3], txs.withdrawal_items[:3]
    )
    rcpt = env.sc(seq).provide_data(h0, short)
    _assert_punished(env, seq, VERIFIER, 0, rcpt)


def test_request_then_data_with_other_state_roots(env: Env) -> None:
    """§3.3.6: the posted data's MTSR differs from the committed one -> punished."""
    seq = env.current()
    data = _txs(3)
    h0 = _batch(env, 0, data)
    env.sc(VERIFIER).request_data(h0)
    rcpt = env.sc(seq).provide_data(
        h0, _tampered(data, post_roots=[*data.post_roots[:2], keccak(b"other")])
    )
    _assert_punished(env, seq, VERIFIER, 0, rcpt)


def test_committed_roots_inconsistent_with_data_hash(env: Env) -> None:
    """A header whose roots do not come from its own data: the right data cannot answer."""
    seq = env.current()
    data = _txs(3)
    h0 = _batch(env, 0, data, state_roots_root=keccak(b"fake mtsr"))
    env.sc(VERIFIER).request_data(h0)
    rcpt = env.sc(seq).provide_data(h0, data)
    _assert_punished(env, seq, VERIFIER, 0, rcpt)


def test_request_no_answer_timeout(env: Env, expect_revert: Any) -> None:
    """§3.3 / §11: no answer by the deadline -> slashed, kicked, invalidated, compensated."""
    seq = env.current()
    txs = _txs(3)
    env.append(env.header(0))
    h1 = _batch(env, 1, txs)
    env.sc(VERIFIER).request_data(h1)
    expect_revert(
        "DataAvailabilityChallengeDeadlineNotReached", env.sc(VERIFIER2).resolve_timeout, 1
    )
    env.warp(DA_WINDOW_S + 1)
    expect_revert("DataAvailabilityChallengeDeadlinePassed", env.sc(seq).provide_data, h1, txs)
    rcpt = env.sc(VERIFIER2).resolve_timeout(1)  # anyone may resolve
    _assert_punished(env, seq, VERIFIER, 1, rcpt)
    assert env.sc(VERIFIER).batch_status(0) == BatchStatus.PENDING


def test_spam_ban(env: Env, expect_revert: Any) -> None:
    """§11.6.1–11.6.4: governance bans a spamming verifier and compensates the sequencer; other
    verifiers are unaffected and the sequencer still answers their requests."""
    seq = env.current()
    txs0, txs1 = _txs(2), _txs(3, b"b1")
    h0 = _batch(env, 0, txs0)
    h1 = _batch(env, 1, txs1)
    env.sc(VERIFIER).request_data(h0)
    env.sc(VERIFIER2).request_data(h1)
    gov = env.sc(env.owner)
    expect_revert("OwnableUnauthorizedAccount", env.sc(VERIFIER2).ban_verifier, VERIFIER.address)
    rcpt = gov.ban_verifier(VERIFIER.address)
    da = env.contract("DataAvailabilityChallenge", "da_challenge")
    ev = da.events.VerifierBanned().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    assert ev["compensation"] == DA_FEE and da.functions.claimable(seq.address).call() == DA_FEE
    assert gov.data_request(0).status == RequestStatus.CANCELLED
    expect_revert("DataAvailabilityChallengeBanned", env.sc(VERIFIER).request_data, h0)
    # the other verifier's request is still open and answered as usual
    assert gov.data_request(1).status == RequestStatus.OPEN
    env.sc(seq).provide_data(h1, txs1)
    assert da.functions.claimable(seq.address).call() == 2 * DA_FEE
    assert env.stake(seq.address) == env.stake_at_deploy(seq.address)
    s = env.chain.sender(env.owner)
    s.send(da.functions.unbanVerifier(VERIFIER.address))
    env.sc(VERIFIER).request_data(h0)


def test_withdrawals_held_in_insecure_state(env: Env, expect_revert: Any) -> None:
    env.bridge(dev_account(10)).deposit_eth(dev_account(10).address, 10**18)
    w = Withdrawal(keccak(b"wtx0"), dev_account(11).address, ETH, 10**17)
    txs = _txs(1, withdrawals={0: w.item()})
    tree = merkle.MerkleTree(txs.withdrawal_items)
    h0 = _batch(env, 0, txs)
    h1 = _batch(env, 1, _txs(1, b"b1"))
    env.warp(WINDOW_S - 10)
    env.sc(VERIFIER2).request_data(h0)
    env.sc(VERIFIER).request_data(h1)  # a later batch's request does not hold batch 0
    env.warp(11)
    br = env.bridge(dev_account(11))
    expect_revert("L1BridgeBatchNotFinalized", br.finalize_withdrawal, h0, 0, w, tree.proof(0))
    env.sc(env.current()).provide_data(h0, txs)
    br.finalize_withdrawal(h0, 0, w, tree.proof(0))
    assert env.sc(env.owner).batch_status(1) == BatchStatus.PENDING
    # a finalized withdrawal cannot be undone: batch 0 is final, it can no longer be invalidated
    assert env.sc(env.owner).batch_status(0) == BatchStatus.FINALIZED
    assert br.is_withdrawal_finalized(w)


def test_stale_request_cancelled(env: Env, expect_revert: Any) -> None:
    seq = env.current()
    h0 = _batch(env, 0, _txs(2))
    h1 = _batch(env, 1, _txs(2, b"b1"))
    env.sc(VERIFIER2).request_data(h1)
    expect_revert("DataAvailabilityChallengeNotStale", env.sc(VERIFIER2).cancel_stale_request, 1)
    env.sc(VERIFIER).request_data(h0)
    env.warp(DA_WINDOW_S + 1)
    env.sc(VERIFIER).resolve_timeout(0)  # invalidates 0 and 1
    assert env.sc(VERIFIER).batch_status(1) == BatchStatus.INVALID
    # the invalidation closed the insecure state of batch 1 too: resubmissions are not held
    assert env.sc(env.owner).sc.functions.openDataRequests().call() == []
    env.sc(VERIFIER).cancel_stale_request(1)  # the bond comes back
    da = env.contract("DataAvailabilityChallenge", "da_challenge")
    assert da.functions.claimable(VERIFIER2.address).call() == DA_FEE
    assert env.sc(env.owner).sc.functions.openDataRequests().call() == []
    assert seq.address not in _seqset(env).functions.activeSigners().call()


def test_punish_failure_does_not_block_invalidation(env: Env) -> None:
    """If the staking side refuses to punish (here: governance removed the DA contract from
    the set's rollup contracts), the batch is still invalidated, the insecure state ends and
    the verifier gets its bond back."""
    seq = env.current()
    h0 = _batch(env, 0, _txs(2))
    env.sc(VERIFIER).request_data(h0)
    seqset = _seqset(env)
    env.govern(seqset.functions.setRollup(env.addresses["da_challenge"], False))
    env.warp(DA_WINDOW_S + 1)
    rcpt = env.sc(VERIFIER2).resolve_timeout(0)
    da = env.contract("DataAvailabilityChallenge", "da_challenge")
    failed = da.events.PunishFailed().process_receipt(rcpt, errors=DISCARD)
    assert failed and failed[0]["args"]["sequencer"] == seq.address
    ev = da.events.DataRequestFailed().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    assert ev["reward"] == 0 and ev["timedOut"]
    assert env.sc(VERIFIER).batch_status(0) == BatchStatus.INVALID
    assert da.functions.claimable(VERIFIER.address).call() == DA_FEE
    assert env.stake(seq.address) == env.stake_at_deploy(seq.address)
    assert seqset.functions.currentSequencer().call() == seq.address  # nobody rotated
