"""A small JSON-RPC client for a sequencer node (CLI, tests, demo, bench)."""

from __future__ import annotations

import itertools
import time
from typing import Any

import requests

from offchain.common.session import http_session
from offchain.errors import RpcError
from offchain.rollup.node.errors import RollupNodeError


class L2Client:
    """Calls a node's ``l2_*`` methods.

    Args:
        url: the node's JSON-RPC URL (``http://host:port/``).
        timeout_s: per-request timeout.
    """

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.timeout_s = timeout_s
        self._session = http_session()
        self._ids = itertools.count(1)

    def call(self, method: str, *params: Any) -> Any:
        """One request.

        Raises:
            RollupNodeError: the node answered with an error object (``.code``, ``.message``).
            RpcError: the node cannot be reached or answered garbage.
        """
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        try:
            r = self._session.post(self.url, json=body, timeout=self.timeout_s)
            ans = r.json()
        except requests.RequestException as e:
            raise RpcError(
                f"cannot reach the L2 node at {self.url}", "is `l2kit rollup node run` up?"
            ) from e
        except ValueError as e:
            raise RpcError(f"{self.url} did not answer JSON-RPC: {e}") from e
        if "error" in ans:
            err = ans["error"]
            raise RollupNodeError(
                int(err.get("code", -32603)), str(err.get("message")), err.get("data")
            )
        return ans.get("result")

    def call_many(self, method: str, params_list: list[list[Any]]) -> list[dict[str, Any]]:
        """A JSON-RPC batch of ``method`` calls; returns the raw answer objects in order."""
        reqs = [
            {"jsonrpc": "2.0", "id": i, "method": method, "params": p}
            for i, p in enumerate(params_list)
        ]
        try:
            r = self._session.post(self.url, json=reqs, timeout=self.timeout_s * 6)
            ans: list[dict[str, Any]] = r.json()
        except (requests.RequestException, ValueError) as e:
            raise RpcError(f"batch request to {self.url} failed: {e}") from e
        ans.sort(key=lambda a: a.get("id") or 0)
        return ans

    # ------------------------------------------------------------- shortcuts
    def send(self, raw: bytes) -> str:
        return str(self.call("l2_sendTransaction", "0x" + raw.hex()))

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        out: dict[str, Any] | None = self.call("l2_getTransactionReceipt", tx_hash)
        return out

    def balance(self, account: str, token: str = "0x" + "00" * 20) -> int:
        return int(self.call("l2_getBalance", account, token))

    def nonce(self, account: str) -> int:
        return int(self.call("l2_getNonce", account))

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = self.call("l2_status")
        return out

    def block(self, which: int | str = "latest", full: bool = False) -> dict[str, Any] | None:
        out: dict[str, Any] | None = self.call("l2_getBlock", which, full)
        return out

    def wait_receipt(
        self, tx_hash: str, timeout_s: float = 10.0, status: str = "success"
    ) -> dict[str, Any]:
        """Poll until the receipt has ``status`` (or any final status when ``status`` is "").

        Raises:
            RpcError: not there within ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        last: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            last = self.receipt(tx_hash)
            if (
                last is not None
                and last["status"] != "pending"
                and (not status or last["status"] == status)
            ):
                return last
            time.sleep(0.05)
        raise RpcError(
            f"transaction {tx_hash} not {status or 'final'} after {timeout_s}s (last: {last})"
        )
