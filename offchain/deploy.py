"""Deploy every l2kit contract in order, recording addresses in a deployment file.

Each domain contributes a step: a module ``offchain/<domain>/deploy.py`` with
``def deploy(ctx: DeployContext) -> None`` and, optionally, ``def check(ctx) -> None``
(run for every step before the first transaction: role addresses, parameters). Steps
run in :data:`STEPS` order and read what earlier steps deployed from ``ctx.addresses``.
The same plan runs against a local Anvil (``l2kit devnet up``) or any network
(``l2kit deploy`` or the ape script ``scripts/deploy.py``).

Off a dev chain (chain id 31337) the steps use production parameters, deploy no test
helpers, fund nobody, and refuse any role address (the deployer included) derived from
the public dev mnemonic. The deployment file is rewritten after every transaction: it
records each action by a stable id (``step:contract.function(args)#n``), so a deploy
that stopped half-way (out of funds, RPC down, Ctrl-C) continues with ``--resume`` and
ends with the same addresses and state as one that never stopped.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from web3.contract import Contract
from web3.contract.contract import ContractFunction

from offchain.chain.accounts import is_dev_address, is_dev_chain
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
    """What a deploy step gets: the chain, a funded sender, config and earlier addresses.

    Attributes:
        done: action ids already on chain (from a resumed deployment file): skipped.
        journal: action ids done so far (resumed ones included), in order.
        gas_by_step: gas used by this run's transactions, per step.
        on_change: called after every transaction (writes the partial deployment file).
    """

    chain: Chain
    sender: TxSender
    config: L2KitConfig
    addresses: dict[str, str] = field(default_factory=dict)
    contracts: dict[str, str] = field(default_factory=dict)  # key -> artifact name
    log: Callable[[str], None] = print
    step: str = ""
    done: set[str] = field(default_factory=set)
    journal: list[str] = field(default_factory=list)
    gas_by_step: dict[str, int] = field(default_factory=dict)
    on_change: Callable[[], None] | None = None
    _seen: dict[str, int] = field(default_factory=dict)

    @property
    def dev(self) -> bool:
        """Whether this is a local dev chain (short timings, funded dev accounts, helpers)."""
        return is_dev_chain(self.chain.chain_id)

    def _action(self, what: str) -> str:
        base = f"{self.step}:{what}"
        n = self._seen.get(base, 0)
        self._seen[base] = n + 1
        return f"{base}#{n}"

    def _record(self, action: str, receipt: Any) -> None:
        self.journal.append(action)
        self.gas_by_step[self.step] = self.gas_by_step.get(self.step, 0) + int(receipt["gasUsed"])
        if self.on_change is not None:
            self.on_change()

    def deploy(self, key: str, contract: str, *args: Any) -> Contract:
        """Deploy artifact ``contract`` and record it under ``key`` (skipped when resumed)."""
        action = self._action(f"deploy {key}")
        if action in self.done and key in self.addresses:
            self.journal.append(action)
            self.log(f"  {key:<22} {contract:<22} {self.addresses[key]} (resumed)")
            return self.at(key)
        art = self.chain.artifacts.get(contract)
        factory = self.chain.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        data = factory.constructor(*args).data_in_transaction
        rcpt = self.sender.send({"data": data}, label=f"deploy {contract}")
        self.addresses[key] = str(rcpt["contractAddress"])
        self.contracts[key] = contract
        self._record(action, rcpt)
        self.log(f"  {key:<22} {contract:<22} {self.addresses[key]}")
        return self.at(key)

    def at(self, key: str) -> Contract:
        """The contract deployed earlier under ``key``."""
        if key not in self.addresses:
            raise ConfigError(f"{key} is not deployed yet", "check the order of deploy STEPS")
        return self.chain.contract(self.contracts[key], self.addresses[key])

    def send(self, call: Any, **kw: Any) -> Any:
        """Send ``call`` from the deployer, once: an action done before a resume is skipped.

        Returns:
            The receipt, or ``None`` when the action was already done.
        """
        if isinstance(call, ContractFunction):
            what = f"{call.address}.{call.fn_name}{_args(call.args)}"
        else:
            what = f"tx {call.get('to')} {call.get('data', '')[:10]}"
        action = self._action(what)
        if action in self.done:
            self.journal.append(action)
            return None
        rcpt = self.sender.send(call, **kw)
        self._record(action, rcpt)
        return rcpt

    def role(self, what: str, address: str) -> str:
        """Check a role address: required, and off a dev chain not a dev-mnemonic account.

        Args:
            what: the role, for the message (``"emeth signer"``).
            address: the configured address ("" = not configured).

        Returns:
            The address.

        Raises:
            ConfigError: not configured, or derived from the public dev mnemonic off a devnet.
        """
        if not address:
            raise ConfigError(
                f"no {what} address configured for chain {self.chain.chain_id}",
                "set it with a flag or in the config file (see README: configuration)",
            )
        if not self.dev and is_dev_address(address):
            raise ConfigError(
                f"the {what} {address} is an account of the public test mnemonic; on chain "
                f"{self.chain.chain_id} anyone can sign with its key",
                "use an address whose key only you hold",
            )
        return address


def _args(args: Any) -> str:
    def one(a: Any) -> str:
        if isinstance(a, bytes | bytearray):
            return "0x" + bytes(a).hex()
        if isinstance(a, list | tuple):
            return "[" + ",".join(one(x) for x in a) + "]"
        return str(a)

    return "(" + ",".join(one(a) for a in args) + ")"


@dataclass
class Deployment:
    """A deployment file: chain id, block and contract addresses.

    Attributes:
        complete: every step ran; ``False`` in a file written during a deploy.
        steps_done: names of the steps that finished.
        actions: ids of the transactions sent so far (what ``--resume`` skips).
        gas_by_step: gas used by each step's transactions.
    """

    chain_id: int
    block: int
    addresses: dict[str, str]
    contracts: dict[str, str]
    deployer: str
    complete: bool = True
    steps_done: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    gas_by_step: dict[str, int] = field(default_factory=dict)

    def save(self, path: str | Path) -> None:
        """Write the file atomically (readers never see half of it)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(p)

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


