"""Deploy every l2kit contract in order, recording addresses in a deployment file.

Each domain contributes a step: a module ``offchain/<domain>/deploy.py`` with
``def deploy(ctx: DeployContext) -> None``. Steps run in :data:`STEPS` order and
read what earlier steps deployed from ``ctx.addresses``. The same plan runs
against a local Anvil (``l2kit devnet up``) or any network (``l2kit deploy`` or the
ape script ``scripts/deploy.py``).
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web3.contract import Contract

from offchain.chain.client import Chain
from offchain.chain.tx import TxSender
from offchain.config import L2KitConfig
from offchain.errors import ConfigError

# (step name, "module:function"), in deployment order.
STEPS: list[tuple[str, str]] = [
    ("test helpers", "offchain.chain.deploy_helpers:deploy"),
    ("staking", "offchain.staking.deploy:deploy"),
    ("rollup", "offchain.rollup.l1.deploy:deploy"),
    ("bridge", "offchain.bridge.deploy:deploy"),
    ("emeth", "offchain.emeth.deploy:deploy"),
    ("governance", "offchain.governance.deploy:deploy"),
]


@dataclass
class DeployContext:
    """What a deploy step gets: the chain, a funded sender, config and earlier addresses."""

    chain: Chain
    sender: TxSender
    config: L2KitConfig
    addresses: dict[str, str] = field(default_factory=dict)
    contracts: dict[str, str] = field(default_factory=dict)  # key -> artifact name
    log: Callable[[str], None] = print

    def deploy(self, key: str, contract: str, *args: Any) -> Contract:
        """Deploy artifact ``contract`` and record it under ``key``."""
        c = self.sender.deploy(contract, *args)
        self.addresses[key] = c.address
        self.contracts[key] = contract
        self.log(f"  {key:<22} {contract:<22} {c.address}")
        return c

    def at(self, key: str) -> Contract:
        """The contract deployed earlier under ``key``."""
        if key not in self.addresses:
            raise ConfigError(f"{key} is not deployed yet", "check the order of deploy STEPS")
        return self.chain.contract(self.contracts[key], self.addresses[key])

    def send(self, call: Any, **kw: Any) -> Any:
        return self.sender.send(call, **kw)


@dataclass
class Deployment:
    """A deployment file: chain id, block and contract addresses."""

    chain_id: int
    block: int
    addresses: dict[str, str]
    contracts: dict[str, str]
    deployer: str

    def save(self, path: str | Path) -> None:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(self.__dict__, indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Deployment:
        p = Path(path)
        try:
            return cls(**json.loads(p.read_text()))
        except FileNotFoundError:
            raise ConfigError(
                f"no deployment file at {p}", "run `l2kit devnet up` or `l2kit deploy` first"
            ) from None
        except (json.JSONDecodeError, TypeError) as e:
            raise ConfigError(f"malformed deployment file {p}: {e}") from e

    def contract(self, chain: Chain, key: str) -> Contract:
        if key not in self.addresses:
            raise ConfigError(
                f"{key!r} is not in this deployment", f"known: {', '.join(self.addresses)}"
            )
        return chain.contract(self.contracts[key], self.addresses[key])


def _step(ref: str) -> Callable[[DeployContext], None]:
    mod, fn = ref.split(":")
    return getattr(importlib.import_module(mod), fn)  # type: ignore[no-any-return]


def deploy_all(
    chain: Chain, sender: TxSender, config: L2KitConfig, log: Callable[[str], None] = print
) -> Deployment:
    """Run every step of :data:`STEPS` and return the resulting :class:`Deployment`."""
    ctx = DeployContext(chain, sender, config, log=log)
    for name, ref in STEPS:
        t0 = time.perf_counter()
        log(f"deploying {name}")
        _step(ref)(ctx)
        log(f"  ({time.perf_counter() - t0:.2f}s)")
    return Deployment(
        chain_id=chain.chain_id,
        block=int(chain.w3.eth.block_number),
        addresses=dict(ctx.addresses),
        contracts=dict(ctx.contracts),
        deployer=sender.address,
    )
