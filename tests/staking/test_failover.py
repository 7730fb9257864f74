"""Failover on a devnet: four sequencer daemons (processes), 5 s heartbeat timeout; the current
one is killed and another becomes current on L1. Prints ``sequencer_failover_s``."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from offchain.chain.accounts import dev_account
from offchain.chain.anvil import Anvil
from offchain.chain.client import Chain, connect
from offchain.config import L2KitConfig
from offchain.deploy import Deployment, deploy_all
from offchain.emeth.runtime import wait_until
from offchain.staking.cluster import SequencerCluster, wait_for_new_current


@pytest.fixture
def devnet(tmp_path) -> Iterator[tuple[Anvil, Chain, Deployment]]:
    with Anvil() as a:
        chain = Chain(connect(a.url))
        cfg = L2KitConfig()
        cfg.staking.devnet_epoch_length_s = 120  # keep epoch ends out of the measurement
        dep = deploy_all(chain, chain.sender(dev_account(0)), cfg, log=lambda *_: None)
        dep.save(tmp_path / "deployment.json")
        yield a, chain, dep


def test_killed_current_sequencer_is_replaced(devnet, tmp_path, capsys) -> None:
    anvil, chain, dep = devnet
    sset = dep.contract(chain, "sequencer_set")
    assert sset.functions.timing().call()[1] == 5
    with SequencerCluster(anvil.url, tmp_path / "deployment.json", tmp_path) as cluster:
        # The deployment's first draw is older than the timeout when the daemons come up, so
        # they may reselect once; wait until the current sequencer is heartbeating.
        deadline = time.monotonic() + 20
        while True:
            first = sset.functions.currentSequencer().call()
            pings = sset.events.Heartbeat().get_logs(from_block=0)
            if pings and pings[-1]["args"]["signer"] == first:
                break
            assert time.monotonic() < deadline, "no heartbeat from the current sequencer"
            time.sleep(0.2)
        start_block = chain.w3.eth.block_number + 1
        # L1 time runs past one heartbeat timeout (blocks are mined by the daemons' pings and
        # reselect attempts): the live current sequencer keeps its slot meanwhile.
        t0 = int(chain.w3.eth.get_block("latest")["timestamp"])
        wait_until(
            lambda: int(chain.w3.eth.get_block("latest")["timestamp"]) > t0 + 5 + 1,
            30,
            "L1 time past one heartbeat timeout",
        )
        wait_until(  # and the current sequencer pinged at least twice in that span
            lambda: len(sset.events.Heartbeat().get_logs(from_block=start_block)) >= 2,
            30,
            "two heartbeats",
        )
        assert sset.functions.currentSequencer().call() == first
        rotations = sset.events.SequencerRotated().get_logs(from_block=start_block)
        assert rotations == []
        pings = sset.events.Heartbeat().get_logs(from_block=start_block)
        assert len(pings) >= 2 and all(p["args"]["signer"] == first for p in pings)

        t_kill = cluster.kill(first)
        new = wait_for_new_current(sset, first, timeout_s=20)
        failover_s = time.perf_counter() - t_kill
        assert new != first
        assert all(m.alive() for a, m in cluster.members.items() if a != first)
        logs = sset.events.SequencerRotated().get_logs(from_block=start_block)
        assert logs[-1]["args"]["reason"] == 1  # HeartbeatMissed
        assert logs[-1]["args"]["previous"] == first
        # The replacement then heartbeats itself.
        wait_until(
            lambda: any(
                p["args"]["signer"] == new
                for p in sset.events.Heartbeat().get_logs(from_block=logs[-1]["blockNumber"])
            ),
            30,
            "a heartbeat of the replacement",
        )
        assert sset.functions.currentSequencer().call() == new
    with capsys.disabled():
        print(f"\nsequencer_failover_s = {failover_s:.2f} (heartbeat timeout 5 s)")
    assert failover_s < 5 + 5