def _resume_into(ctx: DeployContext, prev: Deployment) -> None:
    chain = ctx.chain
    if prev.chain_id != chain.chain_id:
        raise ConfigError(
            f"cannot resume: the file is for chain {prev.chain_id}, the RPC is chain "
            f"{chain.chain_id}",
            "pass the matching --rpc-url, or drop --resume to start a new deployment",
        )
    if prev.deployer.lower() != ctx.sender.address.lower():
        raise ConfigError(
            f"cannot resume: the deployment was started by {prev.deployer}, not "
            f"{ctx.sender.address}",
            "resume with the same deployer key",
        )
    for key, addr in prev.addresses.items():
        if not bytes(chain.w3.eth.get_code(addr)):  # type: ignore[arg-type]
            raise ConfigError(
                f"cannot resume: {key} at {addr} has no code on chain {chain.chain_id}",
                "drop --resume to start a new deployment",
            )
    ctx.addresses.update(prev.addresses)
    ctx.contracts.update(prev.contracts)
    ctx.done = set(prev.actions)
    ctx.gas_by_step.update(prev.gas_by_step)


def deploy_all(
    chain: Chain,
    sender: TxSender,
    config: L2KitConfig,
    log: Callable[[str], None] = print,
    *,
    out: str | Path | None = None,
    resume: Deployment | None = None,
) -> Deployment:
    """Run every step of :data:`STEPS` and return the resulting :class:`Deployment`.

    Args:
        chain: the L1.
        sender: the deployer (initial owner of everything; hands over to the Timelock).
        config: parameters of every domain.
        log: where progress lines go.
        out: deployment file, rewritten after every transaction (``None``: not written).
        resume: a partial deployment (read from ``out``) to continue.

    Raises:
        ConfigError: a dev-mnemonic deployer or role off a devnet, or a resume that does not
            match this chain/deployer.
        TxError: a transaction failed (the file written so far can be resumed).
    """
    ctx = DeployContext(chain, sender, config, log=log)
    if not ctx.dev and is_dev_address(sender.address):
        raise ConfigError(
            f"the deployer {sender.address} is an account of the public test mnemonic; on "
            f"chain {chain.chain_id} anyone can sign with its key",
            "deploy with a key only you hold (--key, --keystore or --account)",
        )
    steps_done: list[str] = []
    if resume is not None:
        _resume_into(ctx, resume)
        steps_done = list(resume.steps_done)

    def snapshot(complete: bool) -> Deployment:
        return Deployment(
            chain_id=chain.chain_id,
            block=int(chain.w3.eth.block_number),
            addresses=dict(ctx.addresses),
            contracts=dict(ctx.contracts),
            deployer=sender.address,
            complete=complete,
            steps_done=list(steps_done),
            actions=list(dict.fromkeys([*ctx.journal, *ctx.done])),
            gas_by_step=dict(ctx.gas_by_step),
        )

    for name, ref in STEPS:  # refuse a bad role or parameter before any transaction
        check = getattr(importlib.import_module(ref.split(":")[0]), "check", None)
        if check is not None:
            ctx.step = name
            check(ctx)
    if out is not None:
        ctx.on_change = lambda: snapshot(False).save(out)
    for name, ref in STEPS:
        if name in steps_done:
            log(f"{name}: done before (resumed)")
            continue
        t0 = time.perf_counter()
        ctx.step = name
        log(f"deploying {name}")
        _step(ref)(ctx)
        steps_done.append(name)
        if out is not None:
            snapshot(False).save(out)
        log(f"  ({time.perf_counter() - t0:.2f}s, {ctx.gas_by_step.get(name, 0):,} gas)")
    dep = snapshot(True)
    if out is not None:
        dep.save(out)
    return dep
