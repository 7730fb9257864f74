"""The peer network seen from one node: who is current, where peers are, pushing blocks.

- :class:`CurrentSequencer` answers "which signer may produce now" (the L1 SequencerSet's
  ``currentSequencer()``, cached for ``ttl_ms``), or a fixed signer for a single-node setup.
- :class:`PeerSet` maps signer addresses to node URLs, forwards user submissions to the
  current sequencer's node, and pushes sealed blocks to every other peer from a background
  thread per peer (in order, retried until accepted or refused).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
import structlog

from offchain.common.hashing import keccak
from offchain.common.session import http_session
from offchain.rollup.node.block import Block
from offchain.rollup.node.errors import KNOWN_TX

log = structlog.get_logger("rollup.peers")


class CurrentSequencer:
    """Who is current: ``source()`` (an address, any case) cached for ``ttl_ms``.

    With :meth:`follow`, a background thread re-reads ``source()`` every ``interval_ms``, so
    the hot paths (the producer before each seal, the RPC on each submission) read the cache
    and never wait on L1.

    Args:
        source: returns the current sequencer's signer address (e.g. reads L1).
        ttl_ms: cache lifetime.
        retry_ms: after a failed read, callers get the last known answer without a new read
            for this long (an L1 outage costs one read and one log line per ``retry_ms``, not
            one per caller).
    """

    def __init__(self, source: Callable[[], str], ttl_ms: int = 500, retry_ms: int = 1000) -> None:
        self._source = source
        self._ttl_s = ttl_ms / 1000
        self._retry_s = retry_ms / 1000
        self._value: str | None = None
        self._at = 0.0
        self._retry_at = 0.0  # monotonic time before which a failed read is not repeated
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.follow_s = 0.0

    @classmethod
    def fixed(cls, address: str) -> CurrentSequencer:
        """Always ``address`` (single-node devnet, benchmarks)."""
        return cls(lambda: address, ttl_ms=10**9)

    @classmethod
    def from_l1(cls, sequencer_set: Any, ttl_ms: int = 500) -> CurrentSequencer:
        """Read ``SequencerSet.currentSequencer()`` (contracts/staking/ISequencerSet.sol).

        One raw ``eth_call`` per read (the selector is fixed), not a web3 contract call: this
        runs several times a second in the node's process.
        """
        call = {
            "to": sequencer_set.address,
            "data": "0x" + keccak(b"currentSequencer()")[:4].hex(),
        }
        provider = sequencer_set.w3.provider

        def read() -> str:
            ans = provider.make_request("eth_call", [call, "latest"])
            if "error" in ans or len(str(ans.get("result", ""))) != 66:
                raise RuntimeError(f"currentSequencer() failed: {ans.get('error', ans)}")
            return "0x" + str(ans["result"])[-40:]

        return cls(read, ttl_ms)

    def get(self) -> str | None:
        """Lower-case address of the current sequencer; the last known one if L1 fails."""
        return self.fresh(self._ttl_s)

    def fresh(self, max_age_s: float) -> str | None:
        """The answer if it is at most ``max_age_s`` old, else one read now."""
        now = time.monotonic()
        with self._lock:
            if self._value is not None and now - self._at < max_age_s:
                return self._value
            if now < self._retry_at:  # the last read failed moments ago: keep the last answer
                return self._value
        return self.refresh()

    def refresh(self) -> str | None:
        """Read ``source()`` now (the last known answer if it fails)."""
        now = time.monotonic()
        try:
            v = self._source().lower()
        except Exception as e:  # noqa: BLE001 - keep the last answer on an RPC hiccup
            with self._lock:
                self._retry_at = now + self._retry_s
            log.warning("current_sequencer_unavailable", error=str(e), retry_in_s=self._retry_s)
            return self._value
        with self._lock:
            self._value, self._at, self._retry_at = v, now, 0.0
        return v

    def invalidate(self) -> None:
        with self._lock:
            self._at = 0.0

    def follow(self, interval_ms: int) -> CurrentSequencer:
        """Re-read ``source()`` every ``interval_ms`` from a background thread."""
        if self._thread is None and interval_ms > 0:
            self.follow_s = interval_ms / 1000
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._follow, name="current-sequencer", daemon=True
            )
            self._thread.start()
        return self

    def _follow(self) -> None:
        while not self._stop.wait(self.follow_s):
            self.refresh()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


class _Pusher:
    """Delivers blocks to one peer in order, from its own thread.

    A peer that is behind (it answers "gap", e.g. after a restart) is caught up first: its
    head is read with ``l2_status`` and the missing blocks are sent from ``source``.
    """

    def __init__(self, url: str, timeout_s: float, source: Callable[[int], Block | None]) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.source = source
        self.q: queue.Queue[Block | None] = queue.Queue()
        self.session = http_session()
        self.delivered = 0
        self.refused = 0
        self.conflicts = 0
        self.t = threading.Thread(target=self._run, name=f"push-{url}", daemon=True)
        self._stop = threading.Event()
        self.t.start()

    def _post(self, method: str, params: list[Any]) -> dict[str, Any]:
        r = self.session.post(
            self.url,
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
            timeout=self.timeout_s,
        )
        out: dict[str, Any] = r.json()
        return out

    def _deliver(self, b: Block) -> bool:
        """Send ``b`` (catching the peer up first if needed). False: retry later."""
        body = self._post("l2_importBlock", [b.to_json()])
        err = body.get("error")
        if err is None:
            self.delivered += 1
            self.conflicts = 0
            return True
        reason = (err.get("data") or {}).get("reason")
        if reason == "gap":
            head = int(self._post("l2_status", [])["result"]["head"])
            for n in range(head + 1, b.number):
                missing = self.source(n)
                if missing is None or "error" in self._post("l2_importBlock", [missing.to_json()]):
                    break
            return "error" not in self._post("l2_importBlock", [b.to_json()])
        if reason == "conflict" and self.conflicts < 10:
            # The peer may not have rolled back after an L1 invalidation yet: retry shortly.
            self.conflicts += 1
            return False
        self.conflicts = 0
        self.refused += 1
        log.warning("peer_refused_block", peer=self.url, block=b.number, error=err)
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            b = self.q.get()
            if b is None:
                return
            for attempt in range(20):
                if self._stop.is_set():
                    return
                try:
                    if self._deliver(b):
                        break
                except (requests.RequestException, ValueError, KeyError, TypeError) as e:
                    log.info(
                        "peer_unreachable",
                        peer=self.url,
                        block=b.number,
                        attempt=attempt,
                        error=str(e),
                    )
                self._stop.wait(min(0.1 * 2**attempt, 2.0))

    def stop(self) -> None:
        self._stop.set()
        self.q.put(None)
        self.t.join(timeout=5)


class PeerSet:
    """Peers of one node.

    Args:
        me: this node's signer address.
        peers: signer address -> base URL (JSON-RPC endpoint), may include ``me``.
        timeout_s: HTTP timeout for forwarding and pushing.
    """

    def __init__(self, me: str, peers: dict[str, str], timeout_s: float = 5.0) -> None:
        self.source: Callable[[int], Block | None] = lambda n: None  # set by the node
        self.me = me.lower()
        self.urls = {k.lower(): v.rstrip("/") + "/" for k, v in peers.items()}
        self.timeout_s = timeout_s
        self._pushers: dict[str, _Pusher] = {}
        self._session = http_session()
        self._lock = threading.Lock()

    def signers(self) -> set[str]:
        return set(self.urls) | {self.me}

    def url_of(self, signer: str) -> str | None:
        return self.urls.get(signer.lower())

    def forward(self, signer: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST a JSON-RPC request to ``signer``'s node and return its JSON answer.

        Raises:
            LookupError: no URL is known for ``signer``.
            requests.RequestException: the peer cannot be reached.
        """
        url = self.url_of(signer)
        if url is None:
            raise LookupError(f"no URL configured for sequencer {signer}")
        r = self._session.post(url, json=payload, timeout=self.timeout_s)
        out: dict[str, Any] = r.json()
        return out

    def forward_transactions(self, signer: str, raws: list[bytes]) -> list[bytes]:
        """Forward each raw transaction to ``signer``'s node (marked as forwarded, so it is never
        forwarded again); return those it did not take (refused, or the peer unreachable).

        An answer "already known" counts as taken: the peer has the transaction.
        """
        refused: list[bytes] = []
        for raw in raws:
            try:
                ans = self.forward(
                    signer,
                    {"jsonrpc": "2.0", "id": 1, "method": "l2_sendTransaction",
                     "params": ["0x" + raw.hex(), {"forwarded": True}]},
                )  # fmt: skip
                if "error" in ans and ans["error"].get("code") != KNOWN_TX:
                    refused.append(raw)
            except Exception:  # noqa: BLE001 - unreachable: the user must resend
                refused.append(raw)
        return refused

    def broadcast(self, block: Block) -> None:
        """Queue ``block`` for every peer except this node."""
        with self._lock:
            for signer, url in self.urls.items():
                if signer == self.me:
                    continue
                p = self._pushers.get(signer)
                if p is None:
                    p = self._pushers[signer] = _Pusher(url, self.timeout_s, self.source)
                p.q.put(block)

    def stats(self) -> dict[str, dict[str, int]]:
        return {
            s: {"delivered": p.delivered, "refused": p.refused, "queued": p.q.qsize()}
            for s, p in self._pushers.items()
        }

    def stop(self) -> None:
        with self._lock:
            for p in self._pushers.values():
                p.stop()
            self._pushers.clear()
