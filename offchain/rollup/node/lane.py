"""The submission lane: wallets' one-transaction requests, executed by one thread in runs.

A wallet sends one ``eth_sendRawTransaction`` per HTTP request. Handing each of them to a
thread of its own (as the other methods are) costs a thread hop per transaction, and with
16 wallets at once 16 threads contend for the node's lock and the interpreter lock. The
lane is one thread: the event loop queues each submission (already parsed) and returns to
its sockets; the lane takes every submission queued so far and answers them in arrival
order, handing the answers back to the loop together. No thread is woken per
request and none contends for the locks, so under load a request costs about what one
transaction of a JSON-RPC batch costs.

What may block stays off the lane: a node that is not current forwards on the thread pool,
and a wallet's wait for its seal (docs/spec.md, ``eth_sendRawTransaction``) runs on the
pool once its answer is ready.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from offchain.rollup.node.rpc import RpcApi

#: The methods the lane answers (a single request object, not a batch).
LANE_METHODS = frozenset({"eth_sendRawTransaction", "l2_sendTransaction"})

#: Most answers handed back to the loop together (one wake-up of the loop per group). A run
#: rarely holds more (one request per connection at a time); measured with 16 wallets, node
#: CPU per request was lowest when a whole run went back at once (less than groups of 1 or 4).
HANDBACK = 64

_Item = tuple[dict[str, Any], "asyncio.Future[bytes]"]


def encode_answer(ans: dict[str, Any] | None) -> bytes:
    """The HTTP body of one answer (empty for a notification)."""
    return json.dumps(ans).encode() if ans else b""


class SubmissionLane:
    """One thread answering submissions in runs (see the module docstring).

    Args:
        api: the node's method table.
        pool: where blocking work goes (forwarding, waits for a seal).
        loop: the event loop the answers go back to.
    """

    def __init__(self, api: RpcApi, pool: Executor, loop: asyncio.AbstractEventLoop) -> None:
        self.api = api
        self.pool = pool
        self.loop = loop
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self.runs = 0  # how many runs were answered (tests, metrics)
        self._thread = threading.Thread(target=self._run, name="l2-submit-lane", daemon=True)
        self._thread.start()

    def submit(self, req: dict[str, Any]) -> asyncio.Future[bytes]:
        """Queue one submission (call on the loop); the future gets its HTTP body."""
        fut: asyncio.Future[bytes] = self.loop.create_future()
        self._queue.put((req, fut))
        return fut

    def _run(self) -> None:
        q = self._queue
        while True:
            run = [q.get()]
            while True:
                try:
                    run.append(q.get_nowait())
                except queue.Empty:
                    break
            self.runs += 1
            done: list[tuple[asyncio.Future[bytes], bytes]] = []
            for req, fut in run:
                try:
                    self._answer(req, fut, done)
                except Exception as e:  # noqa: BLE001 - api.call answers every error itself
                    self.loop.call_soon_threadsafe(_fail, fut, e)
                if len(done) >= HANDBACK:
                    self.loop.call_soon_threadsafe(_resolve, done)
                    done = []
            if done:
                self.loop.call_soon_threadsafe(_resolve, done)

    def _answer(
        self,
        req: dict[str, Any],
        fut: asyncio.Future[bytes],
        done: list[tuple[asyncio.Future[bytes], bytes]],
    ) -> None:
        """Answer one submission into ``done`` (or hand it to the pool)."""
        api = self.api
        if not api.node.is_current():  # forwarding blocks on a peer: on the pool
            self.pool.submit(self._later, fut, lambda: encode_answer(api.call(req)))
            return
        ans, wait = api.call_deferring_wait(req)
        body = encode_answer(ans)
        if wait is None:
            done.append((fut, body))
            return
        tx_hash, timeout_s = wait

        def sealed() -> bytes:
            api.node.wait_sealed(tx_hash, timeout_s)
            return body

        self.pool.submit(self._later, fut, sealed)

    def _later(self, fut: asyncio.Future[bytes], work: Callable[[], bytes]) -> None:
        try:
            body = work()
        except Exception as e:  # noqa: BLE001 - handed to the request's task
            self.loop.call_soon_threadsafe(_fail, fut, e)
            return
        self.loop.call_soon_threadsafe(_resolve, [(fut, body)])


def _resolve(done: list[tuple[asyncio.Future[bytes], bytes]]) -> None:
    for fut, body in done:
        if not fut.done():  # the client may have gone (its task cancelled)
            fut.set_result(body)


def _fail(fut: asyncio.Future[bytes], e: BaseException) -> None:
    if not fut.done():
        fut.set_exception(e)
