"""JSON-RPC 2.0 over HTTP for users and peers (FastAPI), plus /health and /metrics.

Methods (params positional):

- ``l2_sendTransaction(rawTxHex)`` -> tx hash; refused with a custom code per ledger
  reason (see :mod:`offchain.rollup.node.errors`). A node that is not current forwards the
  request (marked ``{"forwarded": true}``) to the current sequencer's node and relays its
  answer; a node receiving a forwarded request re-reads who is current and never forwards
  it again (no ping-pong while the set rotates); the forwarder, answered "not current",
  re-reads who is current and tries once more.
- ``l2_getTransactionReceipt(txHash)`` -> receipt or null (status ``pending``,
  ``success`` or ``dropped: resend``). For a transaction it forwarded and has not seen in a
  block yet, a node relays the ``pending`` / ``dropped: resend`` receipt of where it went.
- ``l2_getBalance(address[, token])`` / ``l2_getNonce(address)`` -> decimal strings / int.
- ``l2_getBlock(number | "latest"[, fullTxs])`` -> block or null.
- ``l2_getProof("balance", address, token)`` / ``l2_getProof("withdrawal", txHash)``.
- ``l2_status()``; ``l2_importBlock(block)`` (peers).
- The standard Ethereum methods (``eth_*``, ``net_*``, ``web3_*``) of
  :mod:`offchain.rollup.node.eth_rpc`.

Batches (a JSON array of requests) are answered with an array, as JSON-RPC 2.0 says.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
import structlog
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import generate_latest

from offchain.chain.anvil import free_port
from offchain.common.http import (
    DEFAULT_MAX_BODY_BYTES,
    BackgroundServer,
    install_validation_handler,
)
from offchain.errors import ConfigError
from offchain.rollup.errors import TxRejected
from offchain.rollup.ledger.ethtx import TOKEN_TRANSFER, decode_standard_tx
from offchain.rollup.node.block import Block
from offchain.rollup.node.decode_pool import MIN_BATCH, DecodePool
from offchain.rollup.node.errors import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    KNOWN_TX,
    MEMPOOL_FULL,
    METHOD_NOT_FOUND,
    NO_CURRENT_SEQUENCER,
    NOT_FOUND,
    PARSE_ERROR,
    TX_REJECTED_CODES,
    RollupNodeError,
    TxInvalid,
)
from offchain.rollup.node.eth_rpc import (
    EXECUTION_ERROR,
    EthApi,
    TokenInfo,
    arg,
    params_error,
    wallet_error,
)
from offchain.rollup.node.lane import LANE_METHODS, SubmissionLane, encode_answer
from offchain.rollup.node.node import DROPPED, SequencerNode

log = structlog.get_logger("rollup.rpc")

Handler = Callable[[list[Any]], Any]

# Most requests in one JSON-RPC batch (a longer batch is refused with -32600).
MAX_BATCH_REQUESTS = 1000
# Block numbers are stored as sqlite INTEGER (signed 64-bit).
MAX_BLOCK_NUMBER = 2**63 - 1


def _hex_bytes(v: Any, what: str, size: int | None = None) -> bytes:
    if not isinstance(v, str) or not v.startswith("0x"):
        raise params_error(f"{what} must be a 0x-prefixed hex string")
    try:
        b = bytes.fromhex(v[2:])
    except ValueError:
        raise params_error(f"{what} is not valid hex") from None
    if size is not None and len(b) != size:
        raise params_error(f"{what} must be {size} bytes, got {len(b)}")
    return b


def _address(v: Any, what: str = "address") -> str:
    return "0x" + _hex_bytes(v, what, 20).hex()


class RpcApi:
    """Method table of one node.

    Args:
        node: the node answering.
        extra: more methods (e.g. the batcher's ``l2_batchStatus``).
        token_info: ERC-20 metadata of a bridged L1 token (for ``eth_call``).
        decode_workers: worker processes decoding the wallet transactions of a JSON-RPC
            batch ahead of their execution (:mod:`~offchain.rollup.node.decode_pool`; 0: none).
    """

    def __init__(
        self,
        node: SequencerNode,
        extra: dict[str, Handler] | None = None,
        token_info: Callable[[str], TokenInfo] | None = None,
        decode_workers: int = 1,
    ) -> None:
        self.node = node
        self.decoder = DecodePool(node.executor.domain.chain_id, decode_workers)
        self.eth = EthApi(node, token_info)
        self.methods: dict[str, Handler] = {
            "l2_sendTransaction": self.send_transaction,
            "l2_getTransactionReceipt": self.get_receipt,
            "l2_getBalance": self.get_balance,
            "l2_getNonce": self.get_nonce,
            "l2_getBlock": self.get_block,
            "l2_getProof": self.get_proof,
            "l2_status": lambda p: node.status(),
            "l2_importBlock": self.import_block,
            "eth_sendRawTransaction": self.send_raw_transaction,
        }
        self.methods.update(self.eth.methods)
        self.methods.update(extra or {})
        self.proof_providers: dict[str, Handler] = {}
        self._tls = threading.local()  # .batch: answering a JSON-RPC batch on this thread

    # ----------------------------------------------------------------- methods
    def send_raw_transaction(self, params: list[Any]) -> Any:
        """``eth_sendRawTransaction(signed)``: a wallet's transaction, as ledger kind 0x03.

        Decoded and its signer recovered here, outside the node's lock; refused with the
        messages wallets match (:func:`~offchain.rollup.node.eth_rpc.wallet_error`); forwarded
        like ``l2_sendTransaction`` by a node that is not current.
        """
        raw = _hex_bytes(arg(params, 0, "signed transaction"), "signed transaction")
        node = self.node
        pre = getattr(self._tls, "decoded", None)  # decoded by the batch's worker
        if pre is not None and pre[0] == raw:
            if isinstance(pre[1], tuple):
                raise wallet_error(*pre[1])
            tx = pre[1]
        else:
            try:
                tx = decode_standard_tx(raw, node.executor.domain.chain_id)
            except TxRejected as e:
                raise wallet_error(e.code, e.message) from None
        a = tx.action
        if a is not None and a.kind == TOKEN_TRANSFER and not node.executor.has_token(a.token):
            to = "0x" + (tx.to or b"").hex()
            raise wallet_error("unsupported", f"no token is bridged to this L2 at {to}")
        try:
            # A request alone may wait for its seal; one of several in a JSON-RPC batch never
            # does (the batch's later requests would each wait for a block of their own).
            wait_s = (
                0.0 if getattr(self._tls, "batch", False) else 2 * node.config.block_time_ms / 1000
            )
            h = self._send(b"\x03" + raw, False, wait_s, tx)
            if tx.sender is not None and not node.is_current():  # forwarded: not in our state yet
                self.eth.note_forwarded_nonce(tx.sender.lower(), tx.nonce)
            return h
        except TxInvalid as e:
            raise wallet_error(e.reason, e.message) from None
        except RollupNodeError as e:
            reason = e.data.get("reason") if isinstance(e.data, dict) else None
            if isinstance(reason, str) and e.code in TX_REJECTED_CODES.values():
                raise wallet_error(reason, e.message) from None  # relayed from the current
            if e.code == KNOWN_TX:
                raise RollupNodeError(EXECUTION_ERROR, f"already known: {e.message}") from None
            if e.code == MEMPOOL_FULL:
                raise RollupNodeError(EXECUTION_ERROR, f"txpool is full: {e.message}") from None
            raise

    def send_transaction(
        self, params: list[Any], decoded: Any = None, wait_first_s: float = 0.0
    ) -> Any:
        raw = _hex_bytes(arg(params, 0, "raw transaction"), "raw transaction")
        opts = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        w = opts.get("waitFirstS")  # a wallet's request forwarded by a follower
        if isinstance(w, int | float) and not isinstance(w, bool) and 0 < w <= 1:
            wait_first_s = max(wait_first_s, float(w))
        return self._send(raw, bool(opts.get("forwarded")), wait_first_s, decoded)

    def _send(self, raw: bytes, forwarded: bool, wait_first_s: float, decoded: Any) -> Any:
        """Submit the ledger encoding ``raw`` here, or forward it to the current sequencer."""
        node = self.node
        for attempt in range(2):  # the second time with a fresh answer to "who is current"
            if (forwarded or attempt) and not node.is_current():
                node.current.invalidate()  # a rotation may be newer than our cached answer
            if node.is_current():
                if getattr(self._tls, "defer_wait", False):  # the lane waits off its thread
                    tx_hash, first = node.accept(raw, decoded)
                    if first and wait_first_s > 0:
                        self._tls.wait_due = (tx_hash, wait_first_s)
                    return "0x" + tx_hash.hex()
                return "0x" + node.submit(raw, decoded, wait_first_s).hex()
            cur = node.current.get()
            if cur is None or node.peers.url_of(cur) is None or forwarded:
                raise node.not_current_error()  # never forwarded twice: no ping-pong
            try:
                answer = node.peers.forward(
                    cur,
                    {
                        "jsonrpc": "2.0",
                        "id": 1,
                        "method": "l2_sendTransaction",
                        "params": [
                            "0x" + raw.hex(),
                            {"forwarded": True, "waitFirstS": wait_first_s},
                        ],
                    },
                )
            except (requests.RequestException, ValueError) as e:
                log.warning("forward_failed", to=cur, error=str(e))
                raise node.not_current_error() from None
            node.metrics.forwarded.inc()
            err = answer.get("error")
            if err is None:
                node.note_forwarded(node.executor.tx_hash(raw), cur)
                return answer.get("result")
            if err.get("code") != NO_CURRENT_SEQUENCER or attempt:
                raise RollupNodeError(
                    int(err.get("code", INTERNAL_ERROR)), str(err.get("message")), err.get("data")
                )
        raise node.not_current_error()  # not reached

    def get_receipt(self, params: list[Any]) -> Any:
        h = _hex_bytes(arg(params, 0, "transaction hash"), "transaction hash", 32)
        return self.node.receipt(h) or self._forwarded_receipt(h)

    def _forwarded_receipt(self, h: bytes) -> Any:
        """A transaction this node forwarded and has not seen in a block: the receipt of the
        node it went to when that one still holds it (``pending``) or dropped it (``dropped:
        resend``), so the user learns of a drop where they sent it. None otherwise."""
        to = self.node.forwarded_to(h)
        if to is None:
            return None
        try:
            ans = self.node.peers.forward(
                to,
                {"jsonrpc": "2.0", "id": 1, "method": "l2_getTransactionReceipt",
                 "params": ["0x" + h.hex()]},
            )  # fmt: skip
        except (requests.RequestException, ValueError, LookupError):
            return None
        r = ans.get("result")
        return r if isinstance(r, dict) and r.get("status") in ("pending", DROPPED) else None

    def get_balance(self, params: list[Any]) -> Any:
        acct = _address(arg(params, 0, "address"))
        token = _address(arg(params, 1, "token", "0x" + "00" * 20), "token")
        with self.node._lock:
            return str(self.node.executor.balance(acct, token))

    def get_nonce(self, params: list[Any]) -> Any:
        acct = _address(arg(params, 0, "address"))
        with self.node._lock:
            return self.node.executor.nonce(acct)

    def get_block(self, params: list[Any]) -> Any:
        which = arg(params, 0, "block number", "latest")
        full = bool(arg(params, 1, "full", False))
        if which == "latest":
            number = self.node.head
        elif isinstance(which, int) and not isinstance(which, bool) and which >= 0:
            number = which
        elif isinstance(which, str) and which.startswith("0x") and len(which) <= 66:
            try:
                number = int(which, 16)
            except ValueError:
                raise params_error("block number is not valid hex") from None
        else:
            raise params_error('block must be a number, a 0x quantity or "latest"')
        if number > MAX_BLOCK_NUMBER:
            raise params_error(f"block number {number} is over {MAX_BLOCK_NUMBER}")
        b = self.node.store.block(number)
        return b.to_json(full=full) if b else None

    def get_proof(self, params: list[Any]) -> Any:
        kind = arg(params, 0, 'proof type ("balance" or "withdrawal")')
        if kind == "balance":
            acct = _address(arg(params, 1, "address"))
            token = _address(arg(params, 2, "token", "0x" + "00" * 20), "token")
            with self.node._lock:
                return self.node.executor.balance_proof(acct, token)
        if kind == "withdrawal":
            h = _hex_bytes(arg(params, 1, "withdrawal transaction hash"), "transaction hash", 32)
            provider = self.proof_providers.get("withdrawal")
            if provider is None:
                raise RollupNodeError(
                    NOT_FOUND, "this node runs no batcher; withdrawal proofs unavailable"
                )
            out = provider([h])
            if out is None:
                raise RollupNodeError(
                    NOT_FOUND,
                    f"withdrawal 0x{h.hex()} is not in a submitted batch yet",
                    hint="wait for the next batch and retry",
                )
            return out
        raise params_error(f'unknown proof type {kind!r}; use "balance" or "withdrawal"')

    def import_block(self, params: list[Any]) -> Any:
        try:
            block = Block.from_json(arg(params, 0, "block"))
        except (ValueError, TypeError, KeyError, OverflowError) as e:
            raise params_error(str(e)[:200]) from None
        self.node.import_block(block)
        return {"accepted": True, "number": block.number}

    # ---------------------------------------------------------------- dispatch
    @staticmethod
    def _client_error(rid: Any, code: int, message: str) -> dict[str, Any]:
        log.info("rpc_refused", code=code, message=message)
        return _error(rid, code, message)

    def call_batch(self, reqs: list[Any]) -> list[dict[str, Any]]:
        """Answer the requests of one JSON-RPC batch, in order (notifications get nothing).

        A batch with one ``eth_sendRawTransaction`` is a wallet's (ethers batches its calls):
        that one may wait for its seal; in a batch of several, none waits. The batch's wallet
        transactions are decoded by :attr:`decoder`'s worker while the earlier ones execute.
        """
        tls = self._tls
        at: list[int] = []  # positions of the eth_sendRawTransaction requests with hex bytes
        raws: list[bytes] = []
        sends = 0
        for i, r in enumerate(reqs):
            if isinstance(r, dict) and r.get("method") == "eth_sendRawTransaction":
                sends += 1
                p = r.get("params")
                if isinstance(p, list) and p and isinstance(p[0], str) and p[0][:2] == "0x":
                    try:
                        raws.append(bytes.fromhex(p[0][2:]))
                    except ValueError:
                        continue  # refused by send_raw_transaction itself
                    at.append(i)
        if len(reqs) >= MIN_BATCH:
            self.decoder.start_soon()  # a client sending batches: start the workers
        futures = self.decoder.decode_later(raws)
        decoded = iter(self.decoder.results(futures, raws)) if futures is not None else None
        tls.batch = sends > 1
        out = []
        j = 0
        try:
            for i, r in enumerate(reqs):
                if decoded is not None and j < len(at) and at[j] == i:
                    tls.decoded = (raws[j], next(decoded))
                    j += 1
                try:
                    a = self.call(r)
                finally:
                    tls.decoded = None
                if a is not None:
                    out.append(a)
            return out
        finally:
            tls.batch = False

    def close(self) -> None:
        """Stop the decoding workers."""
        self.decoder.close()

    def call_deferring_wait(
        self, req: Any
    ) -> tuple[dict[str, Any] | None, tuple[bytes, float] | None]:
        """:meth:`call` for the submission lane: a submission that should wait for its seal
        is answered at once, and the wait is returned as ``(tx hash, timeout s)`` instead."""
        tls = self._tls
        tls.defer_wait, tls.wait_due = True, None
        try:
            return self.call(req), tls.wait_due
        finally:
            tls.defer_wait, tls.wait_due = False, None

    def call(self, req: Any) -> dict[str, Any] | None:
        """Answer one JSON-RPC request object (None for a notification)."""
        if not isinstance(req, dict) or req.get("jsonrpc") != "2.0" or "method" not in req:
            return self._client_error(
                None, INVALID_REQUEST, "invalid request: expected a JSON-RPC 2.0 object"
            )
        rid = req.get("id")
        if not _valid_id(rid):
            return self._client_error(
                None, INVALID_REQUEST, "invalid request: id must be a string, a number or null"
            )
        method = req["method"]
        params = req.get("params", [])
        if not isinstance(params, list):
            return self._client_error(
                rid, INVALID_PARAMS, "invalid params: params must be an array"
            )
        fn = self.methods.get(method) if isinstance(method, str) else None
        if fn is None:
            shown = method[:64] if isinstance(method, str) else type(method).__name__
            return self._client_error(rid, METHOD_NOT_FOUND, f"method not found: {shown!r}")
        try:
            result = fn(params)
        except RollupNodeError as e:
            if e.code in (INVALID_PARAMS, INVALID_REQUEST):
                log.info("rpc_refused", method=method, code=e.code, message=e.message)
            return {"jsonrpc": "2.0", "id": rid, "error": e.to_json()}
        except RecursionError:
            return self._client_error(rid, INVALID_PARAMS, "invalid params: nested too deeply")
        except Exception as e:  # noqa: BLE001 - never a traceback to a user
            log.exception("rpc_internal_error", method=method)
            return _error(rid, INTERNAL_ERROR, f"internal error: {type(e).__name__}: {e}")
        if "id" not in req:
            return None
        return {"jsonrpc": "2.0", "id": rid, "result": result}


def _error(rid: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}}


def _refused(answer: dict[str, Any]) -> bytes:
    """A request refused before dispatch: one log line, the JSON-RPC error (HTTP 200)."""
    log.info("rpc_refused", code=answer["error"]["code"], message=answer["error"]["message"])
    return json.dumps(answer).encode()


def _valid_id(rid: Any) -> bool:
    """JSON-RPC 2.0: an id is a string, a number or null (and we echo it back)."""
    if isinstance(rid, bool):
        return False
    if isinstance(rid, str):
        return len(rid) <= 256
    return rid is None or (isinstance(rid, int) and abs(rid) < 2**63) or isinstance(rid, float)


# A public JSON-RPC endpoint, like an Ethereum node's with --http.corsdomain "*": dApp pages
# served from any origin call it from the browser (no cookies or credentials are involved).
_CORS_ORIGIN = (b"access-control-allow-origin", b"*")
_CORS_PREFLIGHT = [
    _CORS_ORIGIN,
    (b"access-control-allow-methods", b"POST, OPTIONS"),
    (b"access-control-allow-headers", b"content-type"),
    (b"access-control-max-age", b"600"),
]


class JsonRpcEndpoint:
    """ASGI application: ``POST /`` is JSON-RPC, answered without FastAPI's routing and
    request objects (the wallets' hot path: one small request per transaction); every other
    request goes to ``rest`` (``/health``, ``/metrics``, ``/cosign``, ``/frost/...``).

    Handlers block (ledger execution under the node's lock, forwarding to peers, a wallet's
    wait for its seal), so they run on a thread pool, never on the event loop: a node waiting
    on a peer still answers that peer's requests. A single submission goes to the
    :class:`~offchain.rollup.node.lane.SubmissionLane` instead (one thread, in runs).
    """

    def __init__(self, api: RpcApi, rest: Any, workers: int = 32) -> None:
        self.api = api
        self.rest = rest
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="l2-rpc")
        self._lane: SubmissionLane | None = None

    def _lane_of(self) -> SubmissionLane:
        if self._lane is None:  # created on the server's loop, at its first submission
            self._lane = SubmissionLane(self.api, self._pool, asyncio.get_running_loop())
        return self._lane

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS" and scope["path"] == "/":
            # CORS preflight: a dApp page (any origin) calls the node from the browser.
            await send({"type": "http.response.start", "status": 204, "headers": _CORS_PREFLIGHT})
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/":
            await self.rest(scope, receive, send)
            return
        chunks = []
        while True:  # at most max_body_bytes (BodyLimit answered 413 above)
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            chunks.append(msg.get("body", b""))
            if not msg.get("more_body", False):
                break
        body = self._answer(b"".join(chunks))
        if isinstance(body, dict):
            body = await self._lane_of().submit(body)
        elif not isinstance(body, bytes):
            body = await asyncio.get_running_loop().run_in_executor(self._pool, body)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), _CORS_ORIGIN],
            }
        )  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    def _answer(self, body: bytes) -> bytes | dict[str, Any] | Callable[[], bytes]:
        """The response body of a refused request now, a submission for the lane, else the
        work to run on the pool."""
        api = self.api
        try:
            req = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _refused(_error(None, PARSE_ERROR, "parse error: body is not JSON"))
        except RecursionError:
            return _refused(_error(None, PARSE_ERROR, "parse error: JSON nested too deeply"))
        if isinstance(req, list):
            if not req:
                return _refused(_error(None, INVALID_REQUEST, "invalid request: empty batch"))
            if len(req) > MAX_BATCH_REQUESTS:
                return _refused(
                    _error(
                        None,
                        INVALID_REQUEST,
                        f"invalid request: batch of {len(req)} requests, at most "
                        f"{MAX_BATCH_REQUESTS}",
                    )
                )
            return lambda: json.dumps(api.call_batch(req)).encode()
        method = req.get("method") if isinstance(req, dict) else None
        if isinstance(method, str) and method in LANE_METHODS:
            return req
        return lambda: encode_answer(api.call(req))


def create_app(
    api: RpcApi, health: Callable[[], dict[str, Any]], routers: list[APIRouter] | None = None
) -> JsonRpcEndpoint:
    """The HTTP application: ``POST /`` (JSON-RPC), ``GET /health``, ``GET /metrics``."""
    app = FastAPI(title="l2kit sequencer node", docs_url=None, redoc_url=None, openapi_url=None)
    # POST /cosign bodies: 400 bad_request as the standalone co-signer answers, never a 500.
    install_validation_handler(app, 400, "bad_request")
    for r in routers or []:
        app.include_router(r)

    @app.get("/health")
    def get_health() -> Response:
        body = health()  # 503 while a part is down (offchain.common.health.overall)
        return JSONResponse(body, status_code=503 if body.get("failing") else 200)

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(
            generate_latest(api.node.metrics.registry), media_type="text/plain; version=0.0.4"
        )

    return JsonRpcEndpoint(api, app)


class HttpServer(BackgroundServer):
    """The node's FastAPI app served by uvicorn in a background thread.

    The port is fixed at construction (so peers can be told the URL before start), and the
    URL ends with ``/`` (the JSON-RPC endpoint).

    Args:
        app: the application.
        host: interface.
        port: port (0: a free one).
        name: thread name.
        max_body_bytes: larger request bodies get HTTP 413 (code -32600) unparsed.
    """

    def __init__(
        self,
        app: JsonRpcEndpoint,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "l2-rpc",
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        super().__init__(
            app,
            host,
            port or free_port(),
            name=name,
            error=ConfigError,
            max_body_bytes=max_body_bytes,
            error_body=lambda limit: _error(
                None, INVALID_REQUEST, f"invalid request: body over {limit} bytes"
            ),
        )

    @property
    def url(self) -> str:
        return super().url + "/"
