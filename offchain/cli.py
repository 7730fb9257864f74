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

from offchain.errors import L2KitError
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
    rpc_url: str = typer.Option(
        "http://127.0.0.1:8545", "--rpc-url", envvar="L2KIT_RPC_URL", help="L1 JSON-RPC endpoint"
    ),
    key: str = typer.Option(None, "--key", envvar="L2KIT_PRIVATE_KEY", help="deployer private key"),
    out: Path = typer.Option(
        Path("deployments/deployment.json"), "--out", help="where to write the addresses"
    ),
) -> None:
    """Deploy all contracts to RPC_URL with the deployer KEY; write the addresses to OUT."""
    from offchain.chain.accounts import account_from_key
    from offchain.chain.client import Chain
    from offchain.chain.compile import compile_contracts
    from offchain.config import load_config
    from offchain.deploy import deploy_all

    account = account_from_key(key)
    compile_contracts()
    chain = Chain.connect(rpc_url)
    dep = deploy_all(chain, chain.sender(account), load_config(), log=console.print)
    dep.save(out)
    console.print(f"deployment written to {out}")


@app.command("demo")
def demo_cmd() -> None:
    """Start a local L1, deploy, run the agents and play the whole scenario."""
    from offchain.demo import run_demo

    run_demo(console)


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
