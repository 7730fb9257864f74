"""A dApp page in a real headless Chromium (Debian's ``chromium`` + ``chromedriver``, driven by
selenium, as the explorer's browser test) uses viem in the browser (bundled by esbuild from the
npm packages) against a running node: reads a balance and sends a transfer (the node answers
the page's cross-origin JSON-RPC with CORS headers)."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from offchain.chain.accounts import dev_account
from offchain.rollup.node.service import NodeService
from tests.rollup.conftest import RollupEnv, client, wait_until
from tests.rollup.test_wallet_js import JS, _has, _node_path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
ALICE, BOB = dev_account(10), dev_account(11)


def _esbuild() -> str | None:
    for p in _node_path().split(os.pathsep):
        exe = Path(p) / ".bin" / "esbuild"
        if exe.exists():
            return str(exe)
    return None


@pytest.fixture
def page_dir(tmp_path: Path) -> Path:
    if not (CHROMIUM and DRIVER):
        if os.environ.get("CI"):
            pytest.fail("chromium/chromedriver missing in CI: `make browser-deps` installs them")
        pytest.skip("chromium not installed (run `make browser-deps` as root)")
    esbuild = _esbuild()
    if esbuild is None or not _has("viem"):
        pytest.skip("npm packages viem / esbuild not installed (npm ci installs them)")
    subprocess.run(
        [esbuild, str(JS / "viem_browser_entry.js"), "--bundle", "--format=iife",
         "--global-name=viemBundle", f"--outfile={tmp_path / 'viem.js'}", "--log-level=warning"],
        check=True, timeout=120, env={**os.environ, "NODE_PATH": _node_path()},
    )  # fmt: skip
    shutil.copy(JS / "viem_page.html", tmp_path / "index.html")
    return tmp_path


@pytest.fixture
def page_server(page_dir: Path) -> Iterator[str]:
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(page_dir))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/index.html"
    finally:
        srv.shutdown()


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--disable-extensions", "--no-first-run"):  # fmt: skip
        opts.add_argument(a)
    drv = webdriver.Chrome(service=Service(executable_path=str(DRIVER)), options=opts)
    drv.set_page_load_timeout(30)
    try:
        yield drv
    finally:
        drv.quit()


@pytest.mark.slow  # chromium start + a viem bundle; run by make test-all / browser-test
def test_viem_in_chromium_reads_balance_and_sends(
    rollup_env: RollupEnv, page_server: str, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    env = rollup_env
    (svc,) = env.start_nodes(env.signers[:1])
    env.bridge(ALICE).deposit_eth(ALICE.address, 2 * 10**18)
    wait_until(lambda: client(svc).balance(ALICE.address) == 2 * 10**18, what="deposit")
    node: NodeService = svc
    key = "0x" + bytes(ALICE.key).hex()
    browser.get(f"{page_server}?rpc={node.url}&key={key}&to={BOB.address}")
    deadline = time.monotonic() + 60
    text = "running"
    while time.monotonic() < deadline:
        text = browser.find_element(By.ID, "out").text
        if text != "running":
            break
        time.sleep(0.2)
    res = json.loads(text)
    assert res["ok"], res.get("error")
    w3 = Web3(Web3.HTTPProvider(node.url))
    assert res["chainId"] == w3.eth.chain_id and res["balance"] == str(2 * 10**18)
    assert res["status"] == "success" and res["toBalance"] == str(3 * 10**15)
    assert w3.eth.get_transaction_receipt(res["hash"])["status"] == 1
    assert w3.eth.get_balance(BOB.address) == 3 * 10**15
