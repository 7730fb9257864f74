"""One configuration: defaults < JSON file < ``L2KIT_*`` environment; each bug of issue 15."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from offchain.common.amounts import format_amount, parse_amount
from offchain.config import L2KitConfig, load_config
from offchain.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for k in list(os.environ):
        if k.startswith("L2KIT_"):
            monkeypatch.delenv(k)


@pytest.mark.parametrize("text", ["false", "False", "0", "no", "off"])
def test_envFalseIsFalse(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("L2KIT_STAKING__DEVNET_SHORT_TIMINGS", text)
    cfg = load_config()
    assert cfg.staking.devnet_short_timings is False
    assert cfg.staking.effective(31337).epoch_length_s == 3600  # production timings


def test_envListIsAListNotCharacters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("L2KIT_EMETH_AGENTS__PROGRAM_MODULES", "my.progs,other.progs")
    monkeypatch.setenv("L2KIT_STAKING__DEVNET_SEQUENCER_ACCOUNTS", "[5, 6]")
    cfg = load_config()
    assert cfg.emeth_agents.program_modules == ["my.progs", "other.progs"]
    assert cfg.staking.devnet_sequencer_accounts == [5, 6]


def test_nestedKeysFromEnv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("L2KIT_ROLLUP_NODE__BATCHER__MAX_BATCH_TXS", "7")
    monkeypatch.setenv("L2KIT_ROLLUP_NODE__NODE__PEERS", '{"0xAb": "http://127.0.0.1:9545"}')
    cfg = load_config()
    assert cfg.rollup_node.batcher.max_batch_txs == 7
    assert cfg.rollup_node.node.peers == {"0xAb": "http://127.0.0.1:9545"}
    assert cfg.rollup_node.batcher.batch_timeout_ms == 2000  # siblings keep their defaults


def test_envOverridesFileOverridesDefaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    f = tmp_path / "l2kit.json"
    f.write_text(json.dumps({"devnet": {"anvil_port": 9100, "storage_port": 9101}}))
    monkeypatch.setenv("L2KIT_DEVNET__STORAGE_PORT", "9200")
    cfg = load_config(f)
    assert (cfg.devnet.anvil_port, cfg.devnet.storage_port) == (9100, 9200)
    assert cfg.devnet.data_dir == ".devnet"
    assert L2KitConfig().devnet.anvil_port == 8545  # the model alone: defaults only


@pytest.mark.parametrize(
    ("env", "value", "needle"),
    [
        ("L2KIT_STAKING__NO_SUCH_KEY", "1", "staking.no_such_key"),
        ("L2KIT_DEVNET__ANVIL_PORT", "eighty", "devnet.anvil_port"),
        ("L2KIT_STAKING__DEVNET_SHORT_TIMINGS", "maybe", "devnet_short_timings"),
    ],
)
def test_badValueIsOneLineConfigError(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, needle: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as e:
        load_config()
    assert needle in e.value.message and "\n" not in e.value.message


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    full = {k: v for k, v in os.environ.items() if not k.startswith("L2KIT_")}
    return subprocess.run(
        [sys.executable, "-m", "offchain.cli", *args],
        capture_output=True, text=True, env={**full, **env}, timeout=60,
    )  # fmt: skip


def test_cliConfigFlagAndEnvShowInConfigJson(tmp_path: Path) -> None:
    f = tmp_path / "l2kit.json"
    f.write_text(json.dumps({"network": {"rpc_url": "http://10.0.0.1:8545"}}))
    p = _cli("--config", str(f), "config", "--json", L2KIT_NETWORK__CONFIRMATIONS="3")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["network"] == {**data["network"], "rpc_url": "http://10.0.0.1:8545",
                               "confirmations": 3}  # fmt: skip


def test_cliDeploymentEnvHonouredBySequencerAndGovernance(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    for cmd in (["sequencer", "status"], ["governance", "status", "1"]):
        p = _cli(*cmd, L2KIT_DEPLOYMENT=str(missing))
        assert p.returncode != 0 and "Traceback" not in p.stderr
        assert str(missing) in p.stderr, (cmd, p.stderr)


def test_cliVersion() -> None:
    p = _cli("--version")
    assert p.returncode == 0 and p.stdout.startswith("l2kit ")


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("25000", 25_000 * 10**18),
        ("0.000000000000000001", 1),
        ("12.5", 12_500_000_000_000_000_000),
        ("1_000_000", 10**24),
        (
            "123456789012345678901234567890.123456789012345678",
            123456789012345678901234567890123456789012345678,
        ),
    ],
)
def test_amountsAreExact(text: str, units: int) -> None:
    assert parse_amount(text) == units
    assert parse_amount(format_amount(units)) == units


@pytest.mark.parametrize("text", ["-1", "1e3", "0.0000000000000000001", "abc", "0", "nan"])
def test_badAmountRefused(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_amount(text)


def test_readmeListsEverySettingWithItsDefault() -> None:
    from offchain.cli import _flat

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for section, values in L2KitConfig().to_dict().items():
        if isinstance(values, dict) and section != "extra":
            for key, default in _flat(values):
                row = f"| `{section}.{key}` |"
                assert row in readme, f"README lacks {section}.{key}: scripts/gen_config_table.py"
                line = next(ln for ln in readme.splitlines() if ln.startswith(row))
                assert f"`{json.dumps(default)}`" in line, f"README default of {section}.{key}"


@pytest.mark.parametrize(
    ("plat", "machine", "want"),
    [("linux", "x86_64", "linux-amd64"), ("linux", "aarch64", "linux-arm64"),
     ("darwin", "arm64", "darwin-arm64"), ("darwin", "x86_64", "darwin-amd64")],
)  # fmt: skip
def test_foundryBinaryForHostPlatform(
    monkeypatch: pytest.MonkeyPatch, plat: str, machine: str, want: str
) -> None:
    import platform

    from offchain.paths import foundry_binary, host_platform

    monkeypatch.setattr(sys, "platform", plat)
    monkeypatch.setattr(platform, "machine", lambda: machine)
    assert host_platform() == want
    monkeypatch.delenv("L2KIT_FORGE", raising=False)
    p = foundry_binary("forge")
    assert p is None or f"forge-{want}" in str(p)


def test_defaultServiceUrlsMatchTheDevnetPorts() -> None:
    """Every client default reaches what `devnet up [--full]` / the agents listen on, and the
    execution layer's port is not the explorer's (both were 8700)."""
    from offchain.config import L2KitConfig

    c = L2KitConfig()
    n, d = c.network, c.devnet
    assert n.rpc_url.endswith(f":{d.anvil_port}") and n.storage_url.endswith(f":{d.storage_port}")
    assert n.el_url.endswith(f":{d.el_port}") and n.l2_url.endswith(f":{d.node_base_port}/")
    assert d.el_port != d.explorer_port


def test_networkConfirmationsFillEveryAgentsUnsetConfirmations() -> None:
    c = L2KitConfig(network={"confirmations": 3}, rollup_node={"verifier": {"confirmations": 1}})
    assert c.rollup_node.node.deposit_confirmations == 3
    assert c.emeth_agents.confirmations == 3
    assert c.rollup_node.verifier.confirmations == 1  # its own setting wins
    d = L2KitConfig()  # unset everywhere: each agent takes the L1 network's default
    assert d.network.confirmations is None and d.rollup_node.verifier.confirmations is None
