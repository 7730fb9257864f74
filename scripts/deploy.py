"""Deploy every l2kit contract (offchain/deploy.py's plan) to any ape network.

    ape run deploy --network ethereum:local:foundry            # local Anvil, test account 0
    ape run deploy --network ethereum:sepolia:node --account deployer [--yes]

On local networks the deployer defaults to ape's first test account; elsewhere pass the
alias of an account imported with ``ape accounts import deployer`` (asked once to confirm,
``--yes`` skips it; the passphrase is prompted once or read from
``$APE_ACCOUNTS_deployer_PASSPHRASE``). The addresses are written to
``deployments/<network>.json`` (or ``--out``), rewritten after every transaction:
``--resume`` continues a deploy that stopped half-way, ``--dry-run`` simulates the plan on
a local fork and prints each step's gas and cost. Off a dev chain the plan's safety rules
apply (production parameters, no test helpers or faucet, no dev-mnemonic role); the EMETH
Ticket signer comes from ``--emeth-signer`` or the config (``emeth.signer_address``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from ape.cli import ConnectedProviderCommand

from offchain.chain.ape_signer import ApeSigner
from offchain.chain.artifacts import Artifacts
from offchain.chain.client import Chain
from offchain.chain.compile import compile_contracts
from offchain.chain.tx import TxSender
from offchain.config import load_config
from offchain.deploy import Deployment, deploy_all
from offchain.deploy_dryrun import dry_run as simulate
from offchain.errors import L2KitError


def pick_account(alias: str | None, network: Any) -> Any:
    """The ape account that deploys: ``alias``, or test account 0 on a local network."""
    from ape import accounts

    if alias:
        try:
            return accounts.load(alias)
        except Exception as e:  # noqa: BLE001 - ape raises several kinds for a bad alias
            raise click.BadParameter(
                f"no ape account {alias!r} ({e}); import one with `ape accounts import {alias}`",
                param_hint="--account",
            ) from None
    if network.name == "local" or network.is_local:
        return accounts.test_accounts[0]
    raise click.BadParameter(
        f"network {network.name!r} needs a deployer: pass --account ALIAS", param_hint="--account"
    )


@click.command(cls=ConnectedProviderCommand, short_help="Deploy l2kit's contracts")
@click.option("--account", "alias", default=None, help="ape account alias of the deployer")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="deployment file")
@click.option("--yes", is_flag=True, help="do not ask before signing with an account alias")
@click.option("--resume", is_flag=True, help="continue the partial deploy in the deployment file")
@click.option("--dry-run", is_flag=True, help="simulate on a fork; print gas and cost per step")
@click.option("--emeth-signer", default=None, help="EMETH Ticket signer address")
def cli(
    network: Any,
    alias: str | None,
    out: Path | None,
    yes: bool,
    resume: bool,
    dry_run: bool,
    emeth_signer: str | None,
) -> None:
    """Deploy all l2kit contracts on the connected network and write the deployment file."""
    from ape import chain

    account = pick_account(alias, network)
    if alias and hasattr(account, "set_autosign"):
        # The plan sends many transactions: confirm once, unlock once (the passphrase comes
        # from a prompt or $APE_ACCOUNTS_<alias>_PASSPHRASE), then sign them all.
        if not yes:
            click.confirm(f"sign every deployment transaction as {alias}?", abort=True)
        account.set_autosign(True)
    path = out or Path("deployments") / f"{network.name}.json"
    cfg = load_config()
    if emeth_signer:
        cfg.emeth.signer_address = emeth_signer
    try:
        prev = Deployment.load(path) if resume else None
        res = compile_contracts(log=click.echo)
        c = Chain(chain.provider.web3, Artifacts(res.artifacts_dir))
        signer = ApeSigner(account)
        if dry_run:
            uri = str(getattr(c.w3.provider, "endpoint_uri", "") or chain.provider.uri)
            for line in simulate(uri, signer, cfg, resume=prev, log=click.echo).lines():
                click.echo(line)
            return
        sender = TxSender(c.w3, signer, c.artifacts)
        click.echo(f"deploying to {network.ecosystem.name}:{network.name} as {sender.address}")
        deploy_all(c, sender, cfg, log=click.echo, out=path, resume=prev)
    except L2KitError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"deployment written to {path}")
