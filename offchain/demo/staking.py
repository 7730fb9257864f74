"""Demo scene: four sequencers locked, an epoch rotation, one stopped and replaced, one kicked
by a governance vote.

The four devnet sequencers (dev accounts 1..4) were locked by the staking deploy step; this
scene runs a sequencer daemon for each (rotation follower + co-signer), waits for an epoch
rotation, stops the current sequencer's daemon and times its replacement on L1, then passes
a Governor proposal that kicks a sequencer through the Timelock.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from offchain.chain.accounts import dev_account
from offchain.common.amounts import format_amount
from offchain.governance.actions import parse_action
from offchain.governance.client import Governance, Proposal
from offchain.staking.cluster import wait_for_new_current
from offchain.staking.config import TOKEN
from offchain.staking.contracts import REASONS, StakingContracts
from offchain.staking.daemon import DaemonConfig, SequencerDaemon
from offchain.staking.rotation import RotationConfig

if TYPE_CHECKING:
    from offchain.devnet import Devnet


def _wait_rotation(sc: StakingContracts, after_block: int, timeout_s: float) -> dict[str, object]:
    """The first SequencerRotated (SequencerSet.sol) event after ``after_block``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if int(sc.chain.w3.eth.block_number) > after_block:
            logs = sc.sset.events.SequencerRotated().get_logs(from_block=after_block + 1)
            if logs:
                return dict(logs[0]["args"])
        time.sleep(0.2)
    raise TimeoutError(f"no rotation within {timeout_s}s")


def run(d: Devnet, console: Console) -> None:
    """Play the scene on the devnet ``d``."""
    assert d.chain and d.deployment
    chain = d.chain
    sc = StakingContracts.from_deployment(chain, d.deployment)

    # 1. The four sequencers and their locks (LockingPool.Locked events).
    table = Table(title="sequencers locked at deployment (LockingPool.Locked)")
    for col in ("signer", "owner", "stake", "share"):
        table.add_column(col)
    locks = sc.pool.events.Locked().get_logs(from_block=0)
    total = sum(int(ev["args"]["amount"]) for ev in locks) or 1
    for ev in locks:
        a = ev["args"]
        table.add_row(
            a["signer"], a["owner"], f"{a['amount'] / TOKEN:,.0f}", f"{a['amount'] / total:.1%}"
        )
    console.print(table)
    st = sc.rotation()
    console.print(
        f"epoch {st.epoch}: current sequencer {st.current}; epochs last {st.epoch_length_s}s, "
        f"heartbeat timeout {st.heartbeat_timeout_s}s"
    )

    # 2. A daemon per sequencer: follows epochs, heartbeats when current, co-signs (batches
    #    carry the group key's FROST signature: the FROST scene).
    daemons: dict[str, SequencerDaemon] = {}
    try:
        for i in (1, 2, 3, 4):
            acct = dev_account(i)
            cfg = DaemonConfig(
                data_dir=d.data_dir / f"sequencer{i}",
                rotation=RotationConfig(poll_interval_ms=250),
            )
            daemons[acct.address] = SequencerDaemon(chain, sc, acct, cfg).start()
        console.print(
            f"started {len(daemons)} sequencer daemons: "
            + ", ".join(x.url for x in daemons.values())
        )

        # 3. Epoch rotation: wait for the current epoch to end (advanceEpoch by a daemon).
        st = sc.rotation()
        wait = max(0.0, st.epoch_end - time.time())
        console.print(f"waiting for epoch {st.epoch} to end (~{wait:.0f}s) ...")
        rot = _wait_rotation(sc, st.block, timeout_s=wait + 20)
        console.print(
            f"[bold]rotation[/]: epoch {rot['epoch']} round {rot['round']}: {rot['previous']} -> "
            f"{rot['next']} ({REASONS[int(rot['reason'])]})"  # type: ignore[call-overload]
        )

        # 4. Stop the current sequencer; the others reselect after the heartbeat timeout.
        time.sleep(1.0)
        cur = sc.sset.functions.currentSequencer().call()
        block = chain.w3.eth.block_number
        console.print(f"stopping the current sequencer's daemon {cur} ...")
        t0 = time.perf_counter()
        daemons[cur].stop()
        new = wait_for_new_current(sc.sset, cur, timeout_s=60)
        took = time.perf_counter() - t0
        rot = _wait_rotation(sc, block, timeout_s=5)
        console.print(
            f"[bold]replaced[/] after {took:.1f}s: {new} is current "
            f"({REASONS[int(rot['reason'])]}, epoch {rot['epoch']} round {rot['round']})"  # type: ignore[call-overload]
        )

        # 5. Governance: token holders vote to kick the stopped sequencer.
        gov = Governance(
            chain,
            d.deployment.contract(chain, "governor"),
            d.deployment.contract(chain, "timelock"),
        )
        action = parse_action(f"locking_pool kick(address) {cur}", d.deployment.addresses)
        proposal = Proposal.of([action], f"Kick sequencer {cur}: stopped producing")
        voters = [chain.sender(dev_account(i)) for i in (5, 6)]
        console.print("governance: proposing to kick it; dev accounts 5 and 6 vote for")
        gov.pass_on_devnet(
            chain.sender(dev_account(0)), voters, proposal, log=lambda m: console.print(f"  {m}")
        )
        rec = sc.sequencer(cur)
        console.print(
            f"[bold]kicked[/] by governance: {cur} is {rec['status']} "
            f"(stake {format_amount(rec['stake_wei'])} claimable after unix {rec['unlock_time']}); "
            f"active set now {sc.pool.functions.activeCount().call()}"
        )
        for ev in sc.pool.events.Kicked().get_logs(from_block=block):
            console.print(
                f"  LockingPool.Kicked(signer={ev['args']['signer']}, by={ev['args']['by']})"
            )
    finally:
        for x in daemons.values():
            x.stop()
