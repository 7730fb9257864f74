"""StateCommitment on Anvil: strict sequence, current sequencer only, the set's one FROST
signature (an ECDSA list never appends), deposit
position checks, challenge window, status views, owner functions."""

from __future__ import annotations

from typing import Any

from web3.logs import DISCARD

from offchain.chain.accounts import dev_account
from offchain.common.hashing import keccak
from offchain.deploy import deploy_all
from offchain.rollup.l1.bindings import BatchStatus, RollupL1
from offchain.rollup.ledger.batch import BatchHeader, order_signatures, sign_digest
from offchain.staking.frost.group import random_scalar
from offchain.staking.frost.keygen import trusted_dealer_keygen
from offchain.staking.frost.l1 import l1_signature
from tests.rollup_l1.conftest import GENESIS, WINDOW_S, Env, rollup_l1_config


def test_append_and_finalize(env: Env) -> None:
    h0 = env.header(0)
    rcpt = env.append(h0)
    sc = env.sc(env.owner)
    assert sc.next_index() == 1 and sc.last_index() == 0
    assert sc.batch_status(0) == BatchStatus.PENDING
    assert not sc.is_finalized(0)
    assert sc.get_header_from_event(0) == h0
    assert sc.stored_header_hash(0) == h0.hash()
    assert sc.header_matches(0, h0.hash()) and not sc.header_matches(
        0, env.header(0, tx_count=9).hash()
    )
    appended = env.chain.w3.eth.get_block(rcpt["blockNumber"])["timestamp"]
    # the window in force at append is fixed with the batch (issue #10, attack 5)
    assert sc.finalizes_at(0) == appended + sc.sc.functions.challengeWindow().call()
    assert sc.batch_sequencer(0) == env.current().address
    ev = sc.sc.events.BatchAppended().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    assert BatchHeader.from_tuple(ev["header"]) == h0
    assert sc.sc.functions.batchDigest(h0.as_tuple()).call() == sc.digest(h0)
    assert sc.sc.functions.genesisStateRoot().call() == GENESIS
    # the batch recorded on the sequencer set (heartbeat, batch reward)
    seqset = env.c("sequencer_set")
    (rec,) = seqset.events.BatchRecorded().process_receipt(rcpt, errors=DISCARD)
    assert (rec.args.signer, rec.args.l2Blocks) == (env.current().address, h0.l2_blocks)
    assert seqset.functions.epochInfo().call()[5] == appended  # lastHeartbeat
    env.append(env.header(1))
    env.warp(WINDOW_S + 1)
    assert sc.batch_status(0) == BatchStatus.FINALIZED and sc.is_finalized(1)
    assert sc.batch_status(2) == BatchStatus.NONE


def test_wrong_index_reverts(env: Env, expect_revert: Any) -> None:
    env.append(env.header(0))
    err = expect_revert("StateCommitmentWrongIndex", env.append, env.header(0))
    assert err.error_args == (0, 1)
    expect_revert("StateCommitmentWrongIndex", env.append, env.header(2))


def test_only_current_sequencer(env: Env, expect_revert: Any) -> None:
    other = env.signers[1]
    h = env.header(0)
    err = expect_revert(
        "StateCommitmentNotCurrentSequencer", env.sc(other).append_batch, h, env.sign(h)
    )
    assert err.error_args == (other.address, env.current().address)


def test_signatures_checked(env: Env, expect_revert: Any) -> None:
    h = env.header(0)
    sc = env.sc(env.current())
    digest = sc.digest(h)

    key = int(env.c("sequencer_set").functions.groupKeyX().call())

    def refused(sigs: list[bytes]) -> None:
        """Not one 96-byte signature: the list is refused by its shape."""
        err = expect_revert("SequencerSetBadFrostSignature", sc.append_batch, h, sigs)
        assert err.error_args == (len(sigs), len(sigs[0]) if sigs else 0)

    def invalid(sigs: list[bytes]) -> None:
        """One 96-byte signature that does not verify under the set's group key."""
        err = expect_revert("SequencerSetInvalidFrostSignature", sc.append_batch, h, sigs)
        assert err.error_args == (digest, key)

    # the whole set's ECDSA list (the stake quorum of installGroupKey): never a batch signature
    ecdsa = order_signatures(digest, [sign_digest(bytes(a.key), digest) for a in env.signers])
    refused(ecdsa)
    refused([])
    refused([*env.sign(h), *env.sign(h)])  # twice the right one
    # the set's signature over another header, a key the set never installed
    invalid(env.sign(env.header(0, tx_count=5)))
    stray, _ = trusted_dealer_keygen(random_scalar(), 1, 1)
    invalid([l1_signature(stray, digest)])
    assert sc.next_index() == 0
    env.append(h)  # the set's own signature
    # no group key yet (a deployment before its key generation): nothing appends
    fresh = deploy_all(
        env.chain, env.chain.sender(env.owner), rollup_l1_config(len(env.keys)), log=lambda *_: None
    )
    cur = fresh.contract(env.chain, "sequencer_set").functions.currentSequencer().call()
    sc2 = RollupL1.from_deployment(env.chain, fresh, env.chain.sender(env.keys[cur]))
    h2 = env.header(0)
    expect_revert("SequencerSetNoGroupKey", sc2.append_batch, h2, ecdsa)
    expect_revert("SequencerSetNoGroupKey", sc2.append_batch, h2, env.sign(h2))


