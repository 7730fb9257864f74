"""``l2kit explorer`` as a user runs it: one-line errors, and serving with every source down."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from offchain.chain.anvil import free_port, port_in_use

CLI = [sys.executable, "-m", "offchain.cli", "explorer"]


def _one_line_error(p: subprocess.CompletedProcess[str], needle: str) -> None:
    assert p.returncode != 0
    assert "Traceback" not in p.stderr + p.stdout
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert lines and lines[0].startswith("error: ") and len(lines) <= 2, p.stderr
    assert needle in p.stderr, p.stderr


def _deployment(tmp_path: Path) -> Path:
    f = tmp_path / "deployment.json"
    f.write_text(json.dumps({
        "chain_id": 31337, "block": 1, "deployer": "0x" + "11" * 20,
        "addresses": {"state_commitment": "0x" + "22" * 20, "sequencer_set": "0x" + "33" * 20},
        "contracts": {"state_commitment": "StateCommitment", "sequencer_set": "SequencerSet"},
    }))  # fmt: skip
    return f


def test_missing_deployment_file_is_one_line(tmp_path: Path) -> None:
    p = subprocess.run([*CLI, "--deployment", str(tmp_path / "nope.json"), "--port", "0"],
                       capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    _one_line_error(p, "no deployment file")


def test_taken_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        p = subprocess.run(
            [*CLI, "--deployment", str(_deployment(tmp_path)), "--port", str(port),
             "--db", str(tmp_path / "ix.sqlite")],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    _one_line_error(p, "already in use")


def test_serves_with_every_source_down_and_stops_on_sigterm(tmp_path: Path) -> None:
    port, dead = free_port(), free_port()
    proc = subprocess.Popen(
        [*CLI, "--deployment", str(_deployment(tmp_path)), "--port", str(port),
         "--rpc-url", f"http://127.0.0.1:{dead}", "--node-url", f"http://127.0.0.1:{dead}/",
         "--el-url", f"http://127.0.0.1:{dead}", "--db", str(tmp_path / "ix.sqlite")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "L2KIT_LOG_LEVEL": "error"},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        page = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                page = requests.get(f"http://127.0.0.1:{port}/batches", timeout=5)
                if "L1 RPC is down" in page.text:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        assert page is not None and page.status_code == 200
        for name in ("L1 RPC", "rollup node RPC", "EMETH execution layer"):
            assert f"{name} is down" in page.text
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 503
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "explorer stopped" in out and "Traceback" not in err
    assert not port_in_use(port)
