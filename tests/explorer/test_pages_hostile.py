"""The pages over an index holding hostile or odd content (strings anyone can put on L1 or in
the execution layer: a job's program id, an event argument), with no chain at all: markup must
come out escaped, odd numbers must not 500, an empty index must render every page."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from offchain.common.http import BackgroundServer
from offchain.explorer.app import create_app, eth
from offchain.explorer.sources import SourceBoard
from offchain.explorer.store import IndexStore
from offchain.explorer.views import Views

XSS = '<script>alert("x")</script>'
PAGES = ["/", "/sequencers", "/batches", "/l2", "/bridge", "/emeth", "/health"]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, IndexStore]]:
    store = IndexStore(tmp_path / "ix.sqlite")
    board = SourceBoard({"l1": "http://127.0.0.1:1", "node": "", "el": ""})
    srv = BackgroundServer(create_app(Views(store, board, None, {}), refresh_s=0)).start()
    try:
        yield srv.url, store
    finally:
        srv.stop()


def test_an_empty_index_renders_every_page(site: tuple[str, IndexStore]) -> None:
    url, _ = site
    for p in PAGES:
        r = requests.get(url + p, timeout=10)
        assert r.status_code == 200, (p, r.text[:300])


def test_hostile_strings_come_out_escaped(site: tuple[str, IndexStore]) -> None:
    url, store = site
    job = {"jobId": "0xab", "parentId": None, "subIndex": None, "requester": XSS,
           "programId": XSS, "fee": "1" + "0" * 40, "state": XSS, "node": None, "fuel": None,
           "ticketId": None, "createdAt": 0, "children": 0}  # fmt: skip
    store.put("emeth_jobs", [job])
    store.put("emeth_tickets", [{"ticketId": 1, "node": XSS, "jobCount": XSS, "fuel": -1}])
    store.put("sequencers", {"current": XSS, "epoch": XSS, "epochEnd": "soon", "sequencers": []})
    ev = {"id": "0x1:0", "block": 1, "log_index": 0, "tx_hash": "0x" + "1" * 64,
          "contract": "locking_pool", "event": "Locked",
          "args": {"signer": XSS, "amount": "x", "total": 10**30}, "ts": 0}  # fmt: skip
    with store.tx() as c:
        store.add_event(c, ev)
    for p in ["/", "/emeth", "/emeth/jobs/0xab", "/emeth/tickets/1", "/sequencers",
              "/l1/tx/0x" + "1" * 64]:  # fmt: skip
        r = requests.get(url + p, timeout=10)
        assert r.status_code == 200, (p, r.text[:300])
        assert "<script>alert" not in r.text, p
    assert "&lt;script&gt;" in requests.get(url + "/emeth", timeout=10).text


def test_a_down_source_is_named_on_every_page(site: tuple[str, IndexStore]) -> None:
    url, _ = site
    for p in PAGES[:-1]:
        text = requests.get(url + p, timeout=10).text
        assert 'data-source="node"' in text and "not configured" in text
    health = requests.get(url + "/health", timeout=10).json()
    assert health["node"]["configured"] is False and "health" not in health["node"]


@pytest.mark.parametrize(
    ("wei", "shown"),
    [(0, "0"), (1007, "1,007 wei"), (10**18, "1"), (5 * 10**15, "0.005"), ("12e17", "1.2")],
)
def test_amounts_are_never_rounded_to_a_misleading_zero(wei: object, shown: str) -> None:
    assert eth(wei) == shown


def test_countdowns_move_on_an_idle_l1(site: tuple[str, IndexStore]) -> None:
    """No new L1 block for 30 s: the clock is the latest block's time plus those 30 s."""
    url, store = site
    store.put("l1_head", {"number": 5, "timestamp": 1_000, "seenAt": time.time() - 30})
    store.put("sequencers", {"current": None, "epochEnd": 1_100, "heartbeatDeadline": 1_010,
                             "sequencers": []})  # fmt: skip
    page = requests.get(url + "/sequencers", timeout=10).text
    lefts = [int(x) for x in re.findall(r'class="countdown" data-left="(-?\d+)"', page)]
    assert lefts[:2] in ([70, -20], [69, -21])


def test_a_page_that_fails_answers_500_at_once(site: tuple[str, IndexStore]) -> None:
    """A corrupt snapshot (a bug's effect): a 500 page without a traceback, never a hung
    request."""
    url, store = site
    store.put("sequencers", {"sequencers": [{"signer": 1}]})  # no stake, no status
    t0 = time.monotonic()
    r = requests.get(url + "/sequencers", timeout=10)
    assert time.monotonic() - t0 < 5
    assert r.status_code == 500 and 'id="error-message"' in r.text
    assert "Traceback" not in r.text
    assert requests.get(url + "/batches", timeout=10).status_code == 200  # the rest still up
