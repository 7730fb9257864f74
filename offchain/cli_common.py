"""What every ``l2kit <domain>`` command line shares: options, connecting, keys, signals.

One definition of each connection option (``--rpc-url``, ``--deployment``, ``--key``,
``--dev-account``, ``--storage-url``), of "connect to the L1 and load the deployment",
of picking the acting account, of turning a revert into a one-line error with a hint,
and of "run until Ctrl-C / SIGTERM".
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import typer

from offchain.errors import ConfigError, L2KitError, TxReverted

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from offchain.chain.client import Chain
    from offchain.deploy import Deployment

DEV_ACCOUNTS = 40  # Anvil funds this many dev accounts

# --rpc-url / --deployment: when not given, the loaded config's ``network.rpc_url`` /
# ``network.deployment_file`` (``offchain.config``; defaults: the local devnet's).
RPC_URL = typer.Option(
    None,
    "--rpc-url",
    envvar="L2KIT_RPC_URL",
    help="L1 JSON-RPC URL (default: config network.rpc_url)",
)
DEPLOYMENT = typer.Option(
    None,
    "--deployment",
    envvar="L2KIT_DEPLOYMENT",
    help="deployment file (default: config network.deployment_file)",
)
DEVNET_RPC_URL = RPC_URL  # kept for the domain CLIs: one definition of each option
DEVNET_DEPLOYMENT = DEPLOYMENT
KEY = typer.Option(
    None, "--key", envvar="L2KIT_PRIVATE_KEY", help="private key (hex; prefer the env variable)"
)
KEYSTORE = typer.Option(
    None,
    "--keystore",
    envvar="L2KIT_KEYSTORE",
    help="Ethereum keystore JSON file (passphrase: $L2KIT_KEYSTORE_PASSWORD or a prompt)",
)
ACCOUNT_ALIAS = typer.Option(
    None,
    "--account",
    envvar="L2KIT_ACCOUNT",
    help="ape account alias (~/.ape/accounts/ALIAS.json; $APE_ACCOUNTS_<alias>_PASSPHRASE)",
)
DEV_ACCOUNT = typer.Option(None, "--dev-account", help="use Anvil dev account N (devnet only)")
JSON = typer.Option(False, "--json", help="print one JSON document (amounts in wei, as strings)")
STORAGE_URL = typer.Option(
    None,
    "--storage-url",
    envvar="L2KIT_STORAGE_URL",
    help="blob store URL (default: config network.storage_url)",
)
EL_URL = typer.Option(
    None,
    "--el-url",
    envvar="L2KIT_EMETH_URL",
    help="EMETH execution layer URL (default: config network.el_url)",
)
L2_URL = typer.Option(
    None,
    "--url",
    envvar="L2KIT_L2_URL",
    help="rollup node JSON-RPC URL (default: config network.l2_url)",
)


def from_config(given: Any, path: str) -> Any:
    """``given`` when the flag (or its environment variable) was given, else the loaded
    config's value at ``path`` (``"network.storage_url"``): a config file or
    ``L2KIT_<SECTION>__<KEY>`` is honoured, and a flag overrides it only when given."""
    if given is not None:
        return given
    from offchain.config import load_config

    value: Any = load_config()
    for part in path.split("."):
        value = getattr(value, part)
    return value


def resolve(rpc_url: str | None, deployment: Path | None) -> tuple[str, Path]:
    """The RPC URL and deployment file: the flags (or their env) if given, else the config."""
    if rpc_url is None or deployment is None:
        from offchain.config import load_config

        cfg = load_config()
        rpc_url = rpc_url or cfg.network.rpc_url
        deployment = deployment or Path(cfg.network.deployment_file)
    return rpc_url, deployment


def connect(rpc_url: str | None, deployment: Path | None) -> tuple[Chain, Deployment]:
    """Connect to the L1 and load the deployment, checking that they belong together.

    Args:
        rpc_url: L1 JSON-RPC URL (``None``: the config's ``network.rpc_url``).
        deployment: deployment file (``None``: the config's ``network.deployment_file``).

    Returns:
        The connected chain and the loaded deployment.

    Raises:
        WrongChainError: if the RPC's chain id differs from the deployment's (a FatalError:
            exit code 3, a restart cannot fix it).
    """
    from offchain.chain.client import Chain
    from offchain.deploy import Deployment

    rpc_url, deployment = resolve(rpc_url, deployment)
    dep = Deployment.load(deployment)
    chain = Chain.connect(rpc_url)
    check_chain(chain.chain_id, dep.chain_id, rpc_url, deployment)
    return chain, dep


def check_chain(rpc_chain_id: int, deployment_chain_id: int, rpc_url: str, where: Any) -> None:
    """Refuse an L1 RPC that serves another chain than the deployment ``where``'s.

    Raises:
        WrongChainError: the chain ids differ (a FatalError: exit code 3).
    """
    from offchain.errors import WrongChainError

    if rpc_chain_id != deployment_chain_id:
        raise WrongChainError(
            f"wrong chain: the L1 at {rpc_url} is chain {rpc_chain_id} but {where} "
            f"is for chain {deployment_chain_id}",
            "pass the matching --rpc-url / --deployment",
        )


def account(
    key: str | None,
    dev: int | None,
    keystore: Path | None = None,
    alias: str | None = None,
) -> LocalAccount:
    """The acting account, from the first key source given.

    Sources, in order: Anvil dev account ``dev``; a keystore file; an ape account alias;
    a hex private key. ``$L2KIT_KEYSTORE`` and ``$L2KIT_ACCOUNT`` stand in for the flags,
    so every command accepts them.

    Args:
        key: hex private key (``None``: ``$L2KIT_PRIVATE_KEY``).
        dev: index of an Anvil dev account, or ``None``.
        keystore: Ethereum keystore JSON (``None``: ``$L2KIT_KEYSTORE``).
        alias: ape account alias (``None``: ``$L2KIT_ACCOUNT``).

    Returns:
        The account.

    Raises:
        ConfigError: if ``dev`` is out of range, or no usable key is given.
    """
    import os

    from offchain.chain.accounts import (
        account_from_alias,
        account_from_key,
        account_from_keystore,
        dev_account,
    )

    if dev is not None:
        if not 0 <= dev < DEV_ACCOUNTS:
            raise ConfigError(f"dev account {dev} does not exist", f"use 0..{DEV_ACCOUNTS - 1}")
        return dev_account(dev)
    if key is None:
        keystore = keystore or (
            Path(os.environ["L2KIT_KEYSTORE"]) if os.environ.get("L2KIT_KEYSTORE") else None
        )
        alias = alias or os.environ.get("L2KIT_ACCOUNT") or None
    if keystore is not None:
        return account_from_keystore(keystore)
    if alias is not None:
        return account_from_alias(alias)
    return account_from_key(key)


def make_console(stderr: bool = False) -> Any:
    """A rich Console that never cuts a line or a table column when output is piped."""
    import sys

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, soft_wrap=True, width=None if stream.isatty() else 1000)


def when(unix_s: int) -> str:
    """A unix time as ``2026-12-01 19:00:00Z`` (0 stays ``-``)."""
    import datetime as dt

    if not unix_s:
        return "-"
    return dt.datetime.fromtimestamp(unix_s, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def print_json(data: Any) -> None:
    """One JSON document on stdout (never wrapped or cut when piped)."""
    import json
    import sys

    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def blob_json(data: bytes, **fields: Any) -> dict[str, Any]:
    """A blob as JSON: ``fields``, its size, hex, and its text when it is UTF-8 (else null)."""
    try:
        text: str | None = data.decode()
    except UnicodeDecodeError:
        text = None
    return {**fields, "bytes": len(data), "hex": "0x" + data.hex(), "text": text}


def explain_reverts(
    error: type[L2KitError], hints: Mapping[str, str], what: str = ""
) -> Callable[..., Any]:
    """A caller ``run(fn, *args)`` that turns a revert into ``error`` with the matching hint.

    Args:
        error: the domain error class to raise.
        hints: custom error name -> what the user can do about it.
        what: prefix for the message (``"vote: ..."``), or empty.

    Returns:
        ``run(fn, *args)``: calls ``fn(*args)`` and returns its result.
    """

    def run(fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except TxReverted as e:
            message = f"{what}: {e.message}" if what else e.message
            raise error(message, hints.get(e.error_name or "")) from None

    return run


def stop_on_signal() -> threading.Event:
    """An event set by the first SIGTERM or SIGINT (Ctrl-C) from now on."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def wait_for_signal(
    stop: threading.Event | None = None, daemons: Callable[[], list[Any]] | None = None
) -> None:
    """Block until SIGTERM or SIGINT (or until ``stop``, made by :func:`stop_on_signal`, is set).

    Args:
        stop: the event to wait on (default: a new :func:`stop_on_signal`).
        daemons: the process's daemon loops (:class:`~offchain.common.daemon.Daemon`), watched:
            one that ended on an error a restart cannot fix ends the wait.

    Raises:
        FatalError: a watched loop stopped on its own (the CLI exits non-zero, so a
            supervisor such as systemd shows the failure).
    """
    from offchain.errors import FatalError

    stop = stop or stop_on_signal()
    while not stop.wait(0.5):
        for d in daemons() if daemons else []:
            if d is not None and getattr(d, "fatal", None):
                raise FatalError(f"{d.name} stopped: {d.fatal}", "fix the cause, then restart")
