"""Blob storage service: put/get/has over HTTP, errors, limits, restarts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from offchain.chain.anvil import free_port
from offchain.common.hashing import keccak
from offchain.errors import ConfigError
from offchain.storage.client import BlobClient
from offchain.storage.errors import BadKey, BlobNotFound, BlobTooLarge, StorageError
from offchain.storage.server import StorageServer
from offchain.storage.store import BlobStore

LIMIT = 64 * 1024


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StorageServer]:
    s = StorageServer(tmp_path / "blobs", max_bytes=LIMIT).start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def client(server: StorageServer) -> BlobClient:
    return BlobClient(server.url)


def test_put_get_has_roundtrip(client: BlobClient) -> None:
    data = os.urandom(5000)
    key = client.put(data)
    assert key == "0x" + keccak(data).hex()
    assert client.has(key)
    assert client.get(key) == data
    assert client.get(key.upper().replace("0X", "0x")) == data  # keys are case-insensitive
    assert client.put(data) == key  # idempotent
    assert client.put(b"") == "0x" + keccak(b"").hex()


def test_http_shape(server: StorageServer) -> None:
    r = requests.put(f"{server.url}/blobs", data=b"hello", timeout=5)
    assert r.status_code == 201
    assert r.json() == {"key": "0x" + keccak(b"hello").hex(), "size": 5}
    key = r.json()["key"]
    g = requests.get(f"{server.url}/blobs/{key}", timeout=5)
    assert g.status_code == 200 and g.content == b"hello"
    assert g.headers["content-type"] == "application/octet-stream"
    h = requests.head(f"{server.url}/blobs/{key}", timeout=5)
    assert h.status_code == 200 and h.headers["content-length"] == "5"
    health = requests.get(f"{server.url}/health", timeout=5).json()
    assert health["status"] == "ok" and health["max_bytes"] == LIMIT
    metrics = requests.get(f"{server.url}/metrics", timeout=5).text
    assert 'l2kit_storage_requests_total{op="put",outcome="ok"} 1.0' in metrics


def test_unknown_key_is_404_json(server: StorageServer, client: BlobClient) -> None:
    missing = "0x" + "ab" * 32
    r = requests.get(f"{server.url}/blobs/{missing}", timeout=5)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "blob_not_found"
    assert missing in r.json()["error"]["message"]
    assert requests.head(f"{server.url}/blobs/{missing}", timeout=5).status_code == 404
    assert not client.has(missing)
    with pytest.raises(BlobNotFound, match="no blob 0xabab"):
        client.get(missing)


def test_malformed_key_is_400(server: StorageServer, client: BlobClient) -> None:
    for bad in ("0x1234", "zz" * 32, "0x" + "g" * 64):
        r = requests.get(f"{server.url}/blobs/{bad}", timeout=5)
        assert r.status_code == 400, bad
        assert r.json()["error"]["code"] == "bad_key"
        assert "64 hex digits" in r.json()["error"]["message"]
    with pytest.raises(BadKey):
        client.get("0x1234")


def test_over_the_limit_is_413_and_stores_nothing(
    server: StorageServer, client: BlobClient
) -> None:
    big = b"x" * (LIMIT + 1)
    r = requests.put(f"{server.url}/blobs", data=big, timeout=5)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "blob_too_large"
    with pytest.raises(BlobTooLarge, match=f"limit of {LIMIT} bytes"):
        client.put(big)
    assert not client.has("0x" + keccak(big).hex())
    assert client.put(b"x" * LIMIT)  # exactly the limit is fine


def test_restart_keeps_data(tmp_path: Path) -> None:
    port = free_port()
    blobs = [os.urandom(n) for n in (1, 100, 40_000)]
    with StorageServer(tmp_path / "d", port=port) as s:
        keys = [BlobClient(s.url).put(b) for b in blobs]
    with pytest.raises(StorageError, match="cannot reach the storage service"):
        BlobClient(f"http://127.0.0.1:{port}", timeout_s=2).get(keys[0])
    with StorageServer(tmp_path / "d", port=port) as s:
        c = BlobClient(s.url)
        assert [c.get(k) for k in keys] == blobs


def test_files_are_fanned_out_and_verified_on_read(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    key = store.put(b"payload")
    p = store.path(key)
    assert p.relative_to(tmp_path).parts == (key[2:4], key[4:6], key[2:])
    p.write_bytes(b"tampered")
    with pytest.raises(StorageError, match="corrupt"):
        store.get(key)
    assert not store.has(key)  # moved aside; a new put repairs it
    assert store.get(store.put(b"payload")) == b"payload"
    assert not list((tmp_path / "tmp").iterdir())  # no temp files left behind


def test_port_taken_is_a_clear_error(server: StorageServer, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"storage port {server.port} is already in use"):
        StorageServer(tmp_path / "other", port=server.port).start()


def test_cli_serve_runs_until_sigterm(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "offchain.cli", "storage", "serve", "--port", str(port),
         "--data-dir", str(tmp_path / "b")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        c = BlobClient(f"http://127.0.0.1:{port}", timeout_s=2)
        deadline = time.monotonic() + 30
        while True:
            try:
                c.health()
                break
            except StorageError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "storage serve did not come up"
                time.sleep(0.1)
        key = c.put(b"via the cli")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "storage stopped" in out and "Traceback" not in err
    assert BlobStore(tmp_path / "b").get(key) == b"via the cli"


def test_partial_writes_from_a_crash_are_cleaned_up(tmp_path: Path) -> None:
    BlobStore(tmp_path)
    (tmp_path / "tmp" / "put-abc").write_bytes(b"half a blob")
    store = BlobStore(tmp_path)
    assert not list((tmp_path / "tmp").iterdir())
    assert store.get(store.put(b"whole")) == b"whole"
