"""Configuration in one place.

Each domain defines its own parameter dataclass next to its code
(``offchain/<domain>/config.py``); :class:`L2KitConfig` composes them, and
:func:`load_config` fills it from defaults, an optional JSON file and ``L2KIT_*``
environment variables. Durations carry their unit in the name.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from offchain.emeth.config import EmethAgentsConfig, EmethParams
from offchain.errors import ConfigError
from offchain.governance.config import GovernanceParams
from offchain.rollup.l1.config import RollupParams
from offchain.rollup.node.config import RollupNodeConfig
from offchain.staking.config import StakingParams


@dataclass
class NetworkConfig:
    """Where the L1 is and how far agents trail its head."""

    rpc_url: str = "http://127.0.0.1:8545"
    confirmations: int = 0
    poll_interval_ms: int = 200
    deployment_file: str = ".devnet/deployment.json"


@dataclass
class DevnetConfig:
    """Local devnet: Anvil and the storage service."""

    anvil_port: int = 8545
    storage_port: int = 8600
    data_dir: str = ".devnet"
    block_time_s: float = 0.0  # 0: mine on every transaction
    explorer_port: int = 8700  # `devnet up` serves the explorer here (0: no explorer)


@dataclass
class L2KitConfig:
    """Every knob of l2kit. Domain sections are added by their packages."""

    network: NetworkConfig = field(default_factory=NetworkConfig)
    devnet: DevnetConfig = field(default_factory=DevnetConfig)
    staking: StakingParams = field(default_factory=StakingParams)
    governance: GovernanceParams = field(default_factory=GovernanceParams)
    rollup: RollupParams = field(default_factory=RollupParams)
    rollup_node: RollupNodeConfig = field(default_factory=RollupNodeConfig)
    emeth: EmethParams = field(default_factory=EmethParams)
    emeth_agents: EmethAgentsConfig = field(default_factory=EmethAgentsConfig)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _apply(obj: Any, data: dict[str, Any], where: str) -> None:
    names = {f.name: f for f in fields(obj)}
    for key, value in data.items():
        if key not in names:
            raise ConfigError(f"unknown config key {where}{key}", f"known: {', '.join(names)}")
        cur = getattr(obj, key)
        if is_dataclass(cur) and isinstance(value, dict):
            _apply(cur, value, f"{where}{key}.")
        else:
            setattr(
                obj,
                key,
                type(cur)(value) if cur is not None and not isinstance(cur, dict) else value,
            )


def load_config(path: str | Path | None = None) -> L2KitConfig:
    """Defaults, then the JSON file ``path`` (or ``$L2KIT_CONFIG``), then the environment.

    Environment variables are named ``L2KIT_<SECTION>__<KEY>``.

    Raises:
        ConfigError: unreadable file, unknown key or a value of the wrong type.
    """
    cfg = L2KitConfig()
    path = path or os.environ.get("L2KIT_CONFIG")
    if path:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ConfigError(f"cannot read config file {path}: {e}") from e
        try:
            _apply(cfg, data, "")
        except (TypeError, ValueError) as e:
            raise ConfigError(f"bad value in {path}: {e}") from e
    for k, v in os.environ.items():
        if not k.startswith("L2KIT_") or "__" not in k:
            continue
        section, key = k[len("L2KIT_") :].lower().split("__", 1)
        try:
            _apply(cfg, {section: {key: v}}, "")
        except (TypeError, ValueError) as e:
            raise ConfigError(f"bad value in ${k}: {e}") from e
    return cfg
