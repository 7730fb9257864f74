"""HTTP client sessions that survive a server (or a middlebox) closing an idle connection.

A pooled keep-alive connection can be closed by the other end while it sits idle: Anvil
closes an idle connection after about 30 s, l2kit's own servers after 75 s, a NAT or a proxy
whenever it likes, and a proxy need not pass the close on (the client's socket looks open
until it is used). The next request sent on such a connection fails without any answer
(``RemoteDisconnected``, ``ConnectionResetError``, ``BrokenPipeError``), although the
server is up. :class:`FreshRetryAdapter` sends that request once more, on a new connection
(the adapter's idle connections are dropped first: they are as old as the one that failed);
any other failure, and a second failure, is raised as before.

Sending a request twice is safe for every l2kit client: the first one never got an answer,
and what the clients send is a read, a signed transaction (the same hash again), an L2
transaction (``already known``) or a FROST request (a participant never signs with a used
nonce).
"""

from __future__ import annotations

import http.client
from typing import Any

import requests
import structlog
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ProtocolError

log = structlog.get_logger("http.client")

#: What a request sent on a connection the other end has closed fails with (no answer).
_CLOSED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
           ConnectionAbortedError)  # fmt: skip


def closed_connection(e: BaseException) -> bool:
    """Whether ``e`` is a request that failed because its connection had been closed by the
    other end before any answer (as opposed to a refused connection, a timeout, a bad answer)."""
    if not isinstance(e, requests.ConnectionError):
        return False
    cause = e.args[0] if e.args else None
    if isinstance(cause, ProtocolError):
        return any(isinstance(a, _CLOSED) for a in cause.args)
    return isinstance(cause, _CLOSED)


class FreshRetryAdapter(HTTPAdapter):
    """An :class:`HTTPAdapter` that resends, once and on a new connection, a request whose
    pooled connection turned out to be closed (see the module docstring)."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().send(request, *args, **kwargs)
        except requests.ConnectionError as e:
            if not closed_connection(e):
                raise
            log.info("http_stale_connection_retried", url=request.url, error=str(e)[:200])
            self.poolmanager.clear()  # every idle connection of this adapter: new ones
            return super().send(request, *args, **kwargs)


def http_session(pool_maxsize: int = 32) -> requests.Session:
    """A :class:`requests.Session` whose http(s) connections are retried once fresh when
    found closed (:class:`FreshRetryAdapter`); ``pool_maxsize`` connections per host are
    kept (the session may be shared by threads)."""
    s = requests.Session()
    for prefix in ("http://", "https://"):
        s.mount(prefix, FreshRetryAdapter(pool_connections=4, pool_maxsize=pool_maxsize))
    return s
