"""Verifiers on Anvil (seed §9–11): honest batches verified from storage, snapshot or L1 data;
every faulty-sequencer mode caught and punished, with the outcome asserted on L1."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import requests
from eth_account import Account

from offchain.bridge.types import Withdrawal
from offchain.chain.accounts import dev_account
from offchain.common.hashing import keccak
from offchain.common.merkle import MerkleTree
from offchain.errors import TxReverted
from offchain.rollup.l1.bindings import BatchStatus, RequestStatus
from offchain.rollup.ledger import ethtx
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.ledger.batch_data import decode_batch_data
from offchain.rollup.ledger.ledger import STATUS_CODES
from offchain.rollup.node.config import BatcherConfig
from offchain.rollup.node.rpc import HttpServer
from offchain.rollup.node.service import NodeService
from offchain.storage.client import BlobClient
from tests.helpers.frost import as_timelock
from tests.helpers.prod import assert_punished, punishment_receipt
from tests.rollup.conftest import RollupEnv, client, wait_until

# Storage-mode data answers here are blob transactions (tests/rollup/conftest.py).
pytestmark = pytest.mark.usefixtures("blob_ready")

ALICE, BOB = dev_account(10), dev_account(11)
DEAD_STORAGE = "http://127.0.0.1:9"  # nothing listens there: "storage is down"


def _traffic(
    env: RollupEnv, nodes: list[NodeService], transfers: int = 3, withdraw: bool = False
) -> int:
    """A deposit and a few transfers through the current sequencer; returns what BOB got.

    Amounts are random so that no two tests produce the same batch data (the blob store is
    shared by the module and content-addressed)."""
    c = client(nodes[0])
    env.bridge(ALICE).deposit_eth(ALICE.address, 10**18 + random.randrange(10**9))
    wait_until(lambda: c.balance(ALICE.address) >= 10**18, what="deposit on L2")
    n0 = c.nonce(ALICE.address)
    sent = 0
    for i in range(transfers):
        amount = random.randrange(1, 10**6)
        h = c.send(
            ltx.encode_tx(
                ltx.sign_transfer(ALICE, env.domain, BOB.address, ltx.ETH, amount, 1, n0 + i)
            )
        )
        sent += amount
    if withdraw:
        w = ltx.sign_withdraw(ALICE, env.domain, ALICE.address, ltx.ETH, 777, 0, n0 + transfers)
        h = c.send(ltx.encode_tx(w))
    c.wait_receipt(h)
    return sent


def test_honest_batches_verified_from_storage_snapshot_and_l1(
    prod_env: RollupEnv, tmp_path: Path
) -> None:
    env = prod_env
    snap = tmp_path / "batcher-snapshots"
    nodes = env.start_nodes(
        env.signers,
        BatcherConfig(
            max_batch_txs=50, batch_timeout_ms=300, poll_interval_ms=100, snapshot_dir=str(snap)
        ),
    )
    _traffic(env, nodes)
    l1 = env.l1()
    wait_until(lambda: l1.next_index() >= 1, what="a batch on L1")
    # Blob store up: verified from storage.
    v1 = env.start_verifier(dev_account(30))
    assert [o.result for o in v1.tick()][:1] == ["verified"]
    assert v1.outcomes[0].detail == "storage"
    server = HttpServer(v1.app()).start()
    try:
        assert requests.get(server.url + "health", timeout=5).json()["verified_index"] >= 0
        assert "verifier_batches_total" in requests.get(server.url + "metrics", timeout=5).text
    finally:
        server.stop()
    # Storage down, local snapshot present (§9.1).
    v2 = env.start_verifier(dev_account(31), DEAD_STORAGE, snapshot_dir=snap)
    assert v2.tick()[0].result == "verified" and v2.outcomes[0].detail == "snapshot"
    # Storage down and no snapshot: request the data on L1 (§9.2), the sequencer answers
    # (§11.8), the data matches (insecure state exits, §11.10.1), read it from L1 (§9.3).
    v3 = env.start_verifier(dev_account(32), DEAD_STORAGE)
    assert v3.tick()[0].result == "requested"
    assert l1.sc.functions.insecureAt(0).call() is True
    wait_until(
        lambda: l1.data_request(0).status == RequestStatus.ANSWERED, what="sequencer answers on L1"
    )
    assert l1.sc.functions.insecureAt(0).call() is False
    assert v3.tick()[0].result == "verified" and v3.outcomes[-1].detail == "l1"
    # Nobody was punished; a restarted verifier resumes without re-requesting.
    assert all(env.stake(s.address) == env.stake_at_deploy(s.address) for s in env.signers)
    v3.stop()
    env.verifiers.remove(v3)
    again = env.start_verifier(
        dev_account(32),
        DEAD_STORAGE,
        snapshot_dir=Path(v3.config.snapshot_dir),
        data_dir=Path(v3.config.data_dir),
    )
    assert again.verified_index == v3.verified_index >= 0 and again.state.root == v3.state.root
    assert again.tick() == [] and l1.data_request(0).status == RequestStatus.ANSWERED


@pytest.mark.parametrize("mode", ["withhold", "wrong_mttbr", "mismatch"])
def test_da_faults_slash_kick_and_resubmit(prod_env: RollupEnv, mode: str) -> None:
    env = prod_env
    nodes = env.start_nodes(env.signers)
    faulty, seqset, l1 = nodes[0], env.seqset(), env.l1()
    bad_signer = env.signers[0]
    assert seqset.functions.currentSequencer().call() == bad_signer.address
    assert faulty.batcher is not None
    faulty.batcher.fault = env.colluding(mode)
    sent = _traffic(env, nodes)
    wait_until(lambda: l1.next_index() >= 1, what="the faulty batch on L1")
    bad_hash = l1.stored_header_hash(0)
    verifier_acct = dev_account(33)
    v = env.start_verifier(verifier_acct)
    first = v.tick()[0]
    assert first.result == "requested", first
    if mode == "withhold":
        assert l1.data_request(0).status == RequestStatus.OPEN
        env.warp(env.da_window_s + 1)
        assert v.tick()[0].result == "timeout_resolved"
    else:
        # The header commits the blobs of the data the sequencer holds: it answers with them
        # (docs/spec.md, "Data-availability answer in blobs"); they do not match the header,
        # so the verifier asks again and the answer must come in chunks L1 recomputes.
        # The matching blob answer rotated the sequencer asked out (§3.3.6).
        wait_until(lambda: l1.data_request(0).status == RequestStatus.ANSWERED, what="blob answer")
        assert seqset.functions.currentSequencer().call() != bad_signer.address
        again = v.tick()[0]
        assert again.result == "requested", again
    wait_until(lambda: l1.data_request(0).status == RequestStatus.FAILED, what="DA request failed")
    # §11.11–11.16: slashed, kicked, batch invalid, verifier compensated, rotated.
    new_current = _punished(
        env, bad_signer.address, verifier_acct.address, da=True, rotated=mode == "withhold"
    )
    assert l1.batch_status(0) == BatchStatus.INVALID or l1.stored_header_hash(0) != bad_hash
    da = env.chain.contract("DataAvailabilityChallenge", env.addresses["da_challenge"])
    assert da.functions.claimable(verifier_acct.address).call() > 0
    # The next sequencer re-submits from the last valid batch; the verifier accepts it.
    wait_until(
        lambda: l1.next_index() >= 1 and l1.stored_header_hash(0) != bad_hash,
        timeout_s=30,
        what="resubmission",
    )
    wait_until(
        lambda: any(o.result == "verified" for o in v.tick()) or v.verified_index >= 0,
        what="resubmitted batch verified",
    )
    honest = next(n for n in nodes if n.signer.address == new_current)
    assert client(honest).balance(BOB.address) == sent


@pytest.mark.parametrize("mode", ["wrong_mtsr", "forge", "bad_summary"])
def test_fraud_faults_proven_slashed_and_rolled_back(prod_env: RollupEnv, mode: str) -> None:
    env = prod_env
    # The faulty batch holds exactly the traffic below (deposit, 3 transfers, the withdrawal),
    # however slowly the machine sends it: it closes at 5 transactions, not on a timer.
    nodes = env.start_nodes(
        env.signers, BatcherConfig(max_batch_txs=5, batch_timeout_ms=60_000, poll_interval_ms=100)
    )
    faulty, seqset, l1 = nodes[0], env.seqset(), env.l1()
    bad_signer = env.signers[0]
    assert faulty.batcher is not None
    faulty.batcher.fault = env.colluding(mode)
    sent = _traffic(env, nodes, withdraw=True)
    wait_until(lambda: l1.next_index() >= 1, what="the faulty batch on L1")
    bad_hash = l1.stored_header_hash(0)
    bad_header = l1.get_header_from_event(0)
    challenger = dev_account(34)
    v = env.start_verifier(challenger)
    out = v.tick()[0]
    assert out.result == "fraud_proven", out
    # A wrong summary (final root) is proven by the verifier itself with proveBadSummary.
    assert out.detail.startswith("summary" if mode == "bad_summary" else "step "), out
    if mode == "forge":
        assert out.detail.endswith("bad_signature")
    # Slashed (challenger rewarded from the slash), kicked, batch invalid, rotated.
    _punished(env, bad_signer.address, challenger.address, da=False)
    # Batch 0 was invalidated (the next sequencer may already have re-submitted index 0).
    inv = l1.sc.events.BatchesInvalidated().get_logs(from_block=0)
    assert [e["args"]["fromIndex"] for e in inv] == [0]
    assert l1.next_index() == 0 or l1.stored_header_hash(0) != bad_hash
    # A false claim is not possible twice: the verifier never re-challenges that batch.
    kind = "summary" if mode == "bad_summary" else "fraud"
    assert v.store.action(f"{kind}:0:0x{bad_hash.hex()}") is not None
    # The next sequencer re-submits; nodes roll back and re-execute users' transactions.
    wait_until(
        lambda: l1.next_index() >= 1 and l1.stored_header_hash(0) != bad_hash,
        timeout_s=30,
        what="resubmission",
    )
    wait_until(
        lambda: v.tick() is not None and v.verified_index >= 0, what="resubmitted batch verified"
    )
    new_current = seqset.functions.currentSequencer().call()
    honest = next(n for n in nodes if n.signer.address == new_current)
    assert client(honest).balance(BOB.address) == sent
    # A withdrawal proven against the invalidated batch can never be finalized.
    data = decode_batch_data(BlobClient(env.storage_url).get("0x" + bad_header.data_hash.hex()))
    i = next(k for k, w in enumerate(data.withdrawal_items) if w != b"\x00" * 32)
    wd = Withdrawal(keccak(data.tx_data[i]), ALICE.address, ltx.ETH, 777)
    assert wd.item() == data.withdrawal_items[i]
    env.warp(env.window_s + 1)
    with pytest.raises(TxReverted) as ei:
        env.bridge(dev_account(12)).finalize_withdrawal(
            bad_header, i, wd, MerkleTree(data.withdrawal_items).proof(i)
        )
    assert ei.value.error_name in ("StateCommitmentHeaderMismatch", "StateCommitmentUnknownBatch")


def test_spamming_verifier_banned_others_unaffected(prod_env: RollupEnv) -> None:
    """§11.6.1–11.6.4: a verifier that requests data it could have had is banned by governance
    (the Timelock, impersonated); its bond compensates the sequencer; its new requests revert;
    another verifier's request is still answered; no sequencer is punished (a matching answer
    only rotates the sequencer that was asked, §3.3.6)."""
    env = prod_env
    nodes = env.start_nodes(env.signers)
    l1, seqset = env.l1(), env.seqset()
    _traffic(env, nodes)
    wait_until(lambda: l1.next_index() >= 1, what="a batch")
    current = seqset.functions.currentSequencer().call()
    da = env.chain.contract("DataAvailabilityChallenge", env.addresses["da_challenge"])
    owed_before = da.functions.claimable(current).call()
    spammer = env.start_verifier(dev_account(35), DEAD_STORAGE)
    assert spammer.tick()[0].result == "requested"
    assert env.prod is not None  # governance owns the DA contract: the Timelock bans
    as_timelock(env.chain, env.prod.dep, da.functions.banVerifier(dev_account(35).address))
    assert da.functions.banned(dev_account(35).address).call() is True
    # Open at the ban: cancelled, bond to the sequencer; or already answered: the fee paid it.
    assert l1.data_request(0).status in (RequestStatus.CANCELLED, RequestStatus.ANSWERED)
    assert da.functions.claimable(current).call() > owed_before  # the sequencer is compensated
    # Its requests now revert (a fresh batch).
    _traffic(env, nodes, transfers=1)
    wait_until(lambda: l1.next_index() >= 2, what="another batch")
    spammer._rewind_if_needed(l1.next_index())
    out = spammer.check(1)
    assert out.result == "waiting" and "DataAvailabilityChallengeBanned" in out.detail
    # Another verifier is unaffected: its request is answered and the batch verifies.
    honest = env.start_verifier(dev_account(36), DEAD_STORAGE)
    assert honest.tick()[0].result in ("requested", "verified")
    wait_until(lambda: l1.data_request(0).status == RequestStatus.ANSWERED, what="answer on L1")
    wait_until(lambda: honest.tick() is not None and honest.verified_index >= 1, what="verified")
    assert all(env.stake(s.address) == env.stake_at_deploy(s.address) for s in env.signers)
    active = {a.lower() for a in seqset.functions.activeSigners().call()}
    assert active == {s.address.lower() for s in env.signers}  # nobody kicked


def _punished(env: RollupEnv, bad: str, beneficiary: str, da: bool, rotated: bool = True) -> str:
    """The real contracts after the punishment of ``bad`` (one DA or fraud slash): the pool
    slashed it, credited ``beneficiary`` its share (claimable in tokens), kicked it, and the
    set rotated to the sequencer the model of the draw expects (``rotated``; else an earlier
    matching answer had rotated it out already). Returns the new current."""
    assert env.prod is not None
    p = env.prod.params
    rcpt = punishment_receipt(env.prod, bad)
    slash = p.da_slash_amount if da else p.fraud_slash_amount
    paid = assert_punished(env.prod, bad, beneficiary, slash, None, rcpt, rotated)
    pool = env.prod.c("locking_pool").functions
    assert pool.claimableReward(beneficiary).call() == paid > 0
    return str(env.seqset().functions.currentSequencer().call())


def _standard_traffic(env: RollupEnv, nodes: list[NodeService]) -> int:
    """Standard transactions signed by eth-account as a wallet does (two ETH transfers, EIP-1559
    and legacy, and an EIP-2930 ETH withdrawal with an access list: the faults forge the last
    one) from ALICE's L2 funds; returns what BOB got."""
    c = client(nodes[0])
    n0 = c.nonce(ALICE.address)
    chain = env.domain.chain_id
    sent = 0
    h = ""
    for i in range(2):
        amount = random.randrange(1, 10**6)
        fee: dict[str, Any] = (
            {"maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9}
            if i == 0
            else {"gasPrice": 10**9}
        )
        tx = {"nonce": n0 + i, "gas": 21_000, "to": BOB.address, "value": amount, "chainId": chain}
        h = c.send(b"\x03" + bytes(Account.sign_transaction(tx | fee, ALICE.key).raw_transaction))
        sent += amount
    wd = ethtx.SELECTOR_WITHDRAW + bytes(12) + bytes.fromhex(ALICE.address[2:])
    tx = {"nonce": n0 + 2, "gas": 60_000, "to": ethtx.WITHDRAW_ADDRESS, "value": 777}
    tx |= {"data": wd, "chainId": chain, "gasPrice": 10**9}
    tx["accessList"] = [{"address": BOB.address, "storageKeys": ["0x" + "07" * 32]}]
    c.wait_receipt(c.send(b"\x03" + bytes(Account.sign_transaction(tx, ALICE.key).raw_transaction)))
    c.wait_receipt(h)
    return sent


@pytest.mark.parametrize(
    ("mode", "status"),
    [
        ("std_bad_signature", "bad_signature"),
        ("std_wrong_chain", "wrong_chain"),
        ("std_wrong_nonce", "wrong_nonce"),
        ("std_overdraft", "insufficient_balance"),
        ("std_fake_withdrawal", "valid"),
        ("wrong_mtsr", "valid"),
    ],
)
def test_standard_tx_faults_proven_on_l1(prod_env: RollupEnv, mode: str, status: str) -> None:
    """Every one-step fault on a batch of standard (wallet-signed) transactions: the verifier
    finds it, proves it with FraudProver on L1 (the L2StateTransition decodes the RLP
    envelope), the sequencer is slashed and kicked, the batch invalid, the users' transactions
    re-executed by the next sequencer."""
    env = prod_env
    # The deposit goes into an honest batch first; the faulty batch then holds only the
    # standard transactions.
    nodes, k = _faulty_after_a_deposit(env, mode)
    l1, bad_signer = env.l1(), env.signers[0]
    sent = _standard_traffic(env, nodes)
    wait_until(lambda: l1.next_index() > k, what="the faulty batch on L1")
    bad_hash = l1.stored_header_hash(k)
    bad_header = l1.get_header_from_event(k)
    data = decode_batch_data(BlobClient(env.storage_url).get("0x" + bad_header.data_hash.hex()))
    assert any(t[0] == ethtx.KIND_STANDARD for t in data.tx_data)
    v = env.start_verifier(dev_account(34))
    outs: list[Any] = []
    wait_until(
        lambda: outs.extend(v.tick()) or any(o.result == "fraud_proven" for o in outs),
        what="the verifier proving the fault",
    )
    out = next(o for o in outs if o.result == "fraud_proven")
    assert out.index == k, outs
    step = int(out.detail.split()[1].rstrip(":"))
    assert data.tx_data[step][0] == ethtx.KIND_STANDARD, out.detail  # a standard step
    assert out.detail.endswith(status), out.detail
    # On L1: FraudProven for that step with the status, slashed, kicked, batch invalid.
    assert l1.fp is not None
    ev = l1.fp.events.FraudProven().get_logs(from_block=0)
    assert [(e.args.index, e.args.step) for e in ev][-1] == (k, step)
    assert STATUS_CODES[status] == ev[-1].args.status
    _punished_and_resubmitted(env, v, nodes, k, bad_hash, bad_signer.address, sent)


def _faulty_after_a_deposit(env: RollupEnv, mode: str) -> tuple[list[NodeService], int]:
    """Nodes of every signer; a deposit of ALICE in an honest batch; then the current
    sequencer (``nodes[0]``) turns faulty in ``mode`` with every signer colluding. Returns the
    nodes and the index its next (faulty) batch gets."""
    nodes = env.start_nodes(env.signers)
    faulty, l1, c = nodes[0], env.l1(), client(nodes[0])
    assert faulty.batcher is not None
    base = l1.next_index()
    env.bridge(ALICE).deposit_eth(ALICE.address, 10**18 + random.randrange(10**9))
    wait_until(lambda: c.balance(ALICE.address) >= 10**18, what="deposit on L2")
    wait_until(lambda: l1.next_index() > base, what="the deposit's batch on L1")
    faulty.batcher.fault = env.colluding(mode)
    return nodes, l1.next_index()


def _punished_and_resubmitted(
    env: RollupEnv,
    v: Any,
    nodes: list[NodeService],
    k: int,
    bad_hash: bytes,
    bad_signer: str,
    bob_balance: int,
) -> None:
    """Batch ``k`` proven fraudulent: its signer slashed and kicked, the batch invalid; the
    next sequencer re-submits it (verified) and BOB holds ``bob_balance`` there."""
    seqset, l1 = env.seqset(), env.l1()
    _punished(env, bad_signer, dev_account(34).address, da=False)
    # Invalid, unless the next sequencer already resubmitted index k (its batch differs).
    assert l1.batch_status(k) == BatchStatus.INVALID or l1.stored_header_hash(k) != bad_hash
    wait_until(
        lambda: l1.next_index() > k and l1.stored_header_hash(k) != bad_hash,
        timeout_s=30,
        what="resubmission",
    )
    wait_until(
        lambda: v.tick() is not None and v.verified_index >= k, what="resubmitted batch verified"
    )
    new_current = seqset.functions.currentSequencer().call()
    honest = next(n for n in nodes if n.signer.address == new_current)
    assert client(honest).balance(BOB.address) == bob_balance


def test_unprovable_fault_raises_the_alert_and_later_batches_are_verified(
    prod_env: RollupEnv,
) -> None:
    """A fault found after its challenge window closed cannot be proven (proveFraud reverts
    FraudProverWindowClosed): the verifier reports it as unprovable, logs it and raises the
    ``verifier_unprovable_batch`` alert gauge (and its health shows the batch), and it does not
    stop there: it goes on and verifies the honest batches appended after it, also after a
    restart, with the alert still raised."""
    env = prod_env
    nodes = env.start_nodes(env.signers)
    faulty, l1 = nodes[0], env.l1()
    assert faulty.batcher is not None
    faulty.batcher.fault = env.colluding("wrong_mtsr")
    _traffic(env, nodes, withdraw=False)
    wait_until(lambda: l1.next_index() >= 1, what="the faulty batch on L1")
    env.warp(env.window_s + 1)  # nobody watched in time
    _traffic(env, nodes, transfers=2)  # honest batches after the faulty one
    wait_until(lambda: l1.next_index() >= 2, what="an honest batch after the faulty one")
    env.stop_nodes()  # no batch lands while the verifier checks
    v = env.start_verifier(dev_account(35))
    outs = v.tick()
    last = l1.next_index() - 1
    assert outs[0].result == "unprovable" and "FraudProverWindowClosed" in outs[0].detail, outs
    assert [o.result for o in outs[1:]] == ["verified"] * last, outs
    assert v.verified_index == last
    assert v.registry.get_sample_value("verifier_unprovable_batch") == 0
    assert v.health()["unprovable"]["index"] == 0
    assert v.health()["unprovable_batches"] == [0]
    # A restart resumes after the last batch, the unprovable one still reported.
    v.stop()
    env.verifiers.remove(v)
    again = env.start_verifier(
        dev_account(35),
        snapshot_dir=Path(v.config.snapshot_dir),
        data_dir=Path(v.config.data_dir),
    )
    assert again.verified_index == last and again.state.root == v.state.root
    assert again.tick() == []
    assert again.registry.get_sample_value("verifier_unprovable_batch") == 0
    assert again.health()["unprovable_batches"] == [0]


def test_forced_wrong_exec_proven_on_l1(prod_env: RollupEnv) -> None:
    """A sequencer that misexecutes a forced transaction (faulty mode ``forced_wrong_exec``:
    the forced transfer claimed as skipped, consistently in the data and the header): the
    verifier re-executes the forced step from the L1 queue, proves it with FraudProver on L1
    (status ``valid``, the claimed root wrong), the sequencer is slashed and kicked, the batch
    invalid, and the next sequencer's batch carries the transfer."""
    env = prod_env
    nodes, k = _faulty_after_a_deposit(env, "forced_wrong_exec")
    l1, bad_signer, c = env.l1(), env.signers[0], client(nodes[0])
    bob_before = c.balance(BOB.address)
    amount = random.randrange(1, 10**6)
    inner = ltx.sign_transfer(
        ALICE, env.domain, BOB.address, ltx.ETH, amount, 1, c.nonce(ALICE.address)
    )
    queue_id, _, forced_hash = env.bridge(ALICE).force_tx(ltx.encode_tx(inner))
    c.wait_receipt("0x" + forced_hash.hex(), timeout_s=20)
    wait_until(lambda: l1.next_index() > k, what="the faulty batch on L1")
    bad_hash = l1.stored_header_hash(k)
    bad_header = l1.get_header_from_event(k)
    data = decode_batch_data(BlobClient(env.storage_url).get("0x" + bad_header.data_hash.hex()))
    forced_step = next(i for i, t in enumerate(data.tx_data) if t[0] == ltx.KIND_FORCED)
    forced = ltx.decode_tx(data.tx_data[forced_step])
    assert isinstance(forced, ltx.Forced) and forced.queue_id == queue_id
    v = env.start_verifier(dev_account(34))
    outs: list[Any] = []
    wait_until(
        lambda: outs.extend(v.tick()) or any(o.result == "fraud_proven" for o in outs),
        what="the verifier proving the misexecuted forced tx",
    )
    out = next(o for o in outs if o.result == "fraud_proven")
    assert out.index == k, outs
    assert out.detail.startswith(f"step {forced_step}") and out.detail.endswith("valid"), out
    assert l1.fp is not None
    ev = l1.fp.events.FraudProven().get_logs(from_block=0)
    assert [(e.args.index, e.args.step) for e in ev][-1] == (k, forced_step)
    assert ev[-1].args.status == STATUS_CODES["valid"]
    _punished_and_resubmitted(env, v, nodes, k, bad_hash, bad_signer.address, bob_before + amount)
