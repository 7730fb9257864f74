"""Fuzz of the blob store's HTTP API with bad requests (hypothesis, real server): every answer
is a 4xx with the JSON error shape (or 200/404 for a well-formed key), never a 5xx, and no
blob is stored by a refused request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offchain.storage.server import StorageServer

LIMIT = 4096


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StorageServer]:
    s = StorageServer(tmp_path / "blobs", max_bytes=LIMIT).start()
    try:
        yield s
    finally:
        s.stop()


_key = st.one_of(
    st.text(max_size=80).map(lambda s: requests.utils.quote(s, safe="")),
    st.sampled_from(["0x", "0x" + "00" * 32, "0x" + "zz" * 32, "0x" + "ab" * 33, "..%2F..",
                     "%00", "0X" + "AB" * 32, "-1", str(2**300)]),
)  # fmt: skip


def _count(server: StorageServer) -> int:
    return sum(1 for p in (server.data_dir).rglob("*") if p.is_file())


def _run(server: StorageServer, examples: int) -> None:
    before = _count(server)
    s = requests.Session()

    big = st.binary(min_size=LIMIT + 1, max_size=LIMIT + 64)  # over the limit: refused

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.tuples(st.sampled_from(["GET", "HEAD", "PUT", "POST", "DELETE"]), _key, big))
    def check(req: tuple[str, str, bytes]) -> None:
        method, key, body = req
        writes = method in ("PUT", "POST")
        path = "/blobs" if writes and len(key) % 2 else f"/blobs/{key}"
        r = s.request(method, server.url + path, data=body if writes else None, timeout=10)
        assert r.status_code < 500, (method, path, r.status_code, r.text[:200])
        if writes:
            assert r.status_code in (404, 405, 413), (method, path, r.status_code)

    check()
    assert _count(server) == before  # refused requests stored nothing


def test_fuzzStorageNeverFailsOpen(server: StorageServer) -> None:
    _run(server, 100)


@pytest.mark.slow
def test_fuzzStorageNeverFailsOpen10k(server: StorageServer) -> None:
    _run(server, 10_500)
