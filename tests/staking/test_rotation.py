"""RotationFollower and SequencerDaemon against Anvil (ticks driven by the test)."""

from __future__ import annotations

import json
import time

import requests

from offchain.chain.accounts import dev_account
from offchain.staking.contracts import StakingContracts
from offchain.staking.daemon import DaemonConfig, SequencerDaemon
from offchain.staking.rotation import RotationConfig, RotationFollower

from .conftest import Staking


def _follower(st: Staking, acct, changes: list | None = None) -> RotationFollower:
    sc = StakingContracts(st.chain, st.token, st.pool, st.sset)
    cfg = RotationConfig(heartbeat_every_s=1)
    cb = (lambda a, b: changes.append((a, b))) if changes is not None else None
    return RotationFollower(sc, st.chain.sender(acct), cfg, on_change=cb)


def test_current_node_heartbeats_and_others_wait(st: Staking, seqs) -> None:
    cur = st.current()
    me = _follower(st, next(a for a in seqs if a.address == cur))
    other = _follower(st, next(a for a in seqs if a.address != cur))
    st.warp(2)
    assert me.tick().get("heartbeat") is True and me.is_current
    assert other.tick() == {"epoch": 1, "round": 0, "current": cur}
    assert not other.is_current
    st.warp(4)  # 4 s since the ping: not silent yet
    assert "reselected" not in other.tick()
    assert st.current() == cur


def test_silent_current_is_reselected_and_epochs_advance(st: Staking, seqs) -> None:
    cur = st.current()
    changes: list = []
    other = _follower(st, next(a for a in seqs if a.address != cur), changes)
    other.tick()
    st.warp(7)
    out = other.tick()
    assert out["reselected"] == cur and other.stats["reselects"] == 1
    new = st.current()
    assert new != cur
    other.tick()
    assert changes == [(cur, new)]
    st.warp(31)  # epoch over (and the new one silent too)
    out = other.tick()
    assert st.sset.functions.epochInfo().call()[0] == 2 or out.get("reselected")
    h = other.health()
    json.dumps(h)
    assert h["stats"]["ticks"] == 4 and h["failures"] == 0


def test_daemon_serves_health_metrics_and_cosign(st: Staking, tmp_path) -> None:
    acct = dev_account(1)
    cfg = DaemonConfig(
        data_dir=tmp_path, cosign_contracts={dev_account(30).address}, rotation=RotationConfig()
    )
    sc = StakingContracts(st.chain, st.token, st.pool, st.sset)
    with SequencerDaemon(st.chain, sc, acct, cfg) as d:
        deadline_ok = False
        for _ in range(50):
            h = requests.get(f"{d.url}/health", timeout=5).json()
            if h["state"] is not None:
                deadline_ok = True
                break
            time.sleep(0.1)
        assert deadline_ok and h["signer"] == acct.address and h["running"]
        m = requests.get(f"{d.url}/metrics", timeout=5).text
        assert "l2kit_sequencer_epoch" in m and "l2kit_sequencer_is_current" in m
        r = requests.get(f"{d.url}/nope", timeout=5)
        assert r.status_code == 404
