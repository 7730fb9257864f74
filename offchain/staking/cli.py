"""``l2kit sequencer lock|relock|unlock|claim|rewards|status|run``: manage a sequencer's stake.

Every command reads the deployment file (``--deployment``) and talks to ``--rpc-url``. Keys
come from ``--key`` / ``$L2KIT_PRIVATE_KEY`` or, on a devnet, ``--dev-account N``. Reverts are
printed as one line with the contract's custom error and a hint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from eth_utils import is_address, to_checksum_address
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
    stop_on_signal,
    when,
)
from offchain.common.amounts import format_amount, parse_amount
from offchain.errors import ConfigError
from offchain.staking.errors import StakingError

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from offchain.chain.client import Chain
    from offchain.staking.contracts import StakingContracts

app = typer.Typer(no_args_is_help=True, help="Lock stake, exit, claim, and run a sequencer node.")
console = make_console()

HINTS = {
    "LockingPoolStakeTooLow": "lock at least the minimum (see `l2kit sequencer status`)",
    "LockingPoolStakeTooHigh": "a sequencer's stake may not exceed the maximum",
    "LockingPoolSetFull": "the active set is full; wait for a sequencer to exit",
    "LockingPoolNotWhitelisted": "ask governance to whitelist your owner address",
    "LockingPoolSignerUnavailable": "use a fresh signer address (signers are never reused)",
    "LockingPoolNotSequencerOwner": "use the owner key that locked this sequencer",
    "LockingPoolWrongStatus": "check the sequencer's status with `l2kit sequencer status SIGNER`",
    "LockingPoolTooManyExiting": "at most 1/3 of the set may exit at once; try again later",
    "LockingPoolWithdrawalDelayNotOver": "wait until the unlock time shown by `status`",
    "LockingPoolNothingToClaim": "there is nothing to withdraw or compound",
    "EnforcedPause": "the LockingPool is paused (a pause ends by itself within 7 days)",
    "LockingPoolNoSlashReward": "no slash reward is credited to this account",
    "LockingPoolNothingToBurn": "no slashed tokens are waiting to be burned",
    "ERC20InsufficientBalance": "the owner account does not hold enough tokens",
}


SIGNER = typer.Argument(..., help="sequencer signer address")


@dataclass
class Ctx:
    chain: Chain
    staking: StakingContracts
    addresses: dict[str, str]


def _connect(rpc_url: str | None, deployment: Path | None) -> Ctx:
    from offchain.staking.contracts import StakingContracts

    chain, dep = connect(rpc_url, deployment)
    return Ctx(chain, StakingContracts.from_deployment(chain, dep), dep.addresses)


def _acting(
    rpc_url: str | None, deployment: Path | None, key: str | None, dev: int | None
) -> tuple[Ctx, LocalAccount]:
    """The connected contracts and the account acting on them (from the common options)."""
    return _connect(rpc_url, deployment), account(key, dev)


def _address(value: str | None, default: str) -> str:
    if value is None:
        return default
    if not is_address(value):
        raise ConfigError(f"{value!r} is not an address")
    return to_checksum_address(value)


def _tokens(amount: str) -> int:
    """Exact base units of a decimal token amount (no float: 25000 -> 25000 * 10**18)."""
    return parse_amount(amount, allow_zero=True)


def _fmt(units: int) -> str:
    return format_amount(units)


def _send(ctx: Ctx, acct: LocalAccount, call: Any) -> Any:
    return explain_reverts(StakingError, HINTS)(ctx.chain.sender(acct).send, call)


def _ensure_allowance(ctx: Ctx, acct: LocalAccount, amount: int) -> None:
    token, pool = ctx.staking.token, ctx.staking.pool
    have = token.functions.balanceOf(acct.address).call()
    if have < amount:
        raise StakingError(
            f"{acct.address} holds {_fmt(have)} tokens, needs {_fmt(amount)}",
            "get tokens first (on a devnet the deployer mints them)",
        )
    if token.functions.allowance(acct.address, pool.address).call() < amount:
        _send(ctx, acct, token.functions.approve(pool.address, amount))


@app.command("lock")
def lock_cmd(
    amount: str = typer.Argument(..., help="tokens to lock (exact decimal, e.g. 25000 or 0.5)"),
    signer: str = typer.Option(None, "--signer", help="node signer address (default: the key's)"),
    rpc_url: str = RPC_URL,
    deployment: Path = DEPLOYMENT,
    key: str = KEY,
    dev: int = DEV_ACCOUNT,
) -> None:
    """Lock AMOUNT tokens from the key's account and register SIGNER as a sequencer."""
    ctx, acct = _acting(rpc_url, deployment, key, dev)
    who = _address(signer, acct.address)
    wei = _tokens(amount)
    _ensure_allowance(ctx, acct, wei)
    _send(ctx, acct, ctx.staking.pool.functions.lock(who, wei))
    n = ctx.staking.pool.functions.activeCount().call()
    console.print(f"[green]locked[/] {_fmt(wei)} tokens for signer {who} (owner {acct.address})")
    console.print(f"active set: {n} sequencer(s)")


