"""``l2kit emeth ...``: requester commands and the EMETH daemons.

Connection options go before the command (or in the environment):
``l2kit emeth --el-url http://127.0.0.1:8700 job status 0x...``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from offchain.cli_common import (
    DEVNET_DEPLOYMENT,
    DEVNET_RPC_URL,
    STORAGE_URL,
    account,
    wait_for_signal,
)
from offchain.errors import ConfigError

app = typer.Typer(no_args_is_help=True)
job_app = typer.Typer(no_args_is_help=True, help="Register, cancel and follow jobs.")
app.add_typer(job_app, name="job")
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

    def programs(self) -> Any:
        from offchain.emeth.programs import default_registry

        return default_registry(self.program_modules)

    def account(self) -> Any:
        return account(self.key, self.dev_account)

    def chain(self) -> Any:
        from offchain.chain.client import Chain

        return Chain.connect(self.rpc_url)

    def l1(self, chain: Any = None) -> Any:
        from offchain.deploy import Deployment
        from offchain.emeth.l1 import EmethL1

        return EmethL1.from_deployment(chain or self.chain(), Deployment.load(self.deployment))

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
    el_url: str = typer.Option("http://127.0.0.1:8700", "--el-url", envvar="L2KIT_EMETH_URL"),
    key: str = typer.Option(None, "--key", envvar="L2KIT_PRIVATE_KEY", help="actor private key"),
    dev: int = typer.Option(None, "--dev-account", help="use Anvil dev account N (devnet)"),
    programs: str = typer.Option(
        "",
        "--programs",
        envvar="L2KIT_EMETH_PROGRAMS",
        help="extra program modules, comma-separated (each with register(registry))",
    ),
) -> None:
    """EMETH compute marketplace: requester commands and daemons."""
    mods = [m.strip() for m in programs.split(",") if m.strip()]
    ctx.obj = Opts(rpc_url, deployment, storage_url, el_url, key, dev, mods)


def _wei(amount: str) -> int:
    try:
        v = Decimal(amount)
    except InvalidOperation:
        raise ConfigError(f"not an amount: {amount!r}", "give EMETH, e.g. 12.5") from None
    if v <= 0:
        raise ConfigError("the amount must be positive")
    return int(v * 10**18)


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
    console.print(f"deposited; balance {Decimal(st.balance) / 10**18} EMETH")


@app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    amount: str = typer.Argument(None, help="EMETH to request (omit with --finalize)"),
    finalize: bool = typer.Option(
        False, "--finalize", help="withdraw a request whose delay passed"
    ),
) -> None:
    """Request a delayed withdrawal of AMOUNT, or --finalize a ready one."""
    o: Opts = ctx.obj
    chain = o.chain()
    l1 = o.l1(chain)
    acct = o.account()
    if finalize:
        l1.withdraw(chain.sender(acct))
        console.print("withdrawn")
        return
    if amount is None:
        raise ConfigError("give an AMOUNT to request, or --finalize")
    l1.request_withdrawal(chain.sender(acct), _wei(amount))
    st = l1.deposit_of(acct.address)
    console.print(f"withdrawal of {amount} EMETH requested; ready at unix {st.ready_at}")


@app.command("funds")
def funds(ctx: typer.Context, requester: str = typer.Argument(None)) -> None:
    """Deposit, pending withdrawal, committed fees and what is available (execution layer)."""
    o: Opts = ctx.obj
    addr = requester or o.account().address
    console.print_json(json.dumps(o.client().funds(addr)))


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
def job_status(ctx: typer.Context, job_id: str = typer.Argument(...)) -> None:
    """State of a job (and its SubJobs) and its history."""
    o: Opts = ctx.obj
    c = o.client()
    jid = _job_id(job_id)
    j = c.job(jid)
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
) -> None:
    """Fetch the accepted result of a job (a split job's aggregated result)."""
    import sys

    from offchain.emeth.requester import fetch_result

    o: Opts = ctx.obj
    data = fetch_result(o.client(), o.blobs(), _job_id(job_id))
    if out is None:
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
    port: int = typer.Option(8700, "--port", help="execution layer HTTP port"),
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
    agents_cfg.el_port = port
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
    port: int = typer.Option(8700, "--port"),
    db_url: str = typer.Option("sqlite:///.devnet/emeth.db", "--db-url", envvar="L2KIT_EMETH_DB"),
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
    from offchain.emeth.runtime import EmethAgentsConfig, build_service

    if action != "run":
        raise ConfigError(f"unknown action {action!r}", "use `el run`")
    o: Opts = ctx.obj
    c = EmethAgentsConfig()
    params = load_config().emeth
    l1 = o.l1()

    def addrs(given: str, default: str) -> set[str]:
        return {a.strip() for a in (given or default).split(",") if a.strip()}

    roles = Roles(
        splitters=addrs(splitters, dev_account(c.splitter_account).address),
        verifiers=addrs(verifiers, dev_account(c.verifier_account).address),
        aggregators=addrs(aggregators, dev_account(c.aggregator_account).address),
        signers=addrs(signers, params.signer_address or dev_account(params.signer_account).address),
    )
    service = build_service(l1, db_url, roles, o.programs())
    watcher = L1Watcher(service, l1)
    server = ExecutionLayerServer(service, port=port, agents_health=lambda: [watcher.health()])
    server.start()
    console.print(f"EMETH execution layer {server.url}")
    try:
        _run_agents([watcher])
    finally:
        server.stop()


def _agent_command(name: str) -> None:
    @app.command(name)
    def _cmd(
        ctx: typer.Context,
        action: str = typer.Argument("run"),
        hold_s: float = typer.Option(
            0.0, "--hold-s", help="node: pause between process and submit"
        ),
        behaviour: str = typer.Option("honest", "--behaviour", help="node: honest|cheat|stall"),
        interval_s: float = typer.Option(
            2.0, "--interval-s", help="signer: seconds between rounds"
        ),
        metrics_port: int = typer.Option(
            0, "--metrics-port", help="serve /health (200/503) and /metrics on this port"
        ),
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
            l1 = o.l1()
            agent = Signer(o.client(), acct, l1.chain_id, l1.core_address, interval_s)
        else:
            chain = o.chain()
            agent = Billing(o.client(), o.l1(chain), chain.sender(acct), acct.address)
        console.print(f"{agent.name} running as {acct.address}")
        _run_agents([agent], metrics_port)

    _cmd.__doc__ = f"``{name} run``: run the {name} agent until SIGTERM."


for _name in AGENTS[1:]:
    _agent_command(_name)
