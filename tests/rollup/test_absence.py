"""A silent sequencer loses its seat without a governance vote (issue #10 attack 3), end to end.

The production deployment (``deploy_all``: 4 sequencers, stakes 20k/30k/40k/50k, FROST shares
2/3/3/4, threshold 9 of 12) with ``staking.miss_limit_batches`` = 3, real rollup nodes. Each
batch's FROST round puts every member that answers in the signing package and signs the
absence bitmap of the others (``appendBatchAbsent``); the co-signers check it against the
package and ``activeSigners()``. A stopped member the others can sign without is counted on L1
with every batch
and kicked (no slash) at the third; batches go on, and the nodes' key keepers reshare the key
to the three left. A coordinator that marks a present member absent gets no share at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from web3.logs import DISCARD

from offchain.chain.accounts import dev_account
from offchain.chain.client import Chain
from offchain.rollup.batcher.plan import build_batch
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.node.config import BatcherConfig
from offchain.rollup.node.service import NodeService
from offchain.staking.signatures import CosignRequest
from tests.helpers.frost import allocation_from_l1
from tests.helpers.prod import KICKED, ProdRollup
from tests.rollup.conftest import (
    RollupEnv,
    client,
    deploy_rollup,
    env_of,
    rollup_config,
    wait_until,
    with_storage,
)

ALICE, BOB = dev_account(10), dev_account(11)
MISS_LIMIT = 3
FAST = BatcherConfig(max_batch_txs=50, batch_timeout_ms=200, poll_interval_ms=50)


@pytest.fixture(scope="module")
def absence_base(chain: Chain) -> Iterator[tuple[ProdRollup, str, Any]]:
    cfg = rollup_config()
    cfg.staking.miss_limit_batches = MISS_LIMIT  # what deploy_all sets with setMissLimit
    yield from with_storage(deploy_rollup(chain, config=cfg))


@pytest.fixture
def env(chain: Chain, absence_base: Any) -> Iterator[RollupEnv]:
    yield from env_of(chain, absence_base)


def _fund(env: RollupEnv, node: NodeService) -> None:
    env.bridge(ALICE).deposit_eth(ALICE.address, 10**18)
    wait_until(lambda: client(node).balance(ALICE.address) >= 10**18, what="deposit on L2")


def _batch(env: RollupEnv, node: NodeService) -> int:
    """A transfer, then the next batch on L1; returns its index."""
    c = client(node)
    before = env.l1().next_index()
    raw = ltx.sign_transfer(ALICE, env.domain, BOB.address, ltx.ETH, 1, 1, c.nonce(ALICE.address))
    c.wait_receipt(c.send(ltx.encode_tx(raw)))
    wait_until(lambda: env.l1().next_index() > before, timeout_s=60, what="the next batch")
    return before


def _appended(env: RollupEnv, index: int) -> tuple[str, int, Any]:
    """How batch ``index`` was appended: the function, its absence bitmap, the receipt."""
    l1 = env.l1()
    (log,) = l1.sc.events.BatchAppended().get_logs(from_block=0, argument_filters={"index": index})
    tx = env.chain.w3.eth.get_transaction(log["transactionHash"])
    fn, args = l1.sc.decode_function_input(tx["input"])
    rcpt = env.chain.w3.eth.get_transaction_receipt(log["transactionHash"])
    return fn.fn_name, int(args.get("absent", 0)), rcpt


def _silence_one(env: RollupEnv) -> tuple[list[NodeService], NodeService, NodeService]:
    """All four nodes up, one batch signed by everyone (plain ``appendBatch``), then a member
    that is not current and whose shares the others can sign without stopped.

    Returns:
        The nodes, the current one and the stopped one.
    """
    nodes = env.start_nodes(env.signers, batcher=FAST, frost_keeper=True)
    current = nodes[0]  # signers[0] is the current sequencer
    key = env.prod.key
    assert key is not None  # the dealt key (rollup_config's deployment)
    alloc = key.allocation
    shares = {a.lower(): len(v) for a, v in alloc.identifiers.items()}
    victim = next(
        n for n in nodes[1:] if alloc.total - shares[n.signer.address.lower()] >= alloc.threshold
    )
    _fund(env, current)
    assert _appended(env, _batch(env, current))[:2] == ("appendBatch", 0)
    victim.stop()
    return nodes, current, victim


def _missed_batch(env: RollupEnv, current: NodeService, who: str) -> tuple[int, Any]:
    """The next batch; when it marks ``who`` (the round after the stop: one may have been
    signed before it), it marks only ``who`` and goes through ``appendBatchAbsent``. Returns
    ``missedRounds(who)`` after it and its receipt."""
    sset = env.seqset().functions
    fn, absent, rcpt = _appended(env, _batch(env, current))
    members = list(sset.activeSigners().call(block_identifier=rcpt["blockNumber"] - 1))
    if absent:
        assert fn == "appendBatchAbsent" and absent == 1 << members.index(who), (fn, absent)
    return int(sset.missedRounds(who).call()), rcpt


def test_stopped_member_is_counted_on_l1_with_each_batch(env: RollupEnv) -> None:
    _, current, victim = _silence_one(env)
    who = victim.signer.address
    counts = [_missed_batch(env, current, who)[0]]
    if counts[0] == 0:
        counts.append(_missed_batch(env, current, who)[0])
    assert counts[-1] == 1, counts
    assert env.prod.c("locking_pool").functions.isActive(who).call()  # 1 of 3: still a member


@pytest.mark.slow
def test_stopped_member_is_removed_after_miss_limit_batches(env: RollupEnv) -> None:
    sset, pool = env.seqset().functions, env.prod.c("locking_pool").functions
    assert int(sset.missLimit().call()) == MISS_LIMIT
    nodes, current, victim = _silence_one(env)
    who = victim.signer.address
    stake0 = env.stake(who)
    counts: list[int] = []
    while pool.isActive(who).call():
        assert len(counts) < MISS_LIMIT + 2, f"still active after {counts}"
        count, rcpt = _missed_batch(env, current, who)
        counts.append(count)
    assert counts[-1] == 0 and counts[:-1][-(MISS_LIMIT - 1) :] == list(range(1, MISS_LIMIT))
    (ev,) = env.seqset().events.MissedRoundsRemoved().process_receipt(rcpt, errors=DISCARD)
    assert (ev.args.signer, ev.args.missed) == (who, MISS_LIMIT)
    assert int(pool.statusOf(who).call()) == KICKED
    assert who not in sset.activeSigners().call()
    assert env.stake(who) == stake0  # kicked, not slashed: claimable after the delay
    # The three left still hold the old key set's threshold: batches go on, nobody absent.
    assert _appended(env, _batch(env, current))[:2] == ("appendBatch", 0)
    # The key keepers reshare the same key to the three, shares as L1's active set derives.
    x = int(sset.groupKeyX().call())
    live = [n for n in nodes if n is not victim]

    def reshared() -> bool:
        sets = [n.frost.store.keyset_of_key(x) for n in live]
        return all(ks is not None and who not in ks.allocation for ks in sets)

    wait_until(reshared, timeout_s=60, what="the keepers' resharing without the removed member")
    ks = live[0].frost.store.keyset_of_key(x)
    want = allocation_from_l1(env.prod.c("locking_pool"))
    assert ks is not None and ks.session.startswith("reshare-")
    assert ks.threshold == want.threshold
    assert {a.lower(): list(v) for a, v in ks.allocation.items()} == {
        a.lower(): list(v) for a, v in want.identifiers.items()
    }
    assert int(sset.groupKeyX().call()) == x  # a resharing keeps the key: no transaction
    assert _appended(env, _batch(env, current))[:2] == ("appendBatch", 0)


def _post(node: NodeService, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(node.url.rstrip("/") + path, json=body, timeout=30)


def _used(node: NodeService) -> int:
    status = requests.get(node.url.rstrip("/") + "/frost/status", timeout=30).json()
    return int(status["nonces"]["used"])


def test_coordinator_marking_a_present_member_absent_gets_no_share(env: RollupEnv) -> None:
    nodes = env.start_nodes(env.signers, batcher=FAST)
    for n in nodes:
        assert n.batcher is not None
        n.batcher.stop()  # no background polls: the hostile coordinator is the test
    _fund(env, nodes[0])
    c = client(nodes[0])
    raw = ltx.sign_transfer(ALICE, env.domain, BOB.address, ltx.ETH, 1, 1, c.nonce(ALICE.address))
    c.wait_receipt(c.send(ltx.encode_tx(raw)))
    head = nodes[0].node.head
    wait_until(lambda: all(n.node.head >= head for n in nodes), what="blocks on every node")
    batcher = nodes[0].batcher
    assert batcher is not None
    l1 = env.l1()
    header = build_batch(nodes[0].node, 0, 1, head, batcher._deposit_hash, l1.data_mode()).header
    sset = env.seqset().functions
    active = list(sset.activeSigners().call())
    x = int(sset.groupKeyX().call())
    ks = nodes[0].frost.store.keyset_of_key(x)
    assert ks is not None
    commits = {
        n.signer.address: _post(n, "/frost/commit", {"session": ks.session}).json()["commitments"]
        for n in nodes
    }
    package = [cm for a in commits for cm in commits[a]]
    used = {n.signer.address: _used(n) for n in nodes}

    def ask(absent: int, pkg: list[Any], who: list[NodeService]) -> dict[str, requests.Response]:
        req = CosignRequest(
            env.chain.chain_id, l1.sc.address, 0, header.hash(), header.to_json(), absent
        )
        body = {"session": ks.session, "commitments": pkg, "cosign": req.to_json()}
        return {n.signer.address: _post(n, "/frost/sign", body) for n in who}

    # Everyone is in the package; the bitmap marks one of them (digest consistent with it).
    marked = nodes[1].signer.address
    out = ask(1 << active.index(marked), package, nodes)
    for a, r in out.items():
        assert r.status_code == 403 and r.json()["error"]["code"] == "bad_absence", r.text
        msg = r.json()["error"]["message"]
        mine = f"it marks this node {a}, which takes part"
        assert (mine if a == marked else f"it marks ['{marked}'], present") in msg, msg
    # A bit beyond the active set (L1 would revert SequencerSetBadAbsence): refused too.
    for r in ask(1 << len(active), package, nodes).values():
        assert r.status_code == 403 and r.json()["error"]["code"] == "bad_absence", r.text
        assert f"beyond the {len(active)} active signers" in r.json()["error"]["message"]
    # Leaving out a member's commitments but not marking it: refused by those in the package.
    left_out = nodes[2].signer.address
    rest = [cm for a in commits if a != left_out for cm in commits[a]]
    out = ask(0, rest, [n for n in nodes if n.signer.address != left_out])
    for r in out.values():
        assert r.status_code == 403 and r.json()["error"]["code"] == "bad_absence", r.text
        assert f"it leaves out ['{left_out}'], absent" in r.json()["error"]["message"]
    # Over /cosign, a bitmap that marks the node asked.
    req = CosignRequest(
        env.chain.chain_id, l1.sc.address, 0, header.hash(), header.to_json(), 1 << 0
    )
    r = _post(next(n for n in nodes if n.signer.address == active[0]), "/cosign", req.to_json())
    assert r.status_code == 403 and r.json()["error"]["code"] == "bad_absence", r.text
    # Nothing signed, no nonce burnt, nothing on L1, nobody counted.
    assert {n.signer.address: _used(n) for n in nodes} == used
    assert l1.next_index() == 0
    assert all(int(sset.missedRounds(a).call()) == 0 for a in active)
    # The same commitments with the package's own bitmap (0): every member signs.
    out = ask(0, package, nodes)
    assert all(r.status_code == 200 for r in out.values()), [r.text for r in out.values()]
    # The honest batcher's own round appends that very header, nobody absent.
    wait_until(lambda: batcher.tick()["action"] == "appended", what="the honest batch on L1")
    assert l1.get_header_from_event(0).hash() == header.hash()
    assert _appended(env, 0)[:2] == ("appendBatch", 0)
