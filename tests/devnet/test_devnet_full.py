"""``l2kit devnet up --full``: the whole system in one command, on the configured ports."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from offchain.chain.anvil import free_port, port_in_use

CLI = [sys.executable, "-m", "offchain.cli"]


def _free_run(n: int) -> int:
    while True:
        base = free_port()
        if all(not port_in_use(base + i) for i in range(n)):
            return base


@pytest.mark.slow
def test_devnetFullStartsEveryComponentAndStatusReportsThem(tmp_path: Path) -> None:
    d = tmp_path / "devnet"
    base = _free_run(4)
    cfg = tmp_path / "l2kit.json"
    cfg.write_text(json.dumps({"devnet": {
        "anvil_port": free_port(), "storage_port": free_port(), "explorer_port": free_port(),
        "el_port": free_port(), "verifier_port": free_port(), "node_base_port": base,
        "data_dir": str(d)}}))  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("L2KIT_")}
    proc = subprocess.Popen(
        [*CLI, "--config", str(cfg), "devnet", "up", "--full"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    try:
        info_file = d / "devnet.json"
        deadline = time.monotonic() + 240
        while not info_file.exists():
            assert proc.poll() is None, proc.communicate()[0][-3000:]
            assert time.monotonic() < deadline, "devnet.json never appeared"
            time.sleep(0.2)
        info = json.loads(info_file.read_text())
        nodes = [k for k in info["health"] if k.startswith("node ")]
        assert len(nodes) == 4
        assert {"verifier", "emeth", "storage", "explorer"} <= set(info["health"])
        assert info["health"][nodes[0]].startswith(f"http://127.0.0.1:{base}/")
        st = subprocess.run(
            [*CLI, "--config", str(cfg), "devnet", "status", "--json"],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        assert st.returncode == 0, st.stdout + st.stderr
        rows = {r["component"]: r["status"] for r in json.loads(st.stdout)}
        assert set(rows.values()) == {"ok"} and len(rows) == 9, rows
        # The nodes' key keepers ran a DKG at start: L1 has the set's FROST group key,
        # installed by the set itself (>2/3 ECDSA), as `l2kit sequencer status` shows.
        where = ["--rpc-url", info["rpc_url"], "--deployment", str(d / "deployment.json")]
        deadline = time.monotonic() + 90
        while True:
            ss = subprocess.run(
                [*CLI, "--config", str(cfg), "sequencer", "status", "--json", *where],
                capture_output=True, text=True, env=env, timeout=60,
            )  # fmt: skip
            assert ss.returncode == 0, ss.stdout + ss.stderr
            key = json.loads(ss.stdout)["group_key"]
            if key["x"]:
                break
            assert time.monotonic() < deadline, "no group key on L1 from the nodes' DKG"
            time.sleep(1)
        assert [i["by"] for i in key["installs"]] == ["set (>2/3 ECDSA)"], key
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out[-3000:]
    m = re.search(r"devnet up in ([0-9.]+)s", out)
    assert m and float(m.group(1)) < 60
    assert not (d / "devnet.json").exists()  # no stale endpoints left behind
