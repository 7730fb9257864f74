"""``l2kit emeth ...``: requester commands and the EMETH daemons.

Connection options go before the command (or in the environment):
``l2kit emeth --el-url http://127.0.0.1:8800 job status 0x...`` (the default: config
``network.el_url``; the execution layer listens on ``devnet.el_port`` = 8800 by default, the
explorer on 8700).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from offchain.cli_common import (
    ACCOUNT_ALIAS,
    DEVNET_DEPLOYMENT,
    DEVNET_RPC_URL,
    EL_URL,
    JSON,
    KEYSTORE,
    STORAGE_URL,
    account,
    blob_json,
    check_chain,
    from_config,
    print_json,
    resolve,
    wait_for_signal,
)
from offchain.common.amounts import format_amount
from offchain.emeth.cli_collateral import app as collateral_app
from offchain.errors import ConfigError

app = typer.Typer(no_args_is_help=True)
job_app = typer.Typer(no_args_is_help=True, help="Register, cancel and follow jobs.")
app.add_typer(job_app, name="job")
app.add_typer(collateral_app, name="collateral")
tickets_app = typer.Typer(no_args_is_help=True, help="Watch posted Tickets and dispute them.")
app.add_typer(tickets_app, name="tickets")
console = Console(soft_wrap=True)

AGENTS = ("el", "node", "splitter", "verifier", "timeouts", "aggregator", "signer", "billing")


@dataclass
class Opts:
    rpc_url: str
    deployment: Path
    storage_url: str
    el_url: str
    key: str | None
    dev_account: int | None
    program_modules: list[str]
    keystore: Path | None = None
    alias: str | None = None

    def programs(self) -> Any:
        from offchain.emeth.programs import default_registry

        return default_registry(self.program_modules)

    def account(self) -> Any:
        return account(self.key, self.dev_account, self.keystore, self.alias)

    def chain(self) -> Any:
        from offchain.chain.client import Chain

        return Chain.connect(self.rpc_url)

    def l1(self, chain: Any = None) -> Any:
        from offchain.deploy import Deployment
        from offchain.emeth.l1 import EmethL1

        chain = chain or self.chain()
        dep = Deployment.load(self.deployment)
        check_chain(chain.chain_id, dep.chain_id, self.rpc_url, self.deployment)
        return EmethL1.from_deployment(chain, dep)

    def client(self) -> Any:
        from offchain.emeth.execution.client import ExecutionClient

        return ExecutionClient(self.el_url)

    def blobs(self) -> Any:
        from offchain.storage.client import BlobClient

        return BlobClient(self.storage_url)


@app.callback()
def _options(
    ctx: typer.Context,
    rpc_url: str = DEVNET_RPC_URL,
    deployment: Path = DEVNET_DEPLOYMENT,
    storage_url: str = STORAGE_URL,
    el_url: str = EL_URL,
    key: str = typer.Option(None, "--key", envvar="L2KIT_PRIVATE_KEY", help="actor private key"),
    dev: int = typer.Option(None, "--dev-account", help="use Anvil dev account N (devnet)"),
    keystore: Path = KEYSTORE,
    alias: str = ACCOUNT_ALIAS,
    programs: str = typer.Option(
        "",
        "--programs",
        envvar="L2KIT_EMETH_PROGRAMS",
        help="extra program modules, comma-separated (each with register(registry))",
    ),
) -> None:
    """EMETH compute marketplace: requester commands and daemons."""
    mods = [m.strip() for m in programs.split(",") if m.strip()]
    if ctx.resilient_parsing or ctx.invoked_subcommand is None:
        return
    rpc_url, deployment = resolve(rpc_url, deployment)
    storage_url = from_config(storage_url, "network.storage_url")
    el_url = from_config(el_url, "network.el_url")
    ctx.obj = Opts(rpc_url, deployment, storage_url, el_url, key, dev, mods, keystore, alias)


def _wei(amount: str) -> int:
    """Exact base units of a decimal EMETH amount (no float, no rounding)."""
    from offchain.common.amounts import parse_amount

    return parse_amount(amount)


def _job_id(job_id: str) -> str:
    from offchain.emeth.errors import ActionError
    from offchain.emeth.execution.actions import job_id_hex

    try:
        return job_id_hex(job_id)
    except ActionError as e:
        raise ConfigError(e.message, "a job id is 0x + 32 hex digits") from None


# ---------------------------------------------------------------- requester
@app.command("deposit")
def deposit(ctx: typer.Context, amount: str = typer.Argument(..., help="EMETH")) -> None:
    """Deposit AMOUNT EMETH into EmethCore as a requester."""
    o: Opts = ctx.obj
    chain = o.chain()
    l1 = o.l1(chain)
    acct = o.account()
    l1.deposit(chain.sender(acct), _wei(amount))
    st = l1.deposit_of(acct.address)
    console.print(f"deposited; balance {format_amount(st.balance)} EMETH")


@app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    amount: str = typer.Argument(None, help="EMETH to request (omit with --finalize)"),
    finalize: bool = typer.Option(
        False, "--finalize", help="withdraw a request whose delay passed"
    ),
) -> None:
    """Request a delayed withdrawal of AMOUNT, or --finalize a ready one.

    Both prove the requester's newest debit in a settled Ticket (from the execution layer),
    so EmethCore counts every debit (docs/spec.md, "Debits and lazy balances")."""
    from offchain.emeth.requester import own_debit_proofs

    o: Opts = ctx.obj
    chain = o.chain()
    l1 = o.l1(chain)
    acct = o.account()
    if not finalize and amount is None:
        raise ConfigError("give an AMOUNT to request, or --finalize")
    proofs = own_debit_proofs(o.client(), l1, acct.address)
    if finalize:
        l1.withdraw(chain.sender(acct), proofs)
        console.print("withdrawn")
        return
    l1.request_withdrawal(chain.sender(acct), _wei(amount), proofs)
    st = l1.deposit_of(acct.address)
    console.print(f"withdrawal of {amount} EMETH requested; ready at unix {st.ready_at}")


@tickets_app.command("watch")
def tickets_watch(
    ctx: typer.Context,
    interval_s: float = typer.Option(2.0, "--interval-s", help="seconds between L1 reads"),
    once: bool = typer.Option(False, "--once", help="check the posted Tickets once and exit"),
    everyone: bool = typer.Option(
        False, "--all", help="dispute any unbacked Ticket, not only those billing this key"
    ),
) -> None:
    """Recheck every Ticket posted on EmethCore that bills this key (its published leaves
    against the signed RegisterJob, L1 cancels, earlier Tickets) and dispute an unbacked one
    within its window; the disputer's share of the slashed bond goes to this key
    (docs/spec.md, "Disputes and the bonded Signer set")."""
    import time

    from offchain.emeth.disputes import TicketWatcher

    o: Opts = ctx.obj
    chain = o.chain()
    l1 = o.l1(chain)
    acct = o.account()
    w = TicketWatcher(o.client(), l1, chain.sender(acct), watch=None if everyone else acct.address)
    shown = 0
    while True:
        counts = w.step()
        for d in w.disputes[shown:]:
            console.print(
                f"disputed Ticket {d.ticket_id} ({d.reason}, job 0x{d.job_id.hex()}): "
                f"{format_amount(d.slashed)} EMETH slashed, {format_amount(d.reward)} to you"
            )
        shown = len(w.disputes)
        if once:
            console.print(
                f"{counts['open']} posted Tickets open, {counts['unavailable']} without "
                f"published leaves, {shown} disputed"
            )
            return
        time.sleep(interval_s)


@app.command("funds")
def funds(ctx: typer.Context, requester: str = typer.Argument(None), as_json: bool = JSON) -> None:
    """Deposit, pending withdrawal, committed fees and what is available (execution layer)."""
    o: Opts = ctx.obj
    addr = requester or o.account().address
    data = o.client().funds(addr)
    if as_json:
        print_json(data)
        return
    console.print_json(json.dumps(data))


@job_app.command("submit")
def job_submit(
    ctx: typer.Context,
    dataset: Path = typer.Argument(..., help="dataset file (stored in the blob store)"),
    program: str = typer.Option(..., "--program", "-p", help="ProgramId, e.g. wordcount/v1"),
    fee: str = typer.Option(..., "--fee", help="EMETH paid to the node(s)"),
    timeout_s: int = typer.Option(60, "--timeout", help="processing window in seconds"),
    expires_in_s: int = typer.Option(3600, "--expires-in", help="seconds until the job expires"),
    split: bool = typer.Option(False, "--split/--no-split", help="allow splitting into SubJobs"),
    params: str = typer.Option("{}", "--params", help="program parameters (JSON object)"),
) -> None:
    """Register a job over DATASET and print its id."""
    from offchain.emeth.requester import submit_job

    o: Opts = ctx.obj
    try:
        data = dataset.read_bytes()
        p = json.loads(params)
    except OSError as e:
        raise ConfigError(f"cannot read {dataset}: {e.strerror}") from e
    except ValueError as e:
        raise ConfigError(f"--params is not JSON: {e}") from e
    job = submit_job(
        o.client(),
        o.blobs(),
        o.account(),
        program,
        data,
        _wei(fee),
        timeout_s=timeout_s,
        expires_in_s=expires_in_s,
        splittable=split,
        params=p,
    )
    console.print(job["jobId"])


@job_app.command("cancel")
def job_cancel(ctx: typer.Context, job_id: str = typer.Argument(...)) -> None:
    """Declare JOB_ID cancelled on L1 (honoured if it has not started processing)."""
    o: Opts = ctx.obj
    chain = o.chain()
    o.l1(chain).cancel(chain.sender(o.account()), bytes.fromhex(_job_id(job_id)[2:]))
    console.print(f"cancel of {job_id} declared on L1")


@job_app.command("status")
def job_status(
    ctx: typer.Context,
    job_id: str = typer.Argument(...),
    as_json: bool = typer.Option(False, "--json", help="print one JSON document"),
) -> None:
    """State of a job (and its SubJobs) and its history."""
    o: Opts = ctx.obj
    c = o.client()
    jid = _job_id(job_id)
    j = c.job(jid)
    if as_json:
        subs = c.jobs(parent=jid, limit=1000)
        print_json({"job": j, "subjobs": subs, "history": c.history(jid)})
        return
    console.print(f"{jid}  {j['state']}  attempt {j['attempt']}  node {j['node'] or '-'}")
    for s in c.jobs(parent=jid, limit=1000):
        console.print(
            f"  sub {s['subIndex']:>3} {s['jobId']}  {s['state']}  node {s['node'] or '-'}"
        )
    for h in c.history(jid):
        console.print(f"  {h['action']:<13} {h['from_state'] or '-':>10} -> {h['to_state']}")


@job_app.command("result")
def job_result(
    ctx: typer.Context,
    job_id: str = typer.Argument(...),
    out: Path = typer.Option(None, "--out", "-o", help="write here instead of stdout"),
    as_json: bool = typer.Option(
        False, "--json", help="print {jobId, bytes, hex, text} (text: null unless UTF-8)"
    ),
) -> None:
    """Fetch the accepted result of a job (a split job's aggregated result)."""
    import sys

    from offchain.emeth.requester import fetch_result

    o: Opts = ctx.obj
    jid = _job_id(job_id)
    data = fetch_result(o.client(), o.blobs(), jid)
    if as_json:
        print_json(blob_json(data, jobId=jid))
    elif out is None:
        sys.stdout.buffer.write(data)
    else:
        out.write_bytes(data)


# ------------------------------------------------------------------ daemons
def _run_agents(agents: list[Any], metrics_port: int = 0) -> None:
    """Run ``agents`` until SIGTERM; with ``metrics_port``, serve their /health and /metrics.

    Raises:
        FatalError: an agent stopped on an error a restart cannot fix (exit code 3).
    """
    from offchain.common.agent_http import agent_app
    from offchain.common.http import BackgroundServer

    server = None
    if metrics_port:
        app = agent_app(lambda: agents, "l2kit EMETH agent")
        server = BackgroundServer(app, port=metrics_port, name="agent metrics").start()
        console.print(f"health and metrics on {server.url}/health, {server.url}/metrics")
    for a in agents:
        a.start()
    try:
        wait_for_signal(daemons=lambda: agents)
    finally:
        for a in agents:
            a.stop()
        if server is not None:
            server.stop()
        console.print("stopped")


@app.command("run-all")
def run_all(
    ctx: typer.Context,
    port: int = typer.Option(
        None,
        "--port",
        help="execution layer port (default: config emeth_agents.el_port, 0 there: devnet.el_port)",
    ),
    data_dir: Path = typer.Option(Path(".devnet"), "--data-dir"),
    nodes: int = typer.Option(3, "--nodes", help="devnet nodes to run"),
) -> None:
    """Execution layer and every agent in one process, on a devnet (dev keys)."""
    from offchain.chain.accounts import dev_account
    from offchain.config import load_config
    from offchain.emeth.runtime import EmethStack

    o: Opts = ctx.obj
    cfg = load_config()
    params = cfg.emeth
    agents_cfg = cfg.emeth_agents
    agents_cfg.el_port = port if port is not None else (agents_cfg.el_port or cfg.devnet.el_port)
    agents_cfg.program_modules = agents_cfg.program_modules or o.program_modules
    chain = o.chain()
    stack = EmethStack(
        chain,
        o.l1(chain),
        o.storage_url,
        data_dir,
        dev_account(params.signer_account),
        [dev_account(i) for i in params.node_accounts[:nodes]],
        config=agents_cfg,
    )
    try:
        stack.fund_nodes()
        stack.start_service().start_agents()
        console.print(f"EMETH execution layer {stack.url}; {len(stack.agents)} agents running")
        wait_for_signal(daemons=lambda: stack.agents)
    finally:
        stack.stop()
        console.print("stopped")


@app.command("el")
def el_run(
    ctx: typer.Context,
    action: str = typer.Argument("run"),
    port: int = typer.Option(
        None,
        "--port",
        help="HTTP port (default: config emeth_agents.el_port, 0 there: devnet.el_port)",
    ),
    db_url: str = typer.Option(
        None,
        "--db-url",
        envvar="L2KIT_EMETH_DB",
        help="SQLAlchemy URL (default: config emeth_agents.db_url, else sqlite:///.devnet/emeth.db)",
    ),
    verifiers: str = typer.Option("", "--verifiers", help="comma-separated (default: dev 37)"),
    splitters: str = typer.Option("", "--splitters", help="comma-separated (default: dev 38)"),
    aggregators: str = typer.Option("", "--aggregators", help="comma-separated (default: dev 39)"),
    signers: str = typer.Option("", "--signers", help="comma-separated (default: deploy's signer)"),
) -> None:
    """``el run``: the execution layer service (HTTP API + L1 watcher) alone."""
    from offchain.chain.accounts import dev_account
    from offchain.config import load_config
    from offchain.emeth.agents.l1watch import L1Watcher
    from offchain.emeth.execution.api import ExecutionLayerServer
    from offchain.emeth.execution.config import Roles
    from offchain.emeth.runtime import build_service

    if action != "run":
        raise ConfigError(f"unknown action {action!r}", "use `el run`")
    o: Opts = ctx.obj
    cfg = load_config()
    c, params = cfg.emeth_agents, cfg.emeth
    port = port if port is not None else (c.el_port or cfg.devnet.el_port)
    db_url = db_url or c.db_url or "sqlite:///.devnet/emeth.db"
    l1 = o.l1()

    def addrs(given: str, default: str) -> set[str]:
        return {a.strip() for a in (given or default).split(",") if a.strip()}

    roles = Roles(
        splitters=addrs(splitters, dev_account(c.splitter_account).address),
        verifiers=addrs(verifiers, dev_account(c.verifier_account).address),
        aggregators=addrs(aggregators, dev_account(c.aggregator_account).address),
        signers=addrs(signers, params.signer_address or dev_account(params.signer_account).address),
    )
    service = build_service(
        l1,
        db_url,
        roles,
        o.programs(),
        c.penalty_bps,
        storage_url=o.storage_url,
        settle_margin_s=c.settle_margin_s,
    )
    watcher = L1Watcher(service, l1, confirmations=c.confirmations_on(l1.chain.chain_id))
    server = ExecutionLayerServer(service, port=port, agents_health=lambda: [watcher.health()])
    server.start()
    console.print(f"EMETH execution layer {server.url}")
    try:
        _run_agents([watcher])
    finally:
        server.stop()


ACTION = typer.Argument("run", help="run")
METRICS_PORT = typer.Option(
    0, "--metrics-port", help="serve /health (200/503) and /metrics on this port"
)
HOLD_S = typer.Option(0.0, "--hold-s", help="pause between process and submit")
BEHAVIOUR = typer.Option("honest", "--behaviour", help="honest|cheat|stall (devnet tests)")
INTERVAL_S = typer.Option(2.0, "--interval-s", help="seconds between Ticket rounds")


# Agents that act through the execution layer only, and the operator role each needs there.
EL_ROLES = {"splitter": "splitter", "verifier": "verifier", "timeouts": "verifier",
            "aggregator": "aggregator", "signer": "signer"}  # fmt: skip


def _preflight(name: str, o: Opts, acct: Any) -> None:
    """Refuse to start a role whose key cannot act (instead of running and doing nothing).

    Raises:
        ConfigError: the execution layer does not grant this key the agent's role (splitter,
            verifier and timeouts, aggregator, signer); the signer key is not authorised on
            EmethCore; the node key holds too little collateral; the billing key is not a
            node and cannot pay gas.
        WrongChainError: the L1 or the execution layer serves another chain than the
            deployment's.
    """
    if name in EL_ROLES and name != "signer":
        _check_el_role(name, EL_ROLES[name], o, acct.address)
    if name not in ("signer", "node", "billing"):
        return
    from offchain.errors import FatalError, L2KitError

    try:
        chain = o.chain()
        l1 = o.l1(chain)
    except FatalError:
        raise
    except L2KitError as e:
        if name != "node":
            raise
        # A node talks only to the execution layer (which checks collateral on every job).
        console.print(f"warning: cannot check the node's collateral on L1: {e.message}")
        return
    me = acct.address
    if name == "signer" and not l1.is_signer(me):
        raise ConfigError(
            f"{me} is not an authorised Ticket signer on EmethCore {l1.core_address}",
            "run the signer with the key of emeth.signer_address (set at deploy)",
        )
    if name == "node" and not l1.is_eligible_node(me):
        st = l1.collateral_of(me)
        raise ConfigError(
            f"node {me} cannot take jobs: collateral {format_amount(st.available)} EMETH, "
            f"minimum {format_amount(l1.min_collateral())}",
            "deposit with `l2kit emeth collateral deposit AMOUNT`",
        )
    if name == "billing":
        st = l1.collateral_of(me)
        if st.balance == 0 and not o.client().tickets(node=me):
            raise ConfigError(
                f"{me} is not an EMETH node (no collateral, no Tickets): nothing to settle",
                "run billing with the node's own key",
            )
        if int(chain.w3.eth.get_balance(me)) == 0:
            raise ConfigError(
                f"{me} holds no ETH to pay for postTicket and finalizeTicket", f"send ETH to {me}"
            )
    if name == "signer":  # authorised on L1: the execution layer must accept its Tickets too
        _check_el_role(name, "signer", o, me)


def _check_el_role(name: str, role: str, o: Opts, me: str) -> None:
    """The execution layer at ``o.el_url`` is for the deployment's chain and grants ``me``
    ``role``; only a warning while it cannot be reached (the agent retries it forever)."""
    from offchain.deploy import Deployment
    from offchain.emeth.errors import ExecutionLayerError
    from offchain.errors import WrongChainError

    client = o.client()
    try:
        domain, roles = client.domain(), client.roles(me)
    except (ExecutionLayerError, ValueError, KeyError) as e:
        if isinstance(e, ExecutionLayerError) and e.status not in (0, 404) and e.status < 500:
            raise
        console.print(f"warning: cannot check the {role} role on the execution layer: {e}")
        return
    dep = Deployment.load(o.deployment)
    if domain.chain_id != dep.chain_id:
        raise WrongChainError(
            f"wrong chain: the execution layer at {o.el_url} signs for chain {domain.chain_id} "
            f"but {o.deployment} is for chain {dep.chain_id}",
            "pass the matching --el-url / --deployment",
        )
    if role not in roles:
        raise ConfigError(
            f"{me} is not an authorised {role} on the execution layer at {o.el_url} "
            f"(its roles there: {', '.join(roles) or 'none'}): the {name} cannot act",
            f"start `l2kit emeth el run --{role}s {me}`, or run the {name} with that key",
        )


def _start_agent(
    name: str,
    ctx: typer.Context,
    action: str,
    metrics_port: int,
    hold_s: float = 0.0,
    behaviour: str = "honest",
    interval_s: float = 2.0,
) -> None:
    from offchain.emeth.agents.aggregator import Aggregator
    from offchain.emeth.agents.billing import Billing
    from offchain.emeth.agents.node import NodePolicy, NodeWorker
    from offchain.emeth.agents.signer import Signer
    from offchain.emeth.agents.splitter import Splitter
    from offchain.emeth.agents.timeouts import TimeoutWatcher
    from offchain.emeth.agents.verifier import Verifier

    if action != "run":
        raise ConfigError(f"unknown action {action!r}", f"use `{name} run`")
    o: Opts = ctx.obj
    acct = o.account()
    _preflight(name, o, acct)
    reg = o.programs()
    agent: Any
    if name == "node":
        agent = NodeWorker(
            o.client(), o.blobs(), reg, acct, NodePolicy(hold_s=hold_s, behaviour=behaviour)
        )
    elif name == "splitter":
        agent = Splitter(o.client(), o.blobs(), reg, acct)
    elif name == "verifier":
        agent = Verifier(o.client(), o.blobs(), reg, acct)
    elif name == "timeouts":
        agent = TimeoutWatcher(o.client(), acct)
    elif name == "aggregator":
        agent = Aggregator(o.client(), o.blobs(), reg, acct)
    elif name == "signer":
        chain = o.chain()
        l1 = o.l1(chain)
        agent = Signer(
            o.client(),
            acct,
            l1.chain_id,
            l1.core_address,
            interval_s,
            l1=l1,
            sender=chain.sender(acct),
        )
    else:
        chain = o.chain()
        agent = Billing(o.client(), o.l1(chain), chain.sender(acct), acct.address)
    console.print(f"{agent.name} running as {acct.address}")
    _run_agents([agent], metrics_port)


@app.command("node")
def node_cmd(
    ctx: typer.Context,
    action: str = ACTION,
    hold_s: float = HOLD_S,
    behaviour: str = BEHAVIOUR,
    metrics_port: int = METRICS_PORT,
) -> None:
    """``node run``: take jobs, run programs, submit results (needs collateral)."""
    _start_agent("node", ctx, action, metrics_port, hold_s=hold_s, behaviour=behaviour)


@app.command("signer")
def signer_cmd(
    ctx: typer.Context,
    action: str = ACTION,
    interval_s: float = INTERVAL_S,
    metrics_port: int = METRICS_PORT,
) -> None:
    """``signer run``: build and sign Tickets (needs the authorised signer key)."""
    _start_agent("signer", ctx, action, metrics_port, interval_s=interval_s)


def _plain_agent(name: str, doc: str) -> None:
    def _cmd(ctx: typer.Context, action: str = ACTION, metrics_port: int = METRICS_PORT) -> None:
        _start_agent(name, ctx, action, metrics_port)

    _cmd.__doc__ = doc
    app.command(name)(_cmd)


_plain_agent("splitter", "``splitter run``: split splittable jobs into SubJobs.")
_plain_agent("verifier", "``verifier run``: re-run and accept or reject submitted results.")
_plain_agent("timeouts", "``timeouts run``: expire jobs whose node missed its deadline.")
_plain_agent("aggregator", "``aggregator run``: combine SubJob results into the job's result.")
_plain_agent("billing", "``billing run``: settle this node's Tickets on EmethCore.")