@app.command("relock")
def relock_cmd(
    signer: str = SIGNER,
    amount: str = typer.Option("0", "--amount", help="fresh tokens to add (exact decimal)"),
    compound: bool = typer.Option(False, "--compound", help="also lock the accrued reward"),
    rpc_url: str = RPC_URL,
    deployment: Path = DEPLOYMENT,
    key: str = KEY,
    dev: int = DEV_ACCOUNT,
) -> None:
    """Add tokens (and optionally the accrued reward) to an active sequencer's stake."""
    ctx, acct = _acting(rpc_url, deployment, key, dev)
    who = _address(signer, acct.address)
    wei = _tokens(amount)
    if wei:
        _ensure_allowance(ctx, acct, wei)
    _send(ctx, acct, ctx.staking.pool.functions.relock(who, wei, compound))
    rec = ctx.staking.sequencer(who)
    console.print(f"[green]relocked[/] {who}: stake now {_fmt(rec['stake_wei'])} tokens")


@app.command("unlock")
def unlock_cmd(
    signer: str = SIGNER,
    rpc_url: str = RPC_URL,
    deployment: Path = DEPLOYMENT,
    key: str = KEY,
    dev: int = DEV_ACCOUNT,
) -> None:
    """Start exiting: leave the active set now, claim after the withdrawal delay."""
    ctx, acct = _acting(rpc_url, deployment, key, dev)
    who = _address(signer, acct.address)
    _send(ctx, acct, ctx.staking.pool.functions.unlockInit(who))
    rec = ctx.staking.sequencer(who)
    console.print(f"[yellow]unlocking[/] {who}: claim {_fmt(rec['stake_wei'])} tokens after")
    console.print(f"  unix time {rec['unlock_time']} (`l2kit sequencer claim {who}`)")


@app.command("claim")
def claim_cmd(
    signer: str = SIGNER,
    rpc_url: str = RPC_URL,
    deployment: Path = DEPLOYMENT,
    key: str = KEY,
    dev: int = DEV_ACCOUNT,
) -> None:
    """After the withdrawal delay: pay the stake and accrued reward back to the owner."""
    ctx, acct = _acting(rpc_url, deployment, key, dev)
    who = _address(signer, acct.address)
    before = ctx.staking.token.functions.balanceOf(acct.address).call()
    _send(ctx, acct, ctx.staking.pool.functions.unlockClaim(who))
    got = ctx.staking.token.functions.balanceOf(acct.address).call() - before
    console.print(f"[green]claimed[/] {_fmt(got)} tokens for {who} to {acct.address}")


@app.command("rewards")
def rewards_cmd(
    signer: str = SIGNER,
    rpc_url: str = RPC_URL,
    deployment: Path = DEPLOYMENT,
    key: str = KEY,
    dev: int = DEV_ACCOUNT,
) -> None:
    """Withdraw the accrued batch rewards of SIGNER to its owner."""
    ctx, acct = _acting(rpc_url, deployment, key, dev)
    who = _address(signer, acct.address)
    amount = ctx.staking.sequencer(who)["reward_wei"]
    _send(ctx, acct, ctx.staking.pool.functions.withdrawRewards(who))
    console.print(f"[green]withdrew[/] {_fmt(amount)} reward tokens for {who}")


