"""``l2kit governance propose|vote|queue|execute|status``: drive the Governor from a shell.

Actions are written ``"TARGET SIGNATURE ARG..."`` where TARGET is a deployment key
(``locking_pool``, ``sequencer_set``, ``token``...) or an address, e.g.::

    l2kit governance propose "Kick 0xabc" --call "locking_pool kick(address) 0xabc" --dev-account 5
    l2kit governance propose "Pay" --call "token transfer(address,uint256) 0xdef 2500tokens"
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from offchain.cli_common import (
    DEPLOYMENT,
    DEV_ACCOUNT,
    JSON,
    KEY,
    RPC_URL,
    account,
    connect,
    explain_reverts,
    make_console,
    print_json,
)
from offchain.common.amounts import format_amount
from offchain.errors import ConfigError
from offchain.governance.actions import parse_action
from offchain.governance.client import Governance, Proposal
from offchain.staking.errors import StakingError

if TYPE_CHECKING:
    from offchain.deploy import Deployment

app = typer.Typer(no_args_is_help=True, help="Propose, vote, queue and execute governance actions.")
console = make_console()

PROPOSAL = typer.Argument(..., help="proposal id")

HINTS = {
    "GovernorInsufficientProposerVotes": "the proposer needs delegated votes above the threshold",
    "GovernorUnexpectedProposalState": "see the state with `l2kit governance status ID`",
    "GovernorAlreadyCastVote": "each account votes once per proposal",
    "TimelockUnexpectedOperationState": "the timelock delay has not passed yet (see the ETA)",
    "GovernorNonexistentProposal": "no proposal with this id",
}


def _connect(rpc_url: str | None, deployment: Path | None) -> tuple[Governance, Deployment]:
    chain, dep = connect(rpc_url, deployment)
    gov = Governance(chain, dep.contract(chain, "governor"), dep.contract(chain, "timelock"))
    return gov, dep


def _pid(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise ConfigError(
            f"{text!r} is not a proposal id", "pass the id printed by `propose`"
        ) from None


def _run(what: str, fn: Any, *args: Any) -> Any:
    return explain_reverts(StakingError, HINTS, what)(fn, *args)


def _show(gov: Governance, pid: int) -> None:
    s = gov.status(pid)
    console.print(f"proposal {pid:#x}")
    console.print(f"  state     [bold]{s['state']}[/]  (L1 block {s['block']})")
    votes = {k: f"{format_amount(s[k])}" for k in ("for", "against", "abstain", "quorum")}
    console.print(
        f"  votes     for {votes['for']}  against {votes['against']}  abstain {votes['abstain']}"
        f"  (quorum {votes['quorum']})"
    )
    console.print(f"  voting    blocks {s['snapshot_block'] + 1}..{s['deadline_block']}")
    if s["eta"]:
        when = datetime.fromtimestamp(s["eta"], UTC).strftime("%H:%M:%S UTC")
        console.print(f"  eta       {s['eta']} ({when})")


@app.command("propose")
def propose_cmd(
    description: str = typer.Argument(..., help="what the proposal does (also its identity)"),
    call: list[str] = typer.Option([], "--call", help='"TARGET SIGNATURE ARG..." (repeatable)'),
    kick: str = typer.Option(None, "--kick", help="shortcut: kick this sequencer signer"),
    rpc_url: str = RPC_URL,
    deployment: Path = DEPLOYMENT,
    key: str = KEY,
    dev: int = DEV_ACCOUNT,
) -> None:
    """Submit a proposal made of --call actions (and/or --kick)."""
    gov, dep = _connect(rpc_url, deployment)
    acct = account(key, dev)
    specs = list(call) + ([f"locking_pool kick(address) {kick}"] if kick else [])
    if not specs:
        raise ConfigError(
            "a proposal needs at least one action", 'add --call "TARGET SIG ARGS" or --kick'
        )
    actions = [parse_action(s, dep.addresses) for s in specs]
    p = Proposal.of(actions, description)
    pid = _run("propose", gov.propose, gov.chain.sender(acct), p)
    console.print(f"[green]proposed[/] {len(actions)} action(s): {description!r}")
    _show(gov, pid)


@app.command("vote")
def vote_cmd(
    proposal: str = PROPOSAL,
    support: str = typer.Option("for", "--support", help="for | against | abstain"),
    rpc_url: str = RPC_URL,
    deployment: Path = DEPLOYMENT,
    key: str = KEY,
    dev: int = DEV_ACCOUNT,
) -> None:
    """Vote on a proposal with the key's delegated votes."""
    gov, _ = _connect(rpc_url, deployment)
    acct = account(key, dev)
    pid = _pid(proposal)
    _run("vote", gov.vote, gov.chain.sender(acct), pid, support)
    console.print(f"[green]voted[/] {support} from {acct.address}")
    _show(gov, pid)


def _advance(
    step: str,
    done: str,
    proposal: str,
    rpc_url: str | None,
    deployment: Path | None,
    key: str | None,
    dev: int | None,
) -> None:
    """Queue or execute a proposal (``step`` names the Governance method), then show it."""
    gov, _ = _connect(rpc_url, deployment)
    acct = account(key, dev)
    pid = _pid(proposal)
    _run(step, getattr(gov, step), gov.chain.sender(acct), gov.find(pid))
    console.print(f"[green]{done}[/]")
    _show(gov, pid)


@app.command("queue")
def queue_cmd(
    proposal: str = PROPOSAL,
    rpc_url: str = RPC_URL,
    deployment: Path = DEPLOYMENT,
    key: str = KEY,
    dev: int = DEV_ACCOUNT,
) -> None:
    """Queue a succeeded proposal in the Timelock."""
    _advance("queue", "queued", proposal, rpc_url, deployment, key, dev)


@app.command("execute")
def execute_cmd(
    proposal: str = PROPOSAL,
    rpc_url: str = RPC_URL,
    deployment: Path = DEPLOYMENT,
    key: str = KEY,
    dev: int = DEV_ACCOUNT,
) -> None:
    """Execute a queued proposal after the timelock delay."""
    _advance("execute", "executed", proposal, rpc_url, deployment, key, dev)


WEI_FIELDS = ("id", "for", "against", "abstain", "quorum")  # JSON strings: exceed 2^53


@app.command("status")
def status_cmd(
    proposal: str = typer.Argument(None, help="proposal id (default: list all)"),
    rpc_url: str = RPC_URL,
    deployment: Path = DEPLOYMENT,
    as_json: bool = JSON,
) -> None:
    """One proposal's state, votes and ETA, or a table of all proposals."""
    gov, _ = _connect(rpc_url, deployment)
    if as_json:
        ids = [_pid(proposal)] if proposal is not None else gov.all_ids()
        out = []
        for pid in ids:
            s = gov.status(pid)
            out.append(
                {
                    "id": str(pid),
                    "description": gov.find(pid).description,
                    **{k: (str(v) if k in WEI_FIELDS else v) for k, v in s.items()},
                }
            )  # fmt: skip
        print_json(out[0] if proposal is not None else out)
        return
    if proposal is not None:
        pid = _pid(proposal)
        gov.find(pid)  # clear error for an unknown id
        _show(gov, pid)
        return
    table = Table(title="proposals")
    for col in ("id", "state", "for", "against", "description"):
        table.add_column(col)
    for pid in gov.all_ids():
        s = gov.status(pid)
        table.add_row(
            f"{pid:#x}"[:18] + "…",
            s["state"],
            f"{format_amount(s['for'])}",
            f"{format_amount(s['against'])}",
            gov.find(pid).description[:60],
        )
    console.print(table)
