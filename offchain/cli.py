"""``l2kit``: the command-line interface.

Domain commands live next to their code (``offchain/<domain>/cli.py``, each an
``app = typer.Typer(...)``) and are mounted here from :data:`SUBCOMMANDS`, lazily: a
domain's module (and web3, ape...) is imported only when one of its commands runs, so
``l2kit --help`` starts in a fraction of a second. Expected failures
(:class:`~offchain.errors.L2KitError`) print one line and exit non-zero; they never show
a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

from offchain import cli_common as cc
from offchain.errors import BadConfigError, ConfigError, L2KitError, TxError
from offchain.explorer.cli import explorer_cmd

# (command name, "module:attribute" of a typer.Typer), mounted under `l2kit`.
SUBCOMMANDS: list[tuple[str, str, str]] = [
    ("devnet", "offchain.devnet:app", "Run a local devnet: Anvil, contracts, storage."),
    ("storage", "offchain.storage.cli:app", "Content-addressed blob store: serve, put, get."),
    ("emeth", "offchain.emeth.cli:app", "EMETH compute marketplace: jobs, daemons, billing."),
    ("sequencer", "offchain.staking.cli:app", "Sequencer stake: lock, unlock, claim, status, run."),
    ("governance", "offchain.governance.cli:app", "Propose, vote, queue, execute, status."),
    ("bridge", "offchain.bridge.cli:app", "L1 bridge and batches: finalize withdrawals, deposits."),
    ("rollup", "offchain.rollup.cli:app", "Rollup: node, batcher, verifier, L2 transactions."),
]


class LazyGroup(TyperGroup):
    """The ``l2kit`` group: :data:`SUBCOMMANDS` are imported when used, not when listed."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(name for name, _, _ in SUBCOMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        for name, ref, help_text in SUBCOMMANDS:
            if name != cmd_name:
                continue
            if self._listing:  # the root --help only needs the name and one line
                return TyperCommand(name, help=help_text, short_help=help_text)
            mod, attr = ref.split(":")
            sub = getattr(importlib.import_module(mod), attr)
            sub.info.help = sub.info.help or help_text
            sub._add_completion = False
            cmd = typer.main.get_group(sub)
            cmd.name = name
            return cmd
        return super().get_command(ctx, cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="l2kit",
    cls=LazyGroup,
    help="l2kit: decentralized-sequencer rollup and EMETH compute marketplace on an Ethereum L1.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


@app.command("compile")
def compile_cmd(force: bool = typer.Option(False, "--force", help="ignore the cache")) -> None:
    """Compile every contract under contracts/ (cached by source hash)."""
    from offchain.chain.compile import compile_contracts

    res = compile_contracts(force=force)
    what = "up to date" if res.cached else "compiled"
    console.print(f"{res.contracts} contracts {what} in {res.seconds:.2f}s -> {res.artifacts_dir}")


@app.command("deploy")
def deploy_cmd(
    rpc_url: str = cc.RPC_URL,
    key: str = cc.KEY,
    keystore: Path = cc.KEYSTORE,
    alias: str = cc.ACCOUNT_ALIAS,
    out: Path = typer.Option(
        Path("deployments/deployment.json"),
        "--out",
        help="deployment file (rewritten after every transaction)",
    ),
    resume: bool = typer.Option(False, "--resume", help="continue the partial deploy in OUT"),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="simulate on a local fork; print the gas and cost of each step"
    ),
    emeth_signer: str = typer.Option(
        None, "--emeth-signer", help="EMETH Ticket signer address (config: emeth.signer_address)"
    ),
) -> None:
    """Deploy all contracts to RPC_URL; write the addresses to OUT.

    Off a dev chain (chain id 31337) production parameters apply, no test helper is deployed,
    nobody is funded, and an address of the public test mnemonic may hold no role.
    """
    from offchain.chain.client import Chain
    from offchain.chain.compile import compile_contracts
    from offchain.config import load_config
    from offchain.deploy import Deployment, deploy_all

    cfg = load_config()
    rpc_url = rpc_url or cfg.network.rpc_url
    if emeth_signer is not None:
        cfg.emeth.signer_address = emeth_signer
    signer = cc.account(key, None, keystore, alias)
    prev = Deployment.load(out) if resume else None
    if prev is not None and prev.complete:
        console.print(f"{out} is a complete deployment; nothing to resume")
        return
    compile_contracts(log=err_console.print)
    if dry_run:
        from offchain.deploy_dryrun import dry_run as simulate

        plan = simulate(rpc_url, signer, cfg, resume=prev, log=err_console.print)
        for line in plan.lines():
            console.print(line, highlight=False)
        return
    if not resume and out.exists() and not Deployment.load(out).complete:
        raise ConfigError(
            f"{out} holds a partial deployment", "continue it with --resume, or pick another --out"
        )
    chain = Chain.connect(rpc_url)
    try:
        deploy_all(chain, chain.sender(signer), cfg, log=console.print, out=out, resume=prev)
    except TxError as e:
        raise TxError(
            e.message, f"{e.hint + '; then ' if e.hint else ''}run again with --resume"
        ) from None
    console.print(f"deployment written to {out}")


@app.command("demo")
def demo_cmd() -> None:
    """Start a local L1, deploy, run the agents and play the whole scenario."""
    from offchain.demo import run_demo

    run_demo(console)


app.command("explorer")(explorer_cmd)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("l2kit")
        except PackageNotFoundError:
            from offchain import __version__ as v
        typer.echo(f"l2kit {v}")
        raise typer.Exit()


@app.callback()
def _root(
    config: Path = typer.Option(
        None,
        "--config",
        envvar="L2KIT_CONFIG",
        help="JSON config file (see README: configuration); the environment overrides it",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="print the version and exit"
    ),
    keystore: Path = typer.Option(
        None,
        "--keystore",
        help="sign with this Ethereum keystore JSON, in every command (= $L2KIT_KEYSTORE)",
    ),
    alias: str = typer.Option(
        None, "--account", help="sign with this ape account, in every command (= $L2KIT_ACCOUNT)"
    ),
) -> None:
    """l2kit: decentralized-sequencer rollup and EMETH compute marketplace on an Ethereum L1."""
    from offchain.logs import configure_logging  # here, not at import: --help stays fast

    configure_logging()
    if config is not None:
        if not config.is_file():
            raise BadConfigError(f"no config file at {config}")
        os.environ["L2KIT_CONFIG"] = str(config)  # every load_config() below reads it
    # Key sources for every command and agent (cli_common.account reads them).
    if keystore is not None:
        os.environ["L2KIT_KEYSTORE"] = str(keystore)
    if alias is not None:
        os.environ["L2KIT_ACCOUNT"] = alias


@app.command("config")
def config_cmd(
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Print the effective configuration (defaults < --config file < L2KIT_* environment)."""
    import json

    from offchain.config import load_config

    data: dict[str, Any] = load_config().to_dict()
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    for section, values in data.items():
        if isinstance(values, dict):
            for k, v in _flat(values):
                console.print(f"{section}.{k} = {json.dumps(v)}", highlight=False)


def _flat(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in d.items():
        if (
            isinstance(v, dict)
            and v
            and all(isinstance(x, dict) for x in v.values())
            or isinstance(v, dict)
            and v
            and k not in ("peers", "extra")
        ):
            out += _flat(v, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", v))
    return out


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except L2KitError as e:
        err_console.print(f"[bold red]error:[/] {e.message}", highlight=False)
        if e.hint:
            err_console.print(f"  hint: {e.hint}", highlight=False)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
