"""`l2kit devnet up`, `l2kit demo` and the CLI's one-line errors, run as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from offchain.chain.anvil import free_port, port_in_use

CLI = [sys.executable, "-m", "offchain.cli"]


def _run(args: list[str], timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        CLI + args,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
        check=False,
    )


def _assert_one_line_error(p: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert p.returncode != 0, p.stdout
    assert "Traceback" not in p.stderr + p.stdout
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert lines and lines[0].startswith("error: "), p.stderr
    assert len(lines) <= 2, p.stderr  # the error, and at most one "hint:" line
    for n in needles:
        assert n in p.stderr, p.stderr


def test_devnet_up_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    rpc_port, storage_port, explorer_port = free_port(), free_port(), free_port()
    data = tmp_path / "devnet"
    proc = subprocess.Popen(
        [*CLI, "devnet", "up", "--port", str(rpc_port), "--storage-port", str(storage_port),
         "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # The explorer's port from the config (no flag): devnet up serves it by default.
        env={**os.environ, "L2KIT_DEVNET__EXPLORER_PORT": str(explorer_port)},
    )  # fmt: skip
    try:
        info_file = data / "devnet.json"
        deadline = time.monotonic() + 90
        while not info_file.exists():
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "devnet.json never appeared"
            time.sleep(0.1)
        info = json.loads(info_file.read_text())
        assert info["rpc_url"] == f"http://127.0.0.1:{rpc_port}"
        r = requests.post(
            info["rpc_url"],
            json={"jsonrpc": "2.0", "id": 1, "method": "eth_getCode",
                  "params": [info["contracts"]["reverter"], "latest"]},
            timeout=5,
        ).json()  # fmt: skip
        assert len(r["result"]) > 2, "the reverter contract is deployed"
        assert requests.get(f"{info['storage_url']}/health", timeout=5).json()["status"] == "ok"
        put = requests.put(f"{info['storage_url']}/blobs", data=b"devnet", timeout=5)
        assert put.status_code == 201
        assert info["explorer_url"] == f"http://127.0.0.1:{explorer_port}/"
        page = requests.get(info["explorer_url"] + "sequencers", timeout=10)
        assert page.status_code == 200 and 'id="current-sequencer"' in page.text
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "devnet stopped" in out
    assert "Traceback" not in err
    assert not port_in_use(rpc_port) and not port_in_use(storage_port)
    assert not port_in_use(explorer_port)
    assert not (data / "devnet.json").exists()
    assert (data / "deployment.json").exists()


@pytest.mark.slow  # every domain's scene: about a minute (`make test-all`, or `make demo` itself)
def test_demo_exits_zero() -> None:
    p = _run(["demo"], timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "demo finished" in p.stdout
    assert "Traceback" not in p.stderr


def test_port_taken_is_one_line(anvil: object) -> None:
    port = anvil.port  # type: ignore[attr-defined]
    p = _run(["devnet", "up", "--port", str(port), "--storage-port", str(free_port())])
    _assert_one_line_error(p, f"port {port} is already in use")


def test_anvil_missing_is_one_line(tmp_path: Path) -> None:
    p = _run(
        ["devnet", "up", "--port", str(free_port()), "--storage-port", str(free_port()),
         "--data-dir", str(tmp_path)],
        L2KIT_ANVIL="/nonexistent",
    )  # fmt: skip
    _assert_one_line_error(p, "Anvil not found", "/nonexistent")


def test_deploy_to_wrong_rpc_url_is_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
    p = _run(["deploy", "--rpc-url", url, "--key", key])
    _assert_one_line_error(p, f"cannot reach the L1 RPC at {url}")


def test_help_lists_every_command() -> None:
    p = _run(["--help"])
    assert p.returncode == 0
    for cmd in ("compile", "deploy", "demo", "devnet", "storage"):
        assert cmd in p.stdout


@pytest.mark.parametrize("args", [["storage", "get", "0x12"], ["deploy", "--key", "nope"]])
def test_bad_input_is_one_line(args: list[str]) -> None:
    _assert_one_line_error(_run(args))