@app.command("slash-reward")
def slash_reward_cmd(
    claim: bool = typer.Option(False, "--claim", help="also transfer it to the account"),
    rpc_url: str = RPC_URL,
    deployment: Path = DEPLOYMENT,
    key: str = KEY,
    dev: int = DEV_ACCOUNT,
) -> None:
    """Show (and with --claim, take) the slash reward credited to the account by punishments."""
    ctx, acct = _acting(rpc_url, deployment, key, dev)
    pool = ctx.staking.pool.functions
    amount = int(pool.claimableReward(acct.address).call())
    if not claim:
        console.print(f"{acct.address} may claim {_fmt(amount)} slash reward tokens")
        return
    _send(ctx, acct, pool.claimSlashReward())
    console.print(f"[green]claimed[/] {_fmt(amount)} slash reward tokens to {acct.address}")


@app.command("burn-slashed")
def burn_slashed_cmd(
    rpc_url: str = RPC_URL,
    deployment: Path = DEPLOYMENT,
    key: str = KEY,
    dev: int = DEV_ACCOUNT,
) -> None:
    """Burn the slashed tokens queued for burning (anyone may; pays the gas)."""
    ctx, acct = _acting(rpc_url, deployment, key, dev)
    pool = ctx.staking.pool.functions
    amount = int(pool.pendingSlashBurn().call())
    _send(ctx, acct, pool.burnSlashed())
    console.print(f"[green]burned[/] {_fmt(amount)} slashed tokens")


