"""``l2kit``: the command-line interface.

Domain commands live next to their code (``offchain/<domain>/cli.py``, each an
``app = typer.Typer(...)``) and are mounted here from :data:`SUBCOMMANDS`.
Expected failures (:class:`~offchain.errors.L2KitError`) print one line and exit
non-zero; they never show a traceback.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import typer
from rich.console import Console

from offchain import cli_common as cc
from offchain.errors import ConfigError, L2KitError, TxError
from offchain.explorer.cli import explorer_cmd
from offchain.logs import configure_logging

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

app = typer.Typer(
    name="l2kit",
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


def _mount() -> None:
    for name, ref, help_text in SUBCOMMANDS:
        mod, attr = ref.split(":")
        sub = getattr(importlib.import_module(mod), attr)
        app.add_typer(sub, name=name, help=help_text)


_mount()


def main() -> None:
    """Console-script entry point."""
    try:
        configure_logging()
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
