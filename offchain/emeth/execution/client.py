"""HTTP client of the execution layer (what agents and the CLI use)."""

from __future__ import annotations

from typing import Any

import requests

from offchain.common.session import http_session
from offchain.emeth.errors import ExecutionLayerError
from offchain.emeth.execution.actions import Domain, sign_action


class ExecutionClient:
    """Talks to an execution layer at ``url``.

    Args:
        url: base URL, e.g. ``http://127.0.0.1:8800``.
        timeout_s: per-request timeout.
    """

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._session = http_session()
        self._domain: Domain | None = None

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        try:
            r = self._session.request(method, self.url + path, timeout=self.timeout_s, **kw)
        except requests.RequestException as e:
            raise ExecutionLayerError(
                f"cannot reach the execution layer at {self.url}: {type(e).__name__}"
            ) from e
        if r.status_code >= 400:
            details: dict[str, Any] = {}
            try:
                err = r.json()["error"]
                code, msg = str(err["code"]), str(err["message"])
                if isinstance(err.get("details"), dict):
                    details = err["details"]
            except (ValueError, KeyError, TypeError, AttributeError):
                code, msg = "http_error", r.text[:200]
            raise ExecutionLayerError(msg, status=r.status_code, code=code, details=details)
        return r.json()

    # ---------------------------------------------------------------- reads
    def health(self) -> dict[str, Any]:
        """The ``/health`` document, also when it answers 503 (``status`` is then "down")."""
        try:
            r = self._session.get(self.url + "/health", timeout=self.timeout_s)
        except requests.RequestException as e:
            raise ExecutionLayerError(
                f"cannot reach the execution layer at {self.url}: {type(e).__name__}"
            ) from e
        if r.status_code in (200, 503):
            return r.json()  # type: ignore[no-any-return]
        return self._call("GET", "/health")  # type: ignore[no-any-return]

    def domain(self) -> Domain:
        """The EIP-712 domain actions are signed on (fetched once)."""
        if self._domain is None:
            d = self._call("GET", "/domain")
            self._domain = Domain.from_dict(d)
        return self._domain

    def roles(self, address: str) -> list[str]:
        """The operator roles ``address`` holds on this execution layer (``GET /roles/{a}``)."""
        return list(self._call("GET", f"/roles/{address}")["roles"])

    def job(self, job_id: str) -> dict[str, Any]:
        return self._call("GET", f"/jobs/{job_id}")  # type: ignore[no-any-return]

    def jobs(self, **filters: Any) -> list[dict[str, Any]]:
        params = {k: v for k, v in filters.items() if v is not None}
        return self._call("GET", "/jobs", params=params)  # type: ignore[no-any-return]

    def backing(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/{id}/backing``: the ``JobBacking`` JSON of a processed job."""
        return self._call("GET", f"/jobs/{job_id}/backing")  # type: ignore[no-any-return]

    def history(self, job_id: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/jobs/{job_id}/history")  # type: ignore[no-any-return]

    def funds(self, requester: str) -> dict[str, Any]:
        return self._call("GET", f"/requesters/{requester}/funds")  # type: ignore[no-any-return]

    def debit(self, requester: str, settled: bool = False) -> dict[str, Any]:
        """``GET /requesters/{r}/debit``: the newest debit leaf and its proof (404 if none)."""
        params = {"settled": settled}
        return self._call("GET", f"/requesters/{requester}/debit", params=params)  # type: ignore[no-any-return]

    def penalties(self, node: str | None = None, unbilled: bool = False) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"unbilled": unbilled}
        if node:
            params["node"] = node
        return self._call("GET", "/penalties", params=params)  # type: ignore[no-any-return]

    def tickets(self, node: str | None = None, settled: bool | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {}
        if node:
            params["node"] = node
        if settled is not None:
            params["settled"] = settled
        return self._call("GET", "/tickets", params=params)  # type: ignore[no-any-return]

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        return self._call("GET", f"/tickets/{ticket_id}")  # type: ignore[no-any-return]

    def posted_leaves(self, ticket_id: int) -> dict[str, Any] | None:
        """``GET /tickets/{id}/leaves``: ``{"ticket", "leaves"}`` of a posted Ticket (None:
        nobody published them here)."""
        try:
            return self._call("GET", f"/tickets/{ticket_id}/leaves")  # type: ignore[no-any-return]
        except ExecutionLayerError as e:
            if e.status == 404:
                return None
            raise

    def publish_leaves(
        self, ticket: dict[str, Any], leaves: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """``POST /tickets/{id}/leaves`` (``Ticket.to_dict``, ``JobBacking.to_dict`` forms)."""
        body = {"ticket": ticket, "leaves": leaves}
        return self._call("POST", f"/tickets/{ticket['ticketId']}/leaves", json=body)  # type: ignore[no-any-return]

    def next_ticket_id(self) -> int:
        return int(self._call("GET", "/tickets/next-id")["ticketId"])

    # --------------------------------------------------------------- writes
    def act(self, action: str, message: dict[str, Any], account: Any) -> dict[str, Any]:
        """Sign ``message`` as ``action`` with ``account`` and post it.

        Raises:
            ExecutionLayerError: refused (``.status``/``.code``) or unreachable.
        """
        sig = sign_action(self.domain(), action, message, account)
        body = {"action": action, "message": message, "signature": sig}
        return self._call("POST", "/actions", json=body)  # type: ignore[no-any-return]

    def post_signed(self, action: str, message: dict[str, Any], signature: str) -> dict[str, Any]:
        """Post an action signed elsewhere."""
        body = {"action": action, "message": message, "signature": signature}
        return self._call("POST", "/actions", json=body)  # type: ignore[no-any-return]

    def store_ticket(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/tickets", json=payload)  # type: ignore[no-any-return]

    def expire_tickets(self) -> list[int]:
        """``POST /tickets/expire``: ids of the Tickets released as expired."""
        return [int(i) for i in self._call("POST", "/tickets/expire")["expired"]]

    def mark_settled(self, ticket_id: int, tx: str | None = None) -> bool:
        params = {"tx": tx} if tx else {}
        return bool(self._call("POST", f"/tickets/{ticket_id}/settled", params=params)["settled"])

    def close(self) -> None:
        self._session.close()
