"""Configuration in one place.

Each domain defines its own parameter dataclass next to its code
(``offchain/<domain>/config.py``); :class:`L2KitConfig` (pydantic-settings) composes
them and validates every value against its type. :func:`load_config` layers, lowest
first: the field defaults, a JSON file (``--config FILE`` or ``$L2KIT_CONFIG``), then
``L2KIT_<SECTION>__<KEY>`` environment variables (nested keys with more ``__``:
``L2KIT_ROLLUP_NODE__BATCHER__MAX_BATCH_TXS``). Command-line flags override all three, and
only when given. Durations carry their unit in the name.

From the environment: booleans are ``true/false/1/0/yes/no/on/off``; a list is JSON
(``[1,2]``) or comma-separated (``a,b``); a mapping is JSON (``{"k": "v"}``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from offchain.emeth.config import EmethAgentsConfig, EmethParams
from offchain.errors import BadConfigError
from offchain.governance.config import GovernanceParams
from offchain.rollup.l1.config import RollupParams
from offchain.rollup.node.config import RollupNodeConfig
from offchain.staking.config import StakingParams

ENV_PREFIX = "L2KIT_"
ENV_DELIMITER = "__"


@dataclass
class NetworkConfig:
    """Where the L1 is and how far agents trail its head."""

    rpc_url: str = "http://127.0.0.1:8545"
    # L1 blocks every agent trails the head by where its own setting is null (the node's
    # deposit_confirmations, the verifier's and the EMETH L1 watcher's confirmations); null:
    # each uses the L1 network's default (offchain/chain/networks.py).
    confirmations: int | None = None
    poll_interval_ms: int = 200
    deployment_file: str = ".devnet/deployment.json"
    # Default of every command's --storage-url / --el-url / --url (a flag given wins).
    storage_url: str = "http://127.0.0.1:8600"  # the blob store (`storage serve`)
    el_url: str = "http://127.0.0.1:8800"  # the EMETH execution layer (`emeth el run`)
    l2_url: str = "http://127.0.0.1:9545/"  # a rollup node's JSON-RPC (`rollup node run`)


@dataclass
class DevnetConfig:
    """Local devnet: Anvil and the storage service."""

    anvil_port: int = 8545
    storage_port: int = 8600
    data_dir: str = ".devnet"
    # Anvil mines every transaction at once and, with block_time_s > 0, an empty block that
    # often too (mixed mining), so deposit confirmations come on an idle devnet (0: none).
    block_time_s: float = 1.0
    explorer_port: int = 8700  # `devnet up` serves the explorer here (0: no explorer)
    da_mode: str = "blobs"  # `devnet up` sets rollup.da_mode to this (blobs, storage, calldata)
    # `devnet up --full` (offchain/devnet_full.py): fixed ports of the other components.
    node_base_port: int = 9545  # sequencer node i listens on node_base_port + i
    verifier_port: int = 9600
    el_port: int = 8800  # the EMETH execution layer


class L2KitConfig(BaseSettings):
    """Every knob of l2kit. Domain sections are added by their packages.

    ``L2KitConfig()`` holds the defaults (and keyword arguments); :func:`load_config`
    adds the file and the environment.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_DELIMITER,
        case_sensitive=False,
        extra="forbid",
    )

    network: NetworkConfig = Field(default_factory=NetworkConfig)
    devnet: DevnetConfig = Field(default_factory=DevnetConfig)
    staking: StakingParams = Field(default_factory=StakingParams)
    governance: GovernanceParams = Field(default_factory=GovernanceParams)
    rollup: RollupParams = Field(default_factory=RollupParams)
    rollup_node: RollupNodeConfig = Field(default_factory=RollupNodeConfig)
    emeth: EmethParams = Field(default_factory=EmethParams)
    emeth_agents: EmethAgentsConfig = Field(default_factory=EmethAgentsConfig)
    extra: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _network_confirmations(self) -> L2KitConfig:
        """``network.confirmations``, when set, is every agent's unset confirmations."""
        n = self.network.confirmations
        if n is not None:
            node, verifier = self.rollup_node.node, self.rollup_node.verifier
            if node.deposit_confirmations is None:
                node.deposit_confirmations = n
            if verifier.confirmations is None:
                verifier.confirmations = n
            if self.emeth_agents.confirmations is None:
                self.emeth_agents.confirmations = n
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)  # the file and the environment are layered by load_config

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _decode(value: Any, tp: Any, where: str) -> Any:
    """Turn environment strings into what ``tp`` needs (lists, mappings, nested sections)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        tp, origin = args[0], typing.get_origin(args[0])
    if dataclasses.is_dataclass(tp) and isinstance(value, dict):
        hints = typing.get_type_hints(tp)
        return {
            k: _decode(v, hints.get(k, Any), f"{where}{ENV_DELIMITER}{k}") for k, v in value.items()
        }
    if not isinstance(value, str):
        return value
    if origin in (list, tuple, set, frozenset) or tp in (list, tuple, set):
        text = value.strip()
        if text.startswith("["):
            return _json(text, where)
        return [x.strip() for x in text.split(",") if x.strip()]
    if origin is dict or tp is dict:
        return _json(value, where) if value.strip() else {}
    return value


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise BadConfigError(f"${ENV_PREFIX}{where.upper()} is not valid JSON: {e}") from None


def _env_layer() -> dict[str, Any]:
    raw = EnvSettingsSource(L2KitConfig)()
    hints = typing.get_type_hints(L2KitConfig)
    return {k: _decode(v, hints.get(k, Any), k) for k, v in raw.items()}


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k != "extra":
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _explain(e: ValidationError, where: str) -> BadConfigError:
    parts = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"])
        parts.append(f"{loc}: {err['msg']} (got {err.get('input')!r})")
    names = ", ".join(L2KitConfig.model_fields)
    return BadConfigError(f"bad config ({where}): " + "; ".join(parts), f"sections: {names}")


def load_config(path: str | Path | None = None) -> L2KitConfig:
    """Defaults, then the JSON file ``path`` (or ``$L2KIT_CONFIG``), then the environment.

    Environment variables are named ``L2KIT_<SECTION>__<KEY>`` (``__`` again for deeper
    keys).

    Raises:
        BadConfigError: unreadable file, unknown key or a value of the wrong type (a
            :class:`~offchain.errors.FatalError` and a ``ConfigError``: exit code 3).
    """
    path = path or os.environ.get("L2KIT_CONFIG") or None
    data: dict[str, Any] = {}
    if path:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise BadConfigError(f"cannot read config file {path}: {e}") from e
        if not isinstance(data, dict):
            raise BadConfigError(f"config file {path} must hold a JSON object")
    env = _env_layer()
    where = " and ".join(x for x in (str(path) if path else "", "environment" if env else "") if x)
    try:
        return L2KitConfig(**_merge(data, env))
    except ValidationError as e:
        raise _explain(e, where or "defaults") from None