def test_empty_batch_reverts(env: Env, expect_revert: Any) -> None:
    expect_revert("StateCommitmentEmptyBatch", env.append, env.header(0, tx_count=0))


def test_deposit_position_checked(env: Env, expect_revert: Any) -> None:
    br = env.bridge(dev_account(10))
    expect_revert(
        "StateCommitmentBadDepositHash", env.append, env.header(0, deposit_hash=keccak(b"x"))
    )
    expect_revert("L1BridgeUnknownPosition", env.append, env.header(0, deposit_count=1))
    br.deposit_eth(dev_account(10).address, 10**18)
    br.deposit_eth(dev_account(11).address, 2 * 10**18)
    h1 = br.deposit_hash_at(1)
    expect_revert(
        "StateCommitmentBadDepositHash",
        env.append,
        env.header(0, deposit_count=1, deposit_hash=keccak(b"x")),
    )
    env.append(env.header(0, deposit_count=1, deposit_hash=h1))
    expect_revert(
        "StateCommitmentBadDepositHash", env.append, env.header(1, deposit_count=2, deposit_hash=h1)
    )
    env.append(env.header(1, deposit_count=2, deposit_hash=br.deposit_hash_at(2)))


def test_header_checks(env: Env, expect_call_revert: Any) -> None:
    env.append(env.header(0))
    sc = env.sc(env.owner).sc
    assert sc.functions.checkHeader(env.header(0).as_tuple()).call() == env.header(0).hash()
    bad = env.header(0, tx_count=9)
    args = expect_call_revert(
        "StateCommitmentHeaderMismatch", sc.functions.checkHeader(bad.as_tuple())
    )
    prefix = env.header(0).hash()[:26] + bytes(6)  # the stored 208-bit prefix
    assert args == (0, bad.hash(), prefix)
    expect_call_revert(
        "StateCommitmentUnknownBatch", sc.functions.checkHeader(env.header(1).as_tuple())
    )


def test_owner_functions(env: Env, expect_revert: Any) -> None:
    sc_owner = env.sc(env.owner)
    s = env.chain.sender(env.owner)
    s.send(sc_owner.sc.functions.setChallengeWindow(5))
    assert sc_owner.challenge_window_s() == 5
    expect_revert("StateCommitmentBadWindow", s.send, sc_owner.sc.functions.setChallengeWindow(0))
    stranger = env.chain.sender(dev_account(12))
    expect_revert(
        "OwnableUnauthorizedAccount", stranger.send, sc_owner.sc.functions.setChallengeWindow(5)
    )
    expect_revert(
        "StateCommitmentBridge", s.send, sc_owner.sc.functions.setBridge(dev_account(12).address)
    )
    # only challengers may invalidate or open requests
    expect_revert(
        "StateCommitmentNotChallenger", stranger.send, sc_owner.sc.functions.invalidateFrom(0)
    )
    expect_revert(
        "StateCommitmentNotChallenger", stranger.send, sc_owner.sc.functions.setDataRequest(0, True)
    )


def test_invalidate_truncates_and_allows_resubmission(env: Env, expect_revert: Any) -> None:
    """Challenger hook: batch k and all after it become Invalid; the next append is at k."""
    s = env.chain.sender(env.owner)
    sc = env.sc(env.owner)
    for i in range(3):
        env.append(env.header(i))
    s.send(sc.sc.functions.setChallenger(env.owner.address, True))
    rcpt = s.send(sc.sc.functions.invalidateFrom(1))
    ev = sc.sc.events.BatchesInvalidated().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    assert (ev["fromIndex"], ev["toIndex"]) == (1, 2)
    assert [sc.batch_status(i) for i in range(3)] == [
        BatchStatus.PENDING,
        BatchStatus.INVALID,
        BatchStatus.INVALID,
    ]
    assert sc.next_index() == 1
    expect_revert("StateCommitmentUnknownBatch", s.send, sc.sc.functions.invalidateFrom(1))
    new1 = env.header(1, tx_count=7)
    env.append(new1)
    assert sc.batch_status(1) == BatchStatus.PENDING and sc.batch_status(2) == BatchStatus.INVALID
    assert sc.get_header_from_event(1) == new1
    env.warp(WINDOW_S + 1)
    expect_revert("StateCommitmentBatchFinalized", s.send, sc.sc.functions.invalidateFrom(0))
    assert sc.batch_status(1) == BatchStatus.FINALIZED


def test_binding_errors(env: Env) -> None:
    """The Python bindings raise RollupL1Error (one line, no traceback in the CLI)."""
    import pytest

    from offchain.rollup.errors import RollupL1Error
    from offchain.rollup.l1.bindings import RollupL1

    ro = RollupL1(env.chain, env.addresses["state_commitment"], env.addresses["da_challenge"])
    with pytest.raises(RollupL1Error, match="no batch was appended at index 3"):
        ro.get_header_from_event(3)
    with pytest.raises(RollupL1Error, match="no data was provided"):
        ro.provided_data(0)
    with pytest.raises(RollupL1Error, match="has no sender"):
        ro.append_batch(env.header(0), [])
    assert ro.stored_header_hash(0) == b"\x00" * 32
    env.append(env.header(0))
    assert [b.header for b in ro.appended_batches()] == [env.header(0)]
