"""The explorer in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, installed by ``make browser-deps``) driven by selenium, during a demo-like
run (a node per active sequencer, deposits, transfers, a withdrawal, batches on L1).

Each page is loaded as a user would, checked for what a user would check (the current
sequencer is the L1's, each batch's status is the L1's, a searched transaction shows its block,
the links lead to their detail pages), screenshotted into ``build/explorer-screenshots/``, and
the test fails on any console error.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from offchain.devnet import Devnet
from offchain.explorer.l1 import BATCH_STATUS
from offchain.explorer.service import Explorer
from offchain.paths import repo_root
from tests.helpers.explorer import RollupRun, emeth_run, explorer_for, wait_for

SHOTS = repo_root() / "build" / "explorer-screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (CHROMIUM and DRIVER):
        if os.environ.get("CI"):
            pytest.fail("chromium/chromedriver missing in CI: `make browser-deps` installs them")
        pytest.skip("chromium not installed (run `make browser-deps` as root)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1400,1000", "--disable-extensions", "--no-first-run"):  # fmt: skip
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(executable_path=str(DRIVER)), options=opts)
    drv.set_page_load_timeout(30)
    try:
        yield drv
    finally:
        drv.quit()


@pytest.fixture(scope="module")
def scene() -> Iterator[tuple[Devnet, RollupRun, Explorer, dict[str, str]]]:
    with (
        Devnet(ephemeral=True, log=lambda *a: None) as d,
        RollupRun(d, max_batch_txs=30) as r,
        emeth_run(d) as (stack, _jobs),
    ):
        r.fund(3)
        hs = r.transfers(70)
        wh = r.withdraw()
        wait_for(lambda: r.contracts.l1().next_index() >= 3, 60, "three batches on L1")
        with explorer_for(d, node_url=r.url, el_url=stack.url) as ex:
            wait_for(lambda: ex.store.scalar("SELECT COUNT(*) FROM batches") >= 3, 30, "indexed")
            wait_for(lambda: ex.store.one("SELECT 1 FROM l2_txs WHERE hash = ?", wh), 30, "tx")
            wait_for(lambda: ex.store.get("emeth_tickets"), 30, "Tickets indexed")
            wait_for(lambda: ex.store.get("emeth_nodes"), 30, "EMETH nodes indexed")
            yield d, r, ex, {"transfer": hs[7], "withdrawal": wh}


def _errors(browser: Any) -> list[dict[str, Any]]:
    return [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def _visit(browser: Any, url: str, shot: str) -> None:
    browser.get(url)
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / f"{shot}.png"))
    errs = _errors(browser)
    assert not errs, f"console errors on {url}: {errs}"


@pytest.mark.slow  # ~45 s with the EMETH stack; CI runs it through `make browser-test`
def test_every_page_in_a_browser(browser: Any, scene: Any) -> None:
    d, run, ex, txs = scene
    base = ex.url
    sset = run.contracts.seqset()
    sc = run.contracts.l1()

    _visit(browser, base + "/", "overview")
    assert "The system at a glance" in browser.find_element(By.TAG_NAME, "h1").text

    _visit(browser, base + "/sequencers", "sequencers")
    cur = browser.find_element(By.ID, "current-sequencer")
    assert cur.get_attribute("data-address") == sset.functions.currentSequencer().call()
    rows = browser.find_elements(By.CSS_SELECTOR, "#sequencers tr[data-signer]")
    assert {r.get_attribute("data-signer") for r in rows} >= set(
        sset.functions.activeSigners().call()
    )

    _visit(browser, base + "/batches", "batches")
    shown = browser.find_elements(By.CSS_SELECTOR, "table.batches tr[data-batch]")
    assert len(shown) >= 3
    for r in shown:
        i = int(r.get_attribute("data-batch"))
        status = r.find_element(By.CSS_SELECTOR, ".batch-status").text
        assert status == BATCH_STATUS[int(sc.batch_status(i))], f"batch {i}"

    shown[0].find_element(By.CSS_SELECTOR, "td a").click()  # the index links to the batch
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Batch #")
    _visit(browser, browser.current_url, "batch")

    _visit(browser, base + "/l2", "l2")
    first_tx = browser.find_element(By.CSS_SELECTOR, "table.txs tr[data-tx] td a")
    first_tx.click()  # a hash links to its detail page
    assert browser.find_element(By.TAG_NAME, "h1").text == "L2 transaction"

    # Search a transaction by hash from the box in the header: its page shows its block.
    browser.get(base + "/")
    box = browser.find_element(By.ID, "q")
    box.send_keys(txs["transfer"], Keys.ENTER)
    wait_for(lambda: "/l2/tx/" in browser.current_url, 10, "the tx page")
    rec = run.client().receipt(txs["transfer"])
    assert rec is not None
    assert browser.find_element(By.ID, "tx-block").get_attribute("data-block") == str(
        rec["blockNumber"]
    )
    _visit(browser, browser.current_url, "tx")

    browser.find_element(By.CSS_SELECTOR, "#tx-block a").click()
    assert browser.find_element(By.ID, "block-number").get_attribute("data-number") == str(
        rec["blockNumber"]
    )
    _visit(browser, browser.current_url, "block")

    _visit(browser, f"{base}/l2/tx/{txs['withdrawal']}", "withdrawal")
    assert browser.find_element(By.ID, "withdrawal").is_displayed()

    _visit(browser, f"{base}/address/{run.users[0].address}", "address")
    assert browser.find_element(By.ID, "nonce").text == str(
        run.client().nonce(run.users[0].address)
    )

    _visit(browser, base + "/bridge", "bridge")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#deposits tr")) >= 4

    _visit(browser, base + "/emeth", "emeth")
    tickets = browser.find_elements(By.CSS_SELECTOR, "#tickets tr[data-ticket]")
    assert tickets and all("settled" in t.text and "not settled" not in t.text for t in tickets)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#nodes tr")) >= 3  # header + 2 nodes
    browser.find_element(By.CSS_SELECTOR, "table.jobs tr.sub td a").click()  # a SubJob
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("EMETH job")
    _visit(browser, browser.current_url, "subjob")


@pytest.mark.slow
def test_bad_input_pages_in_a_browser(browser: Any, scene: Any) -> None:
    _, _, ex, _ = scene
    for path, status in (("/search?q=hello", "400"), ("/l2/tx/0x" + "ab" * 32, "404")):
        browser.get(ex.url + path)
        assert browser.find_element(By.ID, "error-title").text.startswith(status)
        # The only console line allowed is the browser's own note of the error status.
        for e in _errors(browser):
            assert f"status of {status}" in e["message"], e
    _visit(browser, ex.url + "/", "overview-after-errors")


@pytest.mark.slow
def test_screenshots_written(browser: Any) -> None:
    assert Path(SHOTS / "sequencers.png").stat().st_size > 10_000
