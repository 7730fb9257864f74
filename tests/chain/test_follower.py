"""LogFollower against Anvil: confirmations, steps, restart from the cursor, reorgs, breaker."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from offchain.chain.client import Chain, connect
from offchain.chain.follower import FollowerConfig, FollowerError, LogEvent, LogFollower
from offchain.chain.tx import TxSender


class Recorder:
    """An idempotent consumer: state keyed by delivery id, rolled back on reorg."""

    def __init__(self) -> None:
        self.seen: dict[str, LogEvent] = {}
        self.calls = 0
        self.reorgs: list[tuple[int, list[str]]] = []

    def __call__(self, ev: LogEvent) -> None:
        self.calls += 1
        self.seen.setdefault(ev.id, ev)

    def on_reorg(self, ancestor: int, orphaned: list[str]) -> None:
        self.reorgs.append((ancestor, orphaned))
        for i in orphaned:
            self.seen.pop(i, None)

    def pokes(self) -> list[tuple[int, str]]:
        evs = sorted(self.seen.values(), key=lambda e: (e.block_number, e.log_index))
        return [(e.args["id"], e.args["by"]) for e in evs]


@pytest.fixture
def reverter(chain: Chain, sender: Any, owner: Any) -> Any:
    return sender(owner).deploy("Reverter")


def follower(chain: Chain, reverter: Any, rec: Recorder, path: Path | None = None,
             **cfg: Any) -> LogFollower:  # fmt: skip
    start = int(chain.w3.eth.block_number)  # the deploy block: nothing of ours before it
    return LogFollower(
        chain.w3,
        [(reverter, "Poked")],
        rec,
        cursor_path=path,
        config=FollowerConfig(start_block=start, **cfg),
        on_reorg=rec.on_reorg,
    )


def poke(s: TxSender, reverter: Any, n: int = 1) -> None:
    for _ in range(n):
        s.send(reverter.functions.poke())


def test_delivers_decoded_events_in_order(chain, sender, owner, alice, reverter) -> None:
    rec = Recorder()
    f = follower(chain, reverter, rec)
    poke(sender(owner), reverter, 2)
    poke(sender(alice), reverter)
    assert f.catch_up() == 3
    assert rec.pokes() == [(1, owner.address), (2, owner.address), (3, alice.address)]
    ev = next(iter(rec.seen.values()))
    assert ev.event == "Poked" and ev.address == reverter.address
    assert ev.id == f"{ev.block_hash}:{ev.log_index}"
    assert f.poll()["delivered"] == 0  # nothing new, nothing repeated


def test_trails_the_head_by_confirmations(chain, sender, owner, reverter) -> None:
    rec = Recorder()
    f = follower(chain, reverter, rec, confirmations=2)
    poke(sender(owner), reverter)
    f.catch_up()
    assert rec.pokes() == []  # 0 blocks on top of it
    chain.rpc("evm_mine")
    f.catch_up()
    assert rec.pokes() == []  # 1 block on top
    chain.rpc("evm_mine")
    f.catch_up()
    assert rec.pokes() == [(1, owner.address)]  # 2 confirmations
    h = f.health()
    assert h["lag_blocks"] == 2 and h["confirmations"] == 2 and h["delivered"] == 1


def test_max_block_step_bounds_each_poll(chain, sender, owner, reverter) -> None:
    rec = Recorder()
    f = follower(chain, reverter, rec, max_block_step=2)
    poke(sender(owner), reverter, 5)  # one block each
    r = f.poll()
    assert r["to"] - r["from"] + 1 == 2
    assert len(rec.seen) <= 2
    f.catch_up()
    assert [i for i, _ in rec.pokes()] == [1, 2, 3, 4, 5]


def test_resumes_from_the_cursor_after_restart(chain, sender, owner, reverter, tmp_path) -> None:
    cursor = tmp_path / "cursor.json"
    rec1 = Recorder()
    f1 = follower(chain, reverter, rec1, cursor)
    poke(sender(owner), reverter, 2)
    f1.catch_up()
    saved = json.loads(cursor.read_text())
    assert saved["block"] == chain.w3.eth.block_number
    assert saved["hash"] == chain.w3.eth.get_block(saved["block"])["hash"].to_0x_hex()
    del f1  # "crash"; events keep coming while it is down
    poke(sender(owner), reverter, 3)
    rec2 = Recorder()
    f2 = follower(chain, reverter, rec2, cursor)
    f2.catch_up()
    assert [i for i, _ in rec2.pokes()] == [3, 4, 5]  # nothing lost, nothing repeated
    assert rec2.calls == 3


def test_reorg_is_detected_and_affected_logs_redelivered(
    chain, sender, owner, bob, reverter, tmp_path
) -> None:
    rec = Recorder()
    f = follower(chain, reverter, rec, tmp_path / "c.json")
    poke(sender(owner), reverter, 3)  # blocks B1, B2, B3 with pokes 1, 2, 3
    f.catch_up()
    assert [i for i, _ in rec.pokes()] == [1, 2, 3]
    old = {e.args["id"]: e.id for e in rec.seen.values()}
    b1 = chain.w3.eth.block_number - 2
    # Replace B2 and B3 with two new blocks; the first holds one poke by bob.
    data = reverter.functions.poke().build_transaction({"from": bob.address, "gas": 200_000})
    tx = {"from": bob.address, "to": reverter.address, "data": data["data"], "gas": hex(200_000)}
    chain.rpc("anvil_reorg", 2, [[tx, 0]])
    r = f.poll()
    assert r["reorg_depth"] == 2
    assert rec.reorgs == [(b1, [old[2], old[3]])]
    f.catch_up()
    assert rec.pokes() == [(1, owner.address), (2, bob.address)]
    assert f.health()["reorgs"] == 1
    assert json.loads((tmp_path / "c.json").read_text())["hash"] == (
        chain.w3.eth.get_block("latest")["hash"].to_0x_hex()
    )


def test_reorg_below_confirmations_is_never_seen(chain, sender, owner, bob, reverter) -> None:
    rec = Recorder()
    f = follower(chain, reverter, rec, confirmations=3)
    poke(sender(owner), reverter, 2)
    chain.rpc("evm_mine")
    f.catch_up()
    assert rec.pokes() == []
    data = reverter.functions.poke().build_transaction({"from": bob.address, "gas": 200_000})
    tx = {"from": bob.address, "to": reverter.address, "data": data["data"], "gas": hex(200_000)}
    chain.rpc("anvil_reorg", 3, [[tx, 0]])  # drops both owner pokes
    for _ in range(3):
        chain.rpc("evm_mine")
    f.catch_up()
    assert rec.pokes() == [(1, bob.address)] and rec.reorgs == []


def test_reorg_deeper_than_the_window_is_a_clear_error(chain, sender, owner, reverter) -> None:
    rec = Recorder()
    f = follower(chain, reverter, rec, reorg_window=2)
    for _ in range(4):
        poke(sender(owner), reverter)
        f.poll()
    chain.rpc("anvil_reorg", 4, [])
    with pytest.raises(FollowerError, match="reorg deeper than the 2 recorded blocks"):
        f.poll()


def test_run_loop_delivers_and_stops(chain, sender, owner, reverter) -> None:
    rec = Recorder()
    f = follower(chain, reverter, rec, poll_interval_ms=20)
    stop = threading.Event()
    t = threading.Thread(target=lambda: asyncio.run(f.run(stop)))
    t.start()
    try:
        poke(sender(owner), reverter, 2)
        deadline = time.monotonic() + 10
        while len(rec.seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        t.join(timeout=10)
    assert not t.is_alive()
    assert len(rec.seen) == 2
    assert f.health()["ok"] and f.health()["failures_in_row"] == 0


def test_circuit_breaker_opens_after_three_failures(chain, reverter) -> None:
    from offchain.chain.anvil import Anvil

    rec = Recorder()
    with Anvil() as other:
        w3 = connect(other.url)
    # The node is gone: every poll fails.
    f = LogFollower(w3, [(reverter, "Poked")], rec, config=FollowerConfig(poll_interval_ms=10))
    with pytest.raises(FollowerError, match="stopped after 3 failed polls in a row"):
        asyncio.run(asyncio.wait_for(f.run(asyncio.Event()), timeout=30))
    h = f.health()
    assert h["tripped"] and not h["ok"] and h["failures_in_row"] == 3
    assert "cannot reach the L1 RPC" in h["last_error"]


def test_handler_failure_is_retried_without_loss(chain, sender, owner, reverter) -> None:
    rec = Recorder()
    fail = {"left": 1}

    def flaky(ev: LogEvent) -> None:
        if ev.args["id"] == 2 and fail["left"]:
            fail["left"] -= 1
            raise RuntimeError("handler hiccup")
        rec(ev)

    start = int(chain.w3.eth.block_number)
    f = LogFollower(
        chain.w3, [(reverter, "Poked")], flaky, config=FollowerConfig(start_block=start)
    )
    poke(sender(owner), reverter, 3)
    with pytest.raises(RuntimeError, match="hiccup"):
        f.poll()
    f.catch_up()
    assert [i for i, _ in rec.pokes()] == [1, 2, 3]
    assert rec.calls == 4  # event 1 delivered twice (same id): the consumer is idempotent


def test_cursor_of_another_subscription_is_refused(
    chain, reverter, sender, owner, tmp_path
) -> None:
    from offchain.errors import ConfigError

    path = tmp_path / "c.json"
    follower(chain, reverter, Recorder(), path).catch_up()
    other = sender(owner).deploy("Reverter")
    with pytest.raises(ConfigError, match="belongs to other contracts"):
        LogFollower(chain.w3, [(other, "Poked")], Recorder(), cursor_path=path)
    with pytest.raises(ConfigError, match="no event"):
        LogFollower(chain.w3, [(other, "Nope")], Recorder())


def test_follows_several_contracts_in_chain_order(chain, sender, owner, alice, reverter) -> None:
    other = sender(owner).deploy("Reverter")
    rec = Recorder()
    start = int(chain.w3.eth.block_number)
    f = LogFollower(
        chain.w3, [(reverter, "Poked"), (other, "Poked")], rec,
        config=FollowerConfig(start_block=start),
    )  # fmt: skip
    poke(sender(alice), reverter)
    poke(sender(alice), other)
    poke(sender(alice), reverter)
    f.catch_up()
    evs = sorted(rec.seen.values(), key=lambda e: e.block_number)
    assert [(e.address, e.args["id"]) for e in evs] == [
        (reverter.address, 1), (other.address, 1), (reverter.address, 2),
    ]  # fmt: skip
