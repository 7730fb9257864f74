"""The L1 part of the index: every event of the watched contracts, batches, and snapshots of
the sequencer set, batch statuses and open data requests.

Events are read by name from each contract's ABI (the artifact named in the deployment
file), so a contract that gains or loses an event is followed as it is; a view function a
deployment's contract lacks is skipped.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import requests
import structlog
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract

from offchain.chain.client import Chain
from offchain.chain.follower import FollowerConfig, LogEvent, LogFollower, Subscription
from offchain.deploy import Deployment
from offchain.errors import RpcError
from offchain.explorer.config import WATCHED_CONTRACTS, ExplorerConfig
from offchain.explorer.store import IndexStore

log = structlog.get_logger("explorer.l1")

# StateCommitment BatchStatus (contracts/rollup/BatchHeader.sol) -> explorer status.
BATCH_STATUS = {0: "unknown", 1: "pending", 2: "final", 3: "invalid"}
# LockingPool.Status (contracts/staking/LockingPool.sol).
POOL_STATUS = {0: "none", 1: "active", 2: "exiting", 3: "kicked", 4: "withdrawn"}
# SequencerSet.Reason (contracts/staking/SequencerSet.sol).
ROTATION_REASON = {
    0: "epoch ended",
    1: "heartbeat missed",
    2: "set vote",
    3: "removed",
    4: "punished",
    5: "no progress",
}
# DataMode (contracts/rollup/BatchHeader.sol): where a batch's data is posted.
DA_MODE = {0: "storage", 1: "blobs", 2: "calldata"}
# DataAvailabilityChallenge.RequestStatus.
DA_STATUS = {0: "none", 1: "open", 2: "answered", 3: "failed", 4: "cancelled"}


def jsonable(v: Any) -> Any:
    """Event arguments as JSON: bytes as 0x-hex, big ints as decimal strings, structs as dicts."""
    if isinstance(v, bytes | bytearray | HexBytes):
        return "0x" + bytes(v).hex()
    if isinstance(v, Mapping):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v if abs(v) < 2**53 else str(v)
    return v


def call(c: Contract | None, fn: str, *args: Any) -> Any:
    """``c.fn(*args)`` or None when the contract or the function is missing."""
    if c is None or not any(e.get("name") == fn for e in c.abi if e.get("type") == "function"):
        return None
    return c.functions[fn](*args).call()


class L1Index:
    """Follows the watched contracts' events into the store and snapshots their state.

    Args:
        config: explorer settings.
        store: the index.
        deployment: contract keys, artifact names and addresses.
    """

    def __init__(self, config: ExplorerConfig, store: IndexStore, deployment: Deployment) -> None:
        self.config = config
        self.store = store
        self.deployment = deployment
        self.chain: Chain | None = None
        self.contracts: dict[str, Contract] = {}
        self.follower: LogFollower | None = None
        self._ts: OrderedDict[int, int] = OrderedDict()  # L1 block -> timestamp (LRU)
        self._window_s: int | None = None
        self._refresh_finality = False

    # ------------------------------------------------------------- connection
    def connect(self) -> Chain:
        """Connect (again) to the L1 and bind the watched contracts.

        Raises:
            RpcError: the L1 RPC does not answer.
        """
        if self.chain is not None:
            return self.chain
        # No retries inside web3: a down L1 must not hold the tick (the next tick retries).
        w3 = Web3(
            Web3.HTTPProvider(
                self.config.rpc_url,
                request_kwargs={"timeout": self.config.source_timeout_s},
                exception_retry_configuration=None,
            )
        )
        if not self.config.rpc_url.startswith(("http://", "https://")):
            raise RpcError(f"unsupported RPC URL {self.config.rpc_url!r}", "use an http(s):// URL")
        try:
            w3.eth.chain_id  # noqa: B018 - the probe
        except requests.RequestException as e:
            raise RpcError(f"cannot reach the L1 RPC at {self.config.rpc_url}") from e
        chain = Chain(w3)
        genesis = "0x" + bytes(chain.w3.eth.get_block(0)["hash"]).hex()
        if self.store.get("l1_genesis") not in (None, genesis):
            self.store.reset()  # another chain behind the same URL: start over
        self.store.put("l1_genesis", genesis)
        dep = self.deployment
        self.contracts = {
            k: chain.contract(dep.contracts[k], dep.addresses[k])
            for k in WATCHED_CONTRACTS
            if k in dep.addresses and k in dep.contracts
        }
        subs = [Subscription(c) for c in self.contracts.values()]
        self.follower = LogFollower(
            chain.w3,
            subs,
            self._on_event,
            cursor_path=self.store.path.with_suffix(".cursor.json"),
            config=FollowerConfig(
                start_block=self.config.l1_start_block,
                max_block_step=self.config.max_block_step,
            ),
            on_reorg=lambda _n, ids: self.store.drop_events(ids),
            name="explorer",
        )
        self.chain = chain
        return chain

    def disconnect(self) -> None:
        self.chain, self.follower, self.contracts = None, None, {}

    def key_of(self, address: str) -> str:
        a = address.lower()
        return next((k for k, c in self.contracts.items() if c.address.lower() == a), address)

    # ----------------------------------------------------------------- events
    def poll_events(self, max_polls: int = 20) -> int:
        """Read new events (several follower steps while behind). Returns how many."""
        assert self.follower is not None
        n = 0
        for _ in range(max_polls):
            out = self.follower.poll()
            n += out["delivered"]
            if out["lag"] <= 0 or out["to"] < out["from"]:
                break
        return n

    def block_ts(self, number: int) -> int:
        ts = self._ts.get(number)
        if ts is None:
            assert self.chain is not None
            ts = int(self.chain.w3.eth.get_block(number)["timestamp"])
            self._ts[number] = ts
            if len(self._ts) > 4096:
                self._ts.popitem(last=False)
        return ts

    def _on_event(self, ev: LogEvent) -> None:
        ts = self.block_ts(ev.block_number)
        args = jsonable(ev.args)
        row = {
            "id": ev.id,
            "block": ev.block_number,
            "log_index": ev.log_index,
            "tx_hash": ev.tx_hash.lower(),
            "contract": self.key_of(ev.address),
            "event": ev.event,
            "args": args,
            "ts": ts,
        }
        with self.store.tx() as c:
            if not self.store.add_event(c, row):
                return
            if ev.event == "BatchAppended" and row["contract"] == "state_commitment":
                self.store.add_batch(c, self._batch_row(row))
            elif ev.event == "ChallengeWindowChanged" and row["contract"] == "state_commitment":
                # Whether a pending batch keeps its window is the contract's business: re-read
                # StateCommitment.finalizesAt of each pending batch at the next snapshot.
                self._window_s = int(args["newSeconds"])
                self._refresh_finality = True
            elif ev.event == "BatchesInvalidated" and row["contract"] == "state_commitment":
                self.store.invalidate(
                    c, int(args["fromIndex"]), int(args["toIndex"]), ev.block_number
                )

    def _batch_row(self, ev: dict[str, Any]) -> dict[str, Any]:
        """A ``BatchAppended(index, headerHash, sequencer, header)`` log as a batches row."""
        a = ev["args"]
        h = a.get("header") or {}
        if self._window_s is None:
            self._window_s = int(call(self.contracts.get("state_commitment"), "challengeWindow"))
        return {
            "event_id": ev["id"],
            "idx": int(a["index"]),
            "header_hash": str(a.get("headerHash", "")).lower(),
            "sequencer": str(a.get("sequencer", "")),
            "first_block": int(h.get("firstBlock", 0)),
            "l2_blocks": int(h.get("l2Blocks", 0)),
            "tx_count": int(h.get("txCount", 0)),
            "deposit_count": int(h.get("depositCount", 0)),
            "header": json.dumps(h, default=str),
            "l1_block": ev["block"],
            "l1_tx": ev["tx_hash"],
            "appended_at": ev["ts"],
            "finalizes_at": self._finalizes_at(int(a["index"]), ev["block"])
            or ev["ts"] + self._window_s,
            "status": "pending",
            "da_mode": self._da_mode_at(ev["block"]),
        }

    def _finalizes_at(self, index: int, block: int | None = None) -> int | None:
        """``StateCommitment.finalizesAt(index)`` as of ``block`` (None when it has none)."""
        sc = self.contracts.get("state_commitment")
        if sc is None or not any(e.get("name") == "finalizesAt" for e in sc.abi):
            return None
        at = sc.functions.finalizesAt(index).call(block_identifier=block or "latest")
        return int(at) or None

    def _da_mode_at(self, block: int) -> str:
        """``StateCommitment.dataMode()`` as of L1 block ``block`` ("" when it has none)."""
        sc = self.contracts.get("state_commitment")
        if sc is None or not any(e.get("name") == "dataMode" for e in sc.abi):
            return ""
        return DA_MODE.get(int(sc.functions.dataMode().call(block_identifier=block)), "?")

    # -------------------------------------------------------------- snapshots
    def snapshot(self) -> None:
        """Refresh the L1 head, the sequencer set, pending batches and open data requests."""
        assert self.chain is not None
        w3 = self.chain.w3
        head = w3.eth.get_block("latest")
        number, ts = int(head["number"]), int(head["timestamp"])
        prev = self.store.get("l1_head") or {}
        seen_at = prev.get("seenAt") if prev.get("number") == number else None
        # When it was first seen: on an idle L1 (no new blocks) the pages' clock moves on from
        # it, as offchain/chain/clock.py's L1Clock does for the daemons.
        self.store.put(
            "l1_head", {"number": number, "timestamp": ts, "seenAt": seen_at or time.time()}
        )
        self._snapshot_sequencers()
        self._snapshot_batches()
        self._snapshot_emeth_nodes()

    def _snapshot_sequencers(self) -> None:
        pool = self.contracts.get("locking_pool")
        sset = self.contracts.get("sequencer_set")
        if pool is None and sset is None:
            return
        signers: list[str] = []
        for e in self.store.events(["Locked", "SignerUpdated"], limit=1000):
            if e["contract"] != "locking_pool":
                continue  # EmethCore has a SignerUpdated too
            s = e["args"].get("signer") or e["args"].get("newSigner")
            if s and s not in signers:
                signers.append(s)
        active: tuple[list[str], list[int]] = call(pool, "activeSet") or ([], [])
        for s in active[0]:
            if s not in signers:
                signers.append(s)
        stakes = dict(zip(active[0], active[1], strict=False))
        rows = []
        for s in signers[:200]:
            rec = call(pool, "sequencer", s)
            amount = int(rec[2]) if rec else int(stakes.get(s, 0))
            status = POOL_STATUS.get(int(rec[6]), "?") if rec else "active"
            rows.append({"signer": s, "owner": rec[0] if rec else s, "stake": str(amount),
                         "status": status, "unlockTime": int(rec[4]) if rec else 0})  # fmt: skip
        info = call(sset, "epochInfo")
        timing = call(sset, "timing")
        snap = {
            "current": call(sset, "currentSequencer"),
            "epoch": int(info[0]) if info else None,
            "round": int(info[1]) if info else None,
            "epochStart": int(info[3]) if info else None,
            "epochEnd": int(info[4]) if info else None,
            "lastHeartbeat": int(info[5]) if info else None,
            "heartbeatDeadline": _int(call(sset, "heartbeatDeadline")),
            "epochLength": int(timing[0]) if timing else None,
            "heartbeatTimeout": int(timing[1]) if timing else None,
            "active": list(active[0]),
            "sequencers": rows,
            "at": time.time(),
        }
        self.store.put("sequencers", snap)

    def _snapshot_batches(self) -> None:
        sc = self.contracts.get("state_commitment")
        if sc is None:
            return
        next_index = _int(call(sc, "nextIndex")) or 0
        if self._refresh_finality:
            rows = self.store.query("SELECT idx, event_id FROM batches WHERE status = 'pending'")
            with self.store.tx() as c:
                for r in rows:
                    at = self._finalizes_at(int(r["idx"]))
                    if at is not None:
                        c.execute("UPDATE batches SET finalizes_at = ? WHERE event_id = ?",
                                  (at, r["event_id"]))  # fmt: skip
            self._refresh_finality = False
        now = int((self.store.get("l1_head") or {}).get("timestamp") or 0)
        # Only a pending batch past its window can have turned final (invalidations arrive as
        # BatchesInvalidated events); one held by an open data request stays in this set.
        latest = {
            r["idx"]: r["event_id"]
            for r in self.store.query(
                "SELECT idx, event_id FROM batches WHERE status = 'pending' AND finalizes_at <= ?"
                " ORDER BY l1_block ASC LIMIT 500",
                now,
            )
        }
        updates = []
        for idx, eid in latest.items():
            st = BATCH_STATUS.get(int(sc.functions.batchStatus(idx).call()), "unknown")
            if idx >= next_index:
                st = "invalid"
            if st != "pending":
                updates.append((eid, st))
        if updates:
            self.store.set_batch_status(updates)
        open_idx = [int(i) for i in (call(sc, "openDataRequests") or [])]
        da = self.contracts.get("da_challenge")
        reqs = []
        for i in open_idx:
            r = call(da, "requests", i)
            reqs.append({"index": i, "verifier": r[0] if r else None,
                         "deadline": int(r[1]) if r else None,
                         "status": DA_STATUS.get(int(r[2]), "?") if r else "open",
                         "sequencer": r[3] if r else None})  # fmt: skip
        self.store.put(
            "rollup",
            {
                "nextIndex": next_index,
                "challengeWindow": _int(call(sc, "challengeWindow")),
                "openDataRequests": reqs,
                "daMode": DA_MODE.get(_int(call(sc, "dataMode")) or 0)
                if any(e.get("name") == "dataMode" for e in sc.abi)
                else None,
                "insecure": bool(open_idx),
            },
        )

    def _snapshot_emeth_nodes(self) -> None:
        core = self.contracts.get("emeth_core")
        if core is None:
            return
        nodes: list[str] = []
        for e in self.store.events(["CollateralDeposited"], limit=1000):
            n = e["args"].get("node")
            if n and n not in nodes:
                nodes.append(n)
        rows = []
        for n in nodes[:100]:
            col = call(core, "collaterals", n)
            rows.append({"node": n, "collateral": str(col[0] if col else 0),
                         "available": str(call(core, "availableCollateral", n) or 0),
                         "fuel": str(call(core, "totalFuel", n) or 0),
                         "eligible": bool(call(core, "isEligibleNode", n))})  # fmt: skip
        self.store.put("emeth_nodes", rows)


def _int(v: Any) -> int | None:
    return int(v) if v is not None else None
