"""Decoding of a JSON-RPC batch's wallet transactions in a worker process, ahead of execution.

Decoding a standard transaction (strict RLP, the signing hash, secp256k1 recovery of the
sender, the EIP-55 form of the addresses) costs about as much interpreter time as executing
it, and needs no state. For a JSON-RPC batch of ``eth_sendRawTransaction`` requests the node
hands the raw transactions, in chunks, to a worker process (the other core) and executes them
in order as the chunks come back: execution of the first chunks overlaps the decoding of the
later ones, and the node's thread is left with the execution alone.

The worker runs :func:`~offchain.rollup.ledger.ethtx.decode_standard_tx`, the very function
the node would run itself, and returns each transaction decoded (or its rejection code and
message): what the ledger then executes is identical. A batch smaller than
:data:`MIN_BATCH` is decoded on the node's thread (a process hop is not worth it), as is
everything when the pool is off (``workers=0``) or broken. The workers are started (in the
background: they take a second to import) at the first batch of :data:`MIN_BATCH` requests
or more, of any method; until they are up, batches are decoded on the node's thread. A node
that never gets such a batch starts no process.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import structlog

from offchain.rollup.errors import TxRejected
from offchain.rollup.ledger.ethtx import StandardTx, decode_standard_tx

log = structlog.get_logger("rollup.decode_pool")

#: Fewest wallet transactions in one JSON-RPC batch worth sending to the worker.
MIN_BATCH = 32
#: Transactions per chunk handed to the worker (the first one smaller: execution starts
#: as soon as it is back).
CHUNK = 64
FIRST_CHUNK = 16

#: One decoded transaction, or the rejection ``(code, message)`` it got.
Decoded = StandardTx | tuple[str, str]


def decode_chunk(raws: list[bytes], chain_id: int) -> list[Decoded]:
    """The worker's job: :func:`decode_standard_tx` of each raw transaction."""
    out: list[Decoded] = []
    for raw in raws:
        try:
            tx = decode_standard_tx(raw, chain_id)
            _ = tx.hash  # computed here, cached in the object (sent back with it)
            out.append(tx)
        except TxRejected as e:
            out.append((e.code, str(e)))
    return out


def _warm() -> int:
    return 0


class DecodePool:
    """Worker processes decoding standard transactions (see the module docstring).

    Args:
        chain_id: the L2 chain id the transactions are checked against.
        workers: worker processes (0: decode on the caller's thread).
    """

    def __init__(self, chain_id: int, workers: int = 1) -> None:
        self.chain_id = chain_id
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False
        self._ready = False
        self._starting = False
        self._closed = False
        self.decoded = 0  # transactions the workers decoded (tests, metrics)
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor | None:
        if self.workers <= 0 or self._broken:
            return None
        with self._lock:
            if self._closed:
                return None
            if self._pool is None:
                # spawn: the node is multi-threaded, a forked child could inherit held locks.
                ctx = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
            return self._pool

    def start(self) -> None:
        """Start the workers and wait until they are up."""
        pool = self._executor()
        if pool is None:
            return
        try:
            for f in [pool.submit(_warm) for _ in range(self.workers)]:
                f.result()
        except Exception as e:  # noqa: BLE001 - no workers: decode on the caller's thread
            self._mark_broken(e)
            return
        self._ready = True

    def start_soon(self) -> None:
        """:meth:`start` on a background thread (once)."""
        with self._lock:
            if self._starting or self.workers <= 0:
                return
            self._starting = True
        threading.Thread(target=self.start, name="l2-decode-pool-start", daemon=True).start()

    def decode_later(self, raws: list[bytes]) -> list[Future[list[Decoded]]] | None:
        """Hand ``raws`` to the workers in chunks; None when they are not used (too few,
        not up yet, off or broken): the caller decodes itself."""
        if len(raws) < MIN_BATCH or not self._ready:
            return None
        pool = self._executor()
        if pool is None:
            return None
        bounds = [0, min(FIRST_CHUNK, len(raws))]
        while bounds[-1] < len(raws):
            bounds.append(min(bounds[-1] + CHUNK, len(raws)))
        try:
            return [
                pool.submit(decode_chunk, raws[a:b], self.chain_id)
                for a, b in zip(bounds, bounds[1:], strict=False)
            ]
        except Exception as e:  # noqa: BLE001 - a broken pool: decode on the caller's thread
            self._mark_broken(e)
            return None

    def _mark_broken(self, e: BaseException) -> None:
        log.warning("decode_pool_broken", error=f"{type(e).__name__}: {e}")
        self._broken = True

    def results(self, futures: list[Future[list[Decoded]]], raws: list[bytes]) -> Any:
        """Iterate over the decoded transactions of ``raws`` in order, as chunks come back (a
        chunk the pool failed on is decoded here)."""
        pos = 0
        for f in futures:
            try:
                chunk = f.result()
            except Exception as e:  # noqa: BLE001 - worker died: decode the rest ourselves
                self._mark_broken(e)
                chunk = None
            if chunk is None:
                n = _chunk_len(pos, len(raws))
                chunk = decode_chunk(raws[pos : pos + n], self.chain_id)
            else:
                self.decoded += len(chunk)
            yield from chunk
            pos += len(chunk)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None


def _chunk_len(pos: int, total: int) -> int:
    size = FIRST_CHUNK if pos == 0 else CHUNK
    return min(size, total - pos)
