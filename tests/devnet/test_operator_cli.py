"""An operator's session on one devnet started from a config file (issue 15 regressions).

``l2kit --config F devnet up`` without port flags must use the file's ports; every other
command then needs only ``--config F``. Amounts are exact, ``--json`` is parseable, EMETH
collateral has its own commands, ``el run`` follows config and environment, and a role
whose key cannot act says so and exits non-zero.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from offchain.chain.accounts import dev_account
from offchain.chain.anvil import free_port

CLI = [sys.executable, "-m", "offchain.cli"]
TOKEN = 10**18


def _env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("L2KIT_")}
    return {**base, "COLUMNS": "80", **extra}


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    d = tmp_path_factory.mktemp("operator")
    rpc_port, storage_port = free_port(), free_port()
    cfg = d / "l2kit.json"
    cfg.write_text(
        json.dumps(
            {
                "devnet": {"anvil_port": rpc_port, "storage_port": storage_port,
                           "data_dir": str(d / "devnet")},
                "network": {"rpc_url": f"http://127.0.0.1:{rpc_port}",
                            "deployment_file": str(d / "devnet" / "deployment.json"),
                            "storage_url": f"http://127.0.0.1:{storage_port}"},
            }
        )
    )  # fmt: skip
    proc = subprocess.Popen(
        [*CLI, "--config", str(cfg), "devnet", "up"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    try:
        info_file = d / "devnet" / "devnet.json"
        deadline = time.monotonic() + 240
        while not info_file.exists():
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "devnet.json never appeared"
            time.sleep(0.1)
        info = json.loads(info_file.read_text())
        yield {"cfg": cfg, "info": info, "rpc_port": rpc_port, "dir": d,
               "storage_port": storage_port}  # fmt: skip
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def l2kit(devnet: dict[str, Any], *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--config", str(devnet["cfg"]), *args],
        capture_output=True, text=True, env=_env(**env), timeout=120,
    )  # fmt: skip


def test_devnetUpUsesConfigFilePortsWhenNoFlagGiven(devnet: dict[str, Any]) -> None:
    info = devnet["info"]
    assert info["rpc_url"] == f"http://127.0.0.1:{devnet['rpc_port']}"
    assert info["storage_url"].endswith(f":{devnet['storage_port']}")


def test_sequencerLockIsExactAndStatusJsonParses(devnet: dict[str, Any]) -> None:
    signer = "0x000000000000000000000000000000000000bEEF"
    p = l2kit(devnet, "sequencer", "lock", "25000", "--signer", signer, "--dev-account", "5")
    assert p.returncode == 0, p.stderr
    s = l2kit(devnet, "sequencer", "status", signer, "--json")
    assert s.returncode == 0, s.stderr
    data = json.loads(s.stdout)
    assert data["sequencer"]["stake_wei"] == str(25_000 * TOKEN)  # not 24999999999999997902848
    assert any(r["signer"] == signer for r in data["active"])
    table = l2kit(devnet, "sequencer", "status")  # piped, 80 columns: nothing cut
    assert signer in table.stdout and "…" not in table.stdout


def test_emethCollateralDepositWithdrawStatus(devnet: dict[str, Any]) -> None:
    node = dev_account(35)
    before = json.loads(
        l2kit(devnet, "emeth", "--dev-account", "35", "collateral", "status", "--json").stdout
    )
    p = l2kit(devnet, "emeth", "--dev-account", "35", "collateral", "deposit", "150.5", "--json")
    assert p.returncode == 0, p.stderr
    after = json.loads(p.stdout)
    assert after["node"] == node.address
    assert (
        int(after["collateral_wei"]) - int(before["collateral_wei"]) == 150_500_000_000_000_000_000
    )
    w = l2kit(devnet, "emeth", "--dev-account", "35", "collateral", "withdraw", "0.5", "--json")
    assert w.returncode == 0, w.stderr
    assert json.loads(w.stdout)["pending_wei"] == str(TOKEN // 2)
    assert int(json.loads(w.stdout)["ready_at"]) > 0


def test_agentWithAKeyThatCannotActExits(devnet: dict[str, Any]) -> None:
    # dev account 12 is no Ticket signer and no node: each role says so instead of idling.
    for role in ("signer", "node"):
        p = l2kit(devnet, "emeth", "--dev-account", "12", role, "run")
        assert p.returncode != 0 and "Traceback" not in p.stderr, (role, p.stderr)
        assert dev_account(12).address in p.stderr
    assert (
        "not an authorised Ticket signer"
        in l2kit(devnet, "emeth", "--dev-account", "12", "signer", "run").stderr
    )


@contextlib.contextmanager
def el_run(devnet: dict[str, Any], port: int, db: Path) -> Iterator[requests.Response]:
    """``emeth el run`` as its own process, its port and database from the environment;
    yields its first ``/health`` answer."""
    proc = subprocess.Popen(
        [*CLI, "--config", str(devnet["cfg"]), "emeth", "el", "run"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=_env(L2KIT_EMETH_AGENTS__EL_PORT=str(port),
                 L2KIT_EMETH_AGENTS__DB_URL=f"sqlite:///{db}"),
    )  # fmt: skip
    try:
        yield _wait_health(proc, f"http://127.0.0.1:{port}/health")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def _wait_health(proc: subprocess.Popen[str], url: str) -> requests.Response:
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            assert time.monotonic() < deadline, f"nothing listened at {url}"
            time.sleep(0.2)


def test_elRunFollowsConfigAndEnvironment(devnet: dict[str, Any]) -> None:
    db = devnet["dir"] / "el.db"
    with el_run(devnet, free_port(), db) as r:
        assert r.status_code in (200, 503) and "jobs" in r.json()
        assert db.exists()


def test_executionLayerAgentWithoutItsRoleExits(devnet: dict[str, Any]) -> None:
    port = free_port()
    el = f"http://127.0.0.1:{port}"
    with el_run(devnet, port, devnet["dir"] / "el-roles.db"):
        assert requests.get(f"{el}/roles/{dev_account(37).address}", timeout=5).json()["roles"] == [
            "verifier"
        ]
        assert requests.get(f"{el}/roles/0xnope", timeout=5).status_code == 422
        for agent, role in [("splitter", "splitter"), ("verifier", "verifier"),
                            ("timeouts", "verifier"), ("aggregator", "aggregator")]:  # fmt: skip
            p = l2kit(devnet, "emeth", "--el-url", el, "--dev-account", "12", agent, "run")
            assert p.returncode != 0 and "Traceback" not in p.stderr, (agent, p.stderr)
            assert f"not an authorised {role}" in p.stderr, (agent, p.stderr)
            assert dev_account(12).address in p.stderr
        metrics = free_port()
        ok = subprocess.Popen(
            [*CLI, "--config", str(devnet["cfg"]), "emeth", "--el-url", el,
             "--dev-account", "37", "verifier", "run", "--metrics-port", str(metrics)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
        )  # fmt: skip
        try:  # the verifier key (dev 37) holds the role: it starts and stays up
            assert _wait_health(ok, f"http://127.0.0.1:{metrics}/health").status_code == 200
        finally:
            ok.send_signal(signal.SIGTERM)
            ok.wait(timeout=30)


def test_rollupRoleWithAKeyThatCannotActExits(devnet: dict[str, Any]) -> None:
    from eth_account import Account

    node = l2kit(devnet, "rollup", "node", "run", "--dev-account", "12", "--port", "0")
    assert node.returncode != 0 and "Traceback" not in node.stderr, node.stderr
    assert "not an active signer" in node.stderr and dev_account(12).address in node.stderr
    broke = Account.create()
    v = l2kit(devnet, "rollup", "verifier", "run", "--port", "0",
              L2KIT_PRIVATE_KEY=broke.key.hex())  # fmt: skip
    assert v.returncode != 0 and "Traceback" not in v.stderr, v.stderr
    assert "holds no ETH" in v.stderr and broke.address in v.stderr


def test_agentHelpListsOnlyItsOptions(devnet: dict[str, Any]) -> None:
    signer = l2kit(devnet, "emeth", "signer", "--help").stdout
    node = l2kit(devnet, "emeth", "node", "--help").stdout
    billing = l2kit(devnet, "emeth", "billing", "--help").stdout
    assert "--interval-s" in signer and "--hold-s" not in signer
    assert "--hold-s" in node and "--interval-s" not in node
    assert "--hold-s" not in billing and "--behaviour" not in billing


def test_rootKeystoreSignsAnyCommand(devnet: dict[str, Any]) -> None:
    from eth_account import Account

    ks = devnet["dir"] / "voter6.json"
    ks.write_text(json.dumps(Account.encrypt(dev_account(6).key, "pw", kdf="pbkdf2", iterations=2)))
    signer = "0x000000000000000000000000000000000000cafE"
    p = subprocess.run(
        [*CLI, "--config", str(devnet["cfg"]), "--keystore", str(ks),
         "sequencer", "lock", "20000.000000000000000001", "--signer", signer],
        capture_output=True, text=True, env=_env(L2KIT_KEYSTORE_PASSWORD="pw"), timeout=120,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    st = json.loads(l2kit(devnet, "sequencer", "status", signer, "--json").stdout)
    assert st["sequencer"]["owner"] == dev_account(6).address
    assert st["sequencer"]["stake_wei"] == str(20_000 * TOKEN + 1)


def test_governanceStatusJson(devnet: dict[str, Any]) -> None:
    p = l2kit(devnet, "governance", "status", "--json")
    assert p.returncode == 0, p.stderr
    assert isinstance(json.loads(p.stdout), list)


def test_urlOptionsDefaultFromConfigAndFlagsOverrideOnlyWhenGiven(
    devnet: dict[str, Any],
) -> None:
    blob = devnet["dir"] / "blob.txt"
    blob.write_bytes(b"config-driven storage url")
    put = l2kit(devnet, "storage", "put", str(blob))  # no --url: network.storage_url
    assert put.returncode == 0, put.stderr
    key = put.stdout.strip()
    got = l2kit(devnet, "storage", "get", key)
    assert got.returncode == 0 and got.stdout == "config-driven storage url", got.stderr
    dead = f"http://127.0.0.1:{free_port()}"
    over = l2kit(devnet, "storage", "get", key, "--url", dead)  # the flag wins when given
    assert over.returncode != 0 and "Traceback" not in over.stderr
    # the environment layer of the config: network.el_url / network.l2_url
    job = "0x" + "ab" * 16
    el = l2kit(devnet, "emeth", "job", "status", job, L2KIT_NETWORK__EL_URL=dead)
    assert el.returncode != 0 and dead.split(":")[-1] in el.stderr, el.stderr
    assert "Traceback" not in el.stderr
    l2 = l2kit(devnet, "rollup", "status", L2KIT_NETWORK__L2_URL=dead)
    assert l2.returncode != 0 and dead.split(":")[-1] in l2.stderr, l2.stderr
    flag = l2kit(devnet, "rollup", "status", "--url", dead + "/", L2KIT_NETWORK__L2_URL="x")
    assert flag.returncode != 0 and dead.split(":")[-1] in flag.stderr, flag.stderr


def _fatal(p: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit code 3 (FatalError: a restart cannot fix it) with a one-line reason, no traceback."""
    assert p.returncode == 3, (p.returncode, p.stderr)
    assert "Traceback" not in p.stderr
    errors = [ln for ln in p.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, p.stderr
    for w in words:
        assert w in errors[0], p.stderr


AGENTS = [
    ("rollup", "node", "run", "--dev-account", "20", "--port", "0"),
    ("rollup", "verifier", "run", "--dev-account", "33", "--port", "0"),
    ("sequencer", "run", "--dev-account", "20"),
    ("emeth", "--dev-account", "30", "signer", "run"),
]


def test_agentWithBadConfigExitsFatal(devnet: dict[str, Any]) -> None:
    bad = devnet["dir"] / "bad.json"
    bad.write_text(json.dumps({"network": {"confirmations": "many"}}))
    for agent in AGENTS:
        p = subprocess.run(
            [*CLI, "--config", str(bad), *agent],
            capture_output=True, text=True, env=_env(), timeout=120,
        )  # fmt: skip
        _fatal(p, "bad config", "network.confirmations")
    env_bad = l2kit(devnet, *AGENTS[0], L2KIT_ROLLUP_NODE__BATCHER__MAX_BATCH_TXS="lots")
    _fatal(env_bad, "bad config", "max_batch_txs")


def test_agentOnTheWrongChainExitsFatal(devnet: dict[str, Any]) -> None:
    from offchain.chain.anvil import Anvil

    with Anvil(chain_id=1337) as other:  # another L1 than the deployment's (31337)
        for agent in AGENTS:
            _fatal(l2kit(devnet, *agent, L2KIT_RPC_URL=other.url), "wrong chain", "1337", "31337")


def test_bridgeAndStorageReadsPrintJson(devnet: dict[str, Any]) -> None:
    to = dev_account(13).address
    dep = l2kit(devnet, "rollup", "tx", "deposit", "--amount", "12345", "--to", to,
                "--dev-account", "13")  # fmt: skip
    assert dep.returncode == 0, dep.stderr
    deposits = json.loads(l2kit(devnet, "bridge", "deposits", "--json").stdout)
    assert {"l2_recipient": to, "amount_wei": "12345"}.items() <= deposits[-1].items()
    batches = json.loads(l2kit(devnet, "bridge", "batches", "--json").stdout)
    assert batches["next_index"] == len(batches["batches"]) == 0  # no sequencer ran
    blob = devnet["dir"] / "json-blob.bin"
    blob.write_bytes(b"\xff\x00 not utf-8")
    key = l2kit(devnet, "storage", "put", str(blob)).stdout.strip()
    got = json.loads(l2kit(devnet, "storage", "get", key, "--json").stdout)
    assert got == {"key": key, "bytes": 12, "hex": "0x" + blob.read_bytes().hex(), "text": None}
