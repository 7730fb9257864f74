"""``l2kit emeth collateral deposit|withdraw|status``: a node's collateral in EmethCore.

Mounted on ``l2kit emeth`` (connection and key options go before ``collateral``, as for
every ``emeth`` command). Amounts are exact decimal EMETH; ``--json`` prints wei strings.
"""

from __future__ import annotations

from typing import Any

import typer

from offchain.cli_common import JSON, make_console, print_json, when
from offchain.common.amounts import format_amount, parse_amount
from offchain.errors import ConfigError

app = typer.Typer(no_args_is_help=True, help="A node's collateral: deposit, withdraw, status.")
console = make_console()


def _status(o: Any, l1: Any, node: str) -> dict[str, Any]:
    st = l1.collateral_of(node)
    return {
        "node": node,
        "collateral_wei": st.balance,
        "pending_wei": st.pending,
        "ready_at": st.ready_at,
        "available_wei": st.available,
        "min_collateral_wei": l1.min_collateral(),
        "eligible": l1.is_eligible_node(node),
        "penalty_shortfall_wei": l1.penalty_shortfall(node),
    }


def _show(s: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json({k: str(v) if k.endswith("_wei") else v for k, v in s.items()})
        return
    console.print(
        f"node {s['node']}: collateral {format_amount(s['collateral_wei'])} EMETH "
        f"(pending withdrawal {format_amount(s['pending_wei'])}"
        + (f", ready at {when(s['ready_at'])}" if s["ready_at"] else "")
        + f"), minimum {format_amount(s['min_collateral_wei'])}, "
        + ("eligible for jobs" if s["eligible"] else "NOT eligible for jobs"),
        highlight=False,
    )


@app.command("deposit")
def deposit(
    ctx: typer.Context,
    amount: str = typer.Argument(..., help="EMETH (exact decimal)"),
    as_json: bool = JSON,
) -> None:
    """Deposit AMOUNT EMETH as this node's collateral."""
    o = ctx.obj
    chain = o.chain()
    l1 = o.l1(chain)
    acct = o.account()
    l1.deposit_collateral(chain.sender(acct), parse_amount(amount))
    _show(_status(o, l1, acct.address), as_json)


@app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    amount: str = typer.Argument(None, help="EMETH to request (omit with --finalize)"),
    finalize: bool = typer.Option(
        False, "--finalize", help="withdraw a request whose delay passed"
    ),
    as_json: bool = JSON,
) -> None:
    """Request a delayed withdrawal of AMOUNT collateral, or --finalize a ready one."""
    o = ctx.obj
    chain = o.chain()
    l1 = o.l1(chain)
    acct = o.account()
    if finalize:
        l1.withdraw_collateral(chain.sender(acct))
    elif amount is None:
        raise ConfigError("give an AMOUNT to request, or --finalize")
    else:
        l1.request_collateral_withdrawal(chain.sender(acct), parse_amount(amount))
    _show(_status(o, l1, acct.address), as_json)


@app.command("status")
def status(
    ctx: typer.Context,
    node: str = typer.Argument(None, help="node address (default: the key's)"),
    as_json: bool = JSON,
) -> None:
    """Collateral, pending withdrawal, minimum and eligibility of NODE."""
    o = ctx.obj
    l1 = o.l1()
    _show(_status(o, l1, node or o.account().address), as_json)
