"""The explorer's indexer and pages on a devnet run: real contracts on Anvil, one real node per
active sequencer (with its batcher), the explorer reading them through public interfaces only.

Each test tries to make the explorer show something other than what the L1 / the node says:
a batch whose status differs from ``StateCommitment.batchStatus``, a transaction in the wrong
block, an event from an orphaned L1 block, a duplicate after a restart, a source silently
down, a 500 on bad input.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from offchain.bridge.client import BridgeClient
from offchain.chain.accounts import dev_account
from offchain.chain.anvil import free_port
from offchain.devnet import Devnet
from offchain.explorer.l1 import BATCH_STATUS, DA_MODE
from offchain.explorer.service import Explorer
from offchain.explorer.store import SCHEMA_VERSION, IndexStore
from tests.helpers.explorer import E18, RollupRun, explorer_for, wait_for


@dataclass
class Run:
    devnet: Devnet
    rollup: RollupRun
    transfers: list[str]
    withdrawal: str


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    with Devnet(ephemeral=True, log=lambda *a: None) as d, RollupRun(d, max_batch_txs=25) as r:
        r.fund(3)
        hs = r.transfers(60)
        wh = r.withdraw()
        sc = r.contracts.l1()
        wait_for(lambda: sc.next_index() >= 3, 60, "three batches on L1")
        yield Run(d, r, hs, wh)


def _served(run: Run) -> Iterator[Explorer]:
    ex = explorer_for(run.devnet, node_url=run.rollup.url)
    ex.server.start()  # the indexer is driven by the test (catch_up), not its thread
    try:
        ex.indexer.catch_up()
        yield ex
    finally:
        ex.stop()


@pytest.fixture(scope="module")
def explorer(run: Run) -> Iterator[Explorer]:
    """Shared by the tests that only read."""
    yield from _served(run)


@pytest.fixture
def own_explorer(run: Run) -> Iterator[Explorer]:
    """For a test that moves the chain (its index does not outlive the test)."""
    yield from _served(run)


def _get(ex: Explorer, path: str) -> requests.Response:
    return requests.get(ex.url + path, timeout=10)


def test_every_batch_on_l1_is_indexed_with_its_l1_status(run: Run, explorer: Explorer) -> None:
    sc = run.rollup.contracts.l1()
    n = sc.next_index()
    rows = {b["idx"]: b for b in explorer.store.batches(limit=1000) if b["status"] != "invalid"}
    assert sorted(rows) == list(range(n))
    for i, b in rows.items():
        assert sc.header_matches(i, bytes.fromhex(b["header_hash"][2:]))
        assert b["status"] == BATCH_STATUS[int(sc.batch_status(i))]
    page = _get(explorer, "/batches").text
    for i, b in rows.items():
        assert re.search(rf'data-batch="{i}" data-status="{b["status"]}"', page)
    mode = DA_MODE[int(sc.sc.functions.dataMode().call())]
    assert {b["da_mode"] for b in rows.values()} == {mode}
    assert f'id="da-mode">{mode}<' in page


def test_a_batch_turns_final_on_the_page_when_l1_says_so(run: Run, own_explorer: Explorer) -> None:
    explorer = own_explorer
    chain = run.devnet.chain
    assert chain is not None
    sc = run.rollup.contracts.l1()
    snap = chain.rpc("evm_snapshot")
    try:
        assert explorer.store.batches(limit=1)[0]["status"] == "pending"
        chain.rpc("evm_increaseTime", sc.challenge_window_s() + 1)
        chain.rpc("evm_mine")
        explorer.indexer.catch_up()
        assert int(sc.batch_status(0)) == 2
        page = _get(explorer, "/batches/0").text
        assert 'id="batch-status">final<' in page
    finally:
        chain.rpc("evm_revert", snap)


def _set_window(run: Run, seconds: int) -> None:
    """The StateCommitment owner changes the challenge window (impersonated on Anvil)."""
    chain = run.devnet.chain
    assert chain is not None
    sc = run.rollup.contracts.l1().sc
    owner = sc.functions.owner().call()
    chain.rpc("anvil_impersonateAccount", owner)
    chain.rpc("anvil_setBalance", owner, hex(10**18))
    try:
        tx = sc.functions.setChallengeWindow(seconds).transact({"from": owner})
        chain.w3.eth.wait_for_transaction_receipt(tx)
    finally:
        chain.rpc("anvil_stopImpersonatingAccount", owner)


def test_batch_status_follows_a_changed_challenge_window(run: Run, own_explorer: Explorer) -> None:
    """Whatever the contract does with a window change (a pending batch keeps its own window,
    issue #10), the page says what ``finalizesAt`` and ``batchStatus`` say."""
    explorer = own_explorer
    chain = run.devnet.chain
    assert chain is not None
    sc = run.rollup.contracts.l1()
    old = sc.challenge_window_s()
    snap = chain.rpc("evm_snapshot")
    try:
        _set_window(run, 50 * old)
        n0 = sc.next_index()
        run.rollup.transfers(3)  # a batch appended under the new window
        wait_for(lambda: sc.next_index() > n0, 60, "a batch under the new window")
        chain.rpc("evm_increaseTime", old + 1)
        chain.rpc("evm_mine")
        explorer.indexer.catch_up()
        now = int(chain.w3.eth.get_block("latest")["timestamp"])
        for i in (0, n0):
            page = _get(explorer, f"/batches/{i}").text
            status = page.split('id="batch-status">', 1)[1].split("<", 1)[0]
            assert status == BATCH_STATUS[int(sc.batch_status(i))], i
            if status == "pending":
                left = int(re.search(r'class="countdown" data-left="(-?\d+)"', page).group(1))  # type: ignore[union-attr]
                assert abs(left - (sc.finalizes_at(i) - now)) <= 3, i
        assert sc.batch_status(n0).name == "PENDING"  # 50 windows: still pending
    finally:
        chain.rpc("evm_revert", snap)


def test_each_transaction_is_shown_in_the_block_the_node_reports(
    run: Run, explorer: Explorer
) -> None:
    c = run.rollup.client()
    for h in [*run.transfers[:: len(run.transfers) // 5], run.withdrawal]:
        rec = c.receipt(h)
        assert rec is not None
        row = explorer.store.one("SELECT block, idx FROM l2_txs WHERE hash = ?", h)
        assert row == {"block": rec["blockNumber"], "idx": rec["transactionIndex"]}
        page = _get(explorer, f"/search?q={h}")
        assert page.status_code == 200 and page.url.endswith(f"/l2/tx/{h}")
        assert f'data-block="{rec["blockNumber"]}"' in page.text


def test_a_batched_transaction_has_its_merkle_proof_verified_against_the_l1_root(
    run: Run, explorer: Explorer
) -> None:
    sc = run.rollup.contracts.l1()
    checked = 0
    for h in run.transfers[::10]:
        row = explorer.store.one("SELECT block FROM l2_txs WHERE hash = ?", h)
        assert row is not None
        b = explorer.store.batch_of_block(row["block"])
        if b is None:
            continue  # not batched yet
        assert sc.header_matches(b["idx"], bytes.fromhex(b["header_hash"][2:]))
        page = _get(explorer, f"/l2/tx/{h}").text
        assert 'id="tx-proof" data-verified="yes"' in page, page.split('id="tx-proof"')[1][:300]
        checked += 1
    assert checked >= 3


def test_every_link_leads_to_a_page(run: Run, explorer: Explorer) -> None:
    """Crawl each top page's links (hashes, addresses, blocks, batches): none is a dead end."""
    seen: set[str] = set()
    for top in ("/", "/sequencers", "/batches", "/batches/0", "/l2", "/bridge",
                f"/l2/tx/{run.withdrawal}", f"/address/{run.rollup.users[0].address}"):  # fmt: skip
        for href in re.findall(r'href="(/[^"]*)"', _get(explorer, top).text):
            href = href.replace("&amp;", "&")
            if href in seen:
                continue
            seen.add(href)
            r = _get(explorer, href)
            assert r.status_code == 200, (top, href, r.text[:200])
    assert len(seen) > 30


def test_current_sequencer_shown_is_the_l1_one(run: Run, explorer: Explorer) -> None:
    sset = run.rollup.contracts.seqset()
    cur = sset.functions.currentSequencer().call()
    page = _get(explorer, "/sequencers").text
    assert f'id="current-sequencer" data-address="{cur}"' in page
    active = sset.functions.activeSigners().call()
    for a in active:
        assert f'data-signer="{a}"' in page


def test_withdrawal_status_follows_its_batch(run: Run, explorer: Explorer) -> None:
    page = _get(explorer, f"/l2/tx/{run.withdrawal}").text
    assert 'id="withdrawal"' in page
    assert "not batched yet" in page or ">pending<" in page
    assert "available: leaf" in page or "not available" in page


def test_l1_reorg_drops_the_orphaned_events(run: Run, own_explorer: Explorer) -> None:
    explorer = own_explorer
    chain = run.devnet.chain
    assert chain is not None
    snap = chain.rpc("evm_snapshot")
    alice = dev_account(20)
    bridge = BridgeClient(chain, run.rollup.contracts.bridge, chain.sender(alice))
    try:
        bridge.deposit_eth(alice.address, E18 // 10)
        explorer.indexer.catch_up()
        ids = [e["id"] for e in explorer.store.events(["DepositQueued"], limit=1000)]
        orphan = ids[0]
        chain.rpc("evm_revert", snap)
        snap = chain.rpc("evm_snapshot")
        for _ in range(3):  # the other branch is longer
            chain.rpc("evm_mine")
        explorer.indexer.catch_up()
        after = [e["id"] for e in explorer.store.events(["DepositQueued"], limit=1000)]
        assert orphan not in after
        assert len(after) == len(ids) - 1
    finally:
        chain.rpc("evm_revert", snap)


def test_restart_resumes_without_duplicates(run: Run, own_explorer: Explorer) -> None:
    explorer = own_explorer
    n_events = explorer.store.scalar("SELECT COUNT(*) FROM events")
    n_txs = explorer.store.scalar("SELECT COUNT(*) FROM l2_txs")
    explorer.stop()
    again = Explorer(explorer.config, run.devnet.deployment)
    again.indexer.catch_up()
    assert again.store.scalar("SELECT COUNT(*) FROM events") == n_events
    assert again.store.scalar("SELECT COUNT(*) FROM l2_txs") >= n_txs
    assert again.indexer.l1.follower is not None
    assert again.indexer.l1.follower.stats["delivered"] == 0  # resumed from its cursor


def test_a_source_down_is_named_and_the_others_still_indexed(run: Run) -> None:
    dead = f"http://127.0.0.1:{free_port()}/"
    ex = explorer_for(run.devnet, node_url=dead, el_url=dead)
    ex.server.start()
    try:
        ex.indexer.catch_up()
        assert {s.name: s.state for s in ex.board.all()} == {
            "l1": "ok",
            "node": "down",
            "el": "down",
        }
        assert ex.store.scalar("SELECT COUNT(*) FROM batches") >= 3
        for path in ("/", "/l2", "/emeth", "/batches"):
            r = _get(ex, path)
            assert r.status_code == 200, path
            assert 'data-source="node"' in r.text and "rollup node RPC is down" in r.text
            assert 'data-source="el"' in r.text
        h = _get(ex, "/health")
        assert h.status_code == 503 and h.json()["status"] == "down"
        assert [f.split(":")[0] for f in h.json()["failing"]] == ["node", "el"]
        assert h.json()["l1"]["health"]["state"] == "ok"
        addr = _get(ex, f"/address/{run.rollup.users[0].address}")
        assert addr.status_code == 200 and "balances unavailable" in addr.text
    finally:
        ex.stop()


def test_l1_down_then_back(run: Run) -> None:
    ex = explorer_for(run.devnet)
    ex.config.rpc_url = f"http://127.0.0.1:{free_port()}"
    ex.server.start()
    try:
        ex.indexer.step()
        assert {s.name: s.state for s in ex.board.all()}["l1"] == "down"
        r = _get(ex, "/sequencers")
        assert r.status_code == 200 and "L1 RPC is down" in r.text
        assert run.devnet.anvil is not None
        ex.config.rpc_url = run.devnet.anvil.url
        ex.indexer.catch_up()
        assert ex.board.is_ok("l1")
        assert "L1 RPC is down" not in _get(ex, "/sequencers").text
    finally:
        ex.stop()


BAD = [
    ("/l2/tx/0x12", 400), ("/l2/tx/zz", 400), ("/l2/tx/0x" + "ab" * 32, 404),
    ("/l2/block/-1", 400), ("/l2/block/1e9", 400), ("/l2/block/99999999", 404),
    ("/batches/abc", 400), ("/batches/999999", 404), ("/batches?page=0", 400),
    ("/batches?page=x", 400), ("/batches?page=9999", 404), ("/address/0x12", 400),
    ("/address/" + "g" * 42, 400), ("/l1/tx/0x" + "cd" * 32, 404), ("/l1/tx/1", 400),
    ("/search?q=", 400), ("/search?q=hello", 400), ("/search?q=%27%3B--", 400),
    ("/emeth/jobs/zz", 400), ("/emeth/jobs/0xabc", 404), ("/emeth/tickets/x", 400),
    ("/emeth/tickets/7", 404), ("/emeth/tickets/" + "9" * 40, 404),
    ("/emeth/tickets/" + "9" * 79, 400), ("/l2/block/" + "9" * 19, 400),
    ("/no/such/page", 404), ("/l2/tx/" + "0x" + "0" * 5000, 400),
]  # fmt: skip


@pytest.mark.parametrize(("path", "status"), BAD, ids=[p[:40] for p, _ in BAD])
def test_bad_input_gets_a_clear_page_never_a_500(
    explorer: Explorer, path: str, status: int
) -> None:
    r = _get(explorer, path)
    assert r.status_code == status, (path, r.text[:300])
    assert r.headers["content-type"].startswith("text/html")
    assert 'id="error-message"' in r.text and "Traceback" not in r.text


def test_an_index_of_another_schema_version_is_rebuilt(tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "ix.sqlite")
    store.put("l1_genesis", "0xold")
    with store.tx() as c:
        c.execute("PRAGMA user_version = 1")
    again = IndexStore(tmp_path / "ix.sqlite")
    assert again.get("l1_genesis") is None
    assert again.scalar("PRAGMA user_version") == SCHEMA_VERSION == 3
