"""A pooled connection the server closed while idle, behind a proxy that does not pass the
close on (as Anvil's 30 s idle close behind tests/helpers/proxy.TcpProxy, the outage
module's L1): the next request is sent once more on a new connection; any other failure
is not retried."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from offchain.common.session import closed_connection, http_session
from tests.helpers.proxy import TcpProxy

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"


class _IdleClosingServer:
    """Answers one request per connection (keep-alive), then closes it 0.2 s later."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c: socket.socket) -> None:
        with c:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = c.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.requests += 1
            c.sendall(ANSWER)
            time.sleep(0.2)  # idle: closed (the client through the proxy is not told)


@pytest.fixture
def stale() -> Iterator[tuple[_IdleClosingServer, TcpProxy]]:
    srv = _IdleClosingServer()
    with TcpProxy("127.0.0.1", srv.port) as proxy:
        yield srv, proxy
    srv.sock.close()


def test_plainSessionFailsOnTheClosedConnection(stale) -> None:
    """The hole the adapter closes: a plain requests.Session reuses the dead connection."""
    _, proxy = stale
    s = requests.Session()
    assert s.get(proxy.url, timeout=5).text == "ok"
    time.sleep(0.6)
    with pytest.raises(requests.ConnectionError) as e:
        s.get(proxy.url, timeout=5)
    assert closed_connection(e.value)


def test_closedConnectionIsRetriedOnceOnANewOne(stale) -> None:
    srv, proxy = stale
    s = http_session()
    for _ in range(3):
        assert s.get(proxy.url, timeout=5).text == "ok"
        time.sleep(0.6)
        assert s.post(proxy.url, json={"x": 1}, timeout=5).text == "ok"
        time.sleep(0.6)
    assert srv.requests == 6  # each request answered exactly once


def test_refusedConnectionIsNotRetried() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there
    with pytest.raises(requests.ConnectionError) as e:
        http_session().get(f"http://127.0.0.1:{port}", timeout=5)
    assert not closed_connection(e.value)