@app.command("status")
def status_cmd(
    signer: str = typer.Argument(None, help="show this sequencer's record too"),
    rpc_url: str = RPC_URL,
    deployment: Path = DEPLOYMENT,
    as_json: bool = JSON,
) -> None:
    """Epoch, current sequencer, heartbeat deadline and the active set with stake shares."""
    ctx = _connect(rpc_url, deployment)
    st = ctx.staking.rotation()
    p = ctx.staking.pool.functions.params().call()
    active = ctx.staking.active()
    total = sum(s for _, s in active) or 1
    rows = []
    for addr, stake in sorted(active, key=lambda x: int(x[0], 16)):
        rec = ctx.staking.sequencer(addr)
        rows.append({**rec, "stake_wei": stake, "share_bps": stake * 10_000 // total})
    record = None
    if signer:
        record = ctx.staking.sequencer(_address(signer, ""))
        if record["status"] == "None":
            raise StakingError(f"{signer} has never locked", "lock with `l2kit sequencer lock`")
    exiting = int(ctx.staking.pool.functions.exitingCount().call())
    sset = ctx.staking.sset
    gx = int(sset.functions.groupKeyX().call())
    # SequencerSet.GroupKeyInstalled(uint256 indexed version, uint256 indexed x, uint256
    # previousX, bool byGovernance): the first key, and every recovery (a new key).
    installs = [
        {
            "version": int(e["args"]["version"]),
            "x": hex(int(e["args"]["x"])),
            "previous_x": hex(int(e["args"]["previousX"])),
            "by": "governance" if e["args"]["byGovernance"] else "set (>2/3 ECDSA)",
            "block": int(e["blockNumber"]),
        }
        for e in sset.events.GroupKeyInstalled().get_logs(from_block=0)
    ]
    group_key = {"x": hex(gx) if gx else None, "installs": installs}
    if as_json:
        print_json(
            {
                "block": st.block,
                "l1_time": st.block_time,
                "epoch": st.epoch,
                "round": st.round,
                "current": st.current,
                "epoch_end": st.epoch_end,
                "heartbeat_deadline": st.heartbeat_deadline,
                "min_lock_wei": str(p[0]),
                "max_lock_wei": str(p[1]),
                "max_sequencers": int(p[2]),
                "withdrawal_delay_s": int(p[3]),
                "exiting": exiting,
                "active": [_jsonable(r) for r in rows],
                "sequencer": _jsonable(record) if record else None,
                "group_key": group_key,
            }
        )
        return
    console.print(
        f"epoch {st.epoch} round {st.round}  current [bold]{st.current}[/]  "
        f"(epoch ends {when(st.epoch_end)}, heartbeat deadline {when(st.heartbeat_deadline)},"
        f" L1 time {when(st.block_time)})"
    )
    console.print(
        f"stake {_fmt(p[0])}..{_fmt(p[1])} tokens, max {p[2]} sequencers, "
        f"withdrawal delay {p[3]}s, exiting {exiting}"
    )
    table = Table(title=f"active set ({len(active)})")
    for col in ("signer", "owner", "stake", "share", "reward", ""):
        table.add_column(col, justify="right" if col in ("stake", "share", "reward") else "left")
    for r in rows:
        table.add_row(
            r["signer"],
            r["owner"],
            _fmt(r["stake_wei"]),
            f"{r['share_bps'] / 100:.2f}%",
            _fmt(r["reward_wei"]),
            "current" if r["signer"] == st.current else "",
        )
    console.print(table)
    if gx:
        last = installs[-1] if installs else None
        recoveries = max(0, len(installs) - 1)
        console.print(
            f"FROST group key x {hex(gx)} (version {last['version'] if last else '?'},"
            f" installed by {last['by'] if last else '?'}, {recoveries} recovery install(s));"
            " batches carry one signature"
        )
    else:
        console.print(
            "no FROST group key on L1: no batch can be appended until the DKG installs one"
        )
    if record:
        for k, v in record.items():
            if k in ("unlock_time", "signer_updated_at"):
                v = f"{when(v)} (unix {v})"
            elif k.endswith("_wei"):
                v = f"{_fmt(v)} tokens"
            console.print(f"  {k:<18} {v}")


def _jsonable(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if k.endswith("_wei") else v for k, v in rec.items()}


@app.command("run")
def run_cmd(
    rpc_url: str = RPC_URL,
    deployment: Path = DEPLOYMENT,
    key: str = KEY,
    dev: int = DEV_ACCOUNT,
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(None, "--port", help="HTTP port (co-sign, health, metrics)"),
    data_dir: Path = typer.Option(Path(".devnet/sequencer"), "--data-dir"),
    cosign_for: list[str] = typer.Option([], "--cosign-for", help="StateCommitment address"),
    poll_ms: int = typer.Option(250, "--poll-ms", help="rotation poll interval"),
    peer: list[str] = typer.Option(
        [],
        "--peer",
        help="SIGNER=URL of a sequencer daemon (all of them, this one included):"
        " enables FROST key generation and resharing",
    ),
) -> None:
    """Run the sequencer daemon for the key's signer until Ctrl-C / SIGTERM."""
    from offchain.staking.daemon import DaemonConfig, SequencerDaemon
    from offchain.staking.rotation import RotationConfig

    ctx, acct = _acting(rpc_url, deployment, key, dev)
    contracts = {_address(c, "") for c in cosign_for}
    if "state_commitment" in ctx.addresses:
        contracts.add(to_checksum_address(ctx.addresses["state_commitment"]))
    peers: dict[str, str] = {}
    for item in peer:
        who, sep, url = item.partition("=")
        if not sep or not url.startswith("http"):
            raise StakingError(
                f"--peer {item!r} is not SIGNER=URL", "e.g. --peer 0xabc…=http://127.0.0.1:9001"
            )
        peers[_address(who, "")] = url
    cfg = DaemonConfig(
        host=host,
        port=port,
        data_dir=data_dir,
        cosign_contracts=contracts,
        rotation=RotationConfig(poll_interval_ms=poll_ms),
        frost_peers=peers,
    )
    stop = stop_on_signal()
    rec = ctx.staking.sequencer(acct.address)
    if rec["status"] == "None":  # a key that cannot act says so instead of idling
        raise StakingError(
            f"{acct.address} is no sequencer signer: it never locked stake",
            "lock first (`l2kit sequencer lock AMOUNT --signer ADDRESS`) or use the signer key",
        )
    if rec["status"] != "Active":
        console.print(
            f"[yellow]warning:[/] {acct.address} is {rec['status']}, not an active sequencer"
        )
    with SequencerDaemon(ctx.chain, ctx.staking, acct, cfg) as d:
        console.print(
            f"sequencer {acct.address} serving {d.url} (co-sign, /health, /metrics)",
            highlight=False,
        )
        was = None
        while not stop.wait(0.2):
            cur = d.follower.is_current
            if cur != was and d.follower.state is not None:
                what = "[bold green]current[/]" if cur else "following"
                console.print(
                    f"epoch {d.follower.state.epoch}: {what} (current {d.follower.state.current})"
                )
                was = cur
            if not d.follower.health()["running"]:
                raise StakingError(f"rotation follower stopped: {d.follower.last_error}")
    console.print("sequencer daemon stopped")
