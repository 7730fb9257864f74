"""Attack: hostile input to a running EMETH execution layer over HTTP (real service on the
devnet). Every client mistake gets a 4xx (400/404/413/422 with an error body), never a 5xx,
and changes nothing; the fuzz test covers every endpoint with generated bad requests."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.emeth.offchain.conftest import Env


def _state(env: Env) -> tuple[Any, ...]:
    h = env.client.health()
    return (json.dumps(h["jobs"], sort_keys=True), h["nextTicketId"],
            len(env.client.jobs(limit=1000)))  # fmt: skip


def test_oversizedBodyIsRefused413BeforeParsing(env: Env) -> None:
    before = _state(env)
    url = env.client.url
    big = b'{"action":"Register","message":{},"signature":"' + b"a" * (24 << 20) + b'"}'
    r = requests.post(url + "/actions", data=big, timeout=30,
                      headers={"content-type": "application/json"})  # fmt: skip
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"

    def chunks() -> Any:  # no Content-Length: streamed, refused once past the limit
        for _ in range(24):
            yield b"a" * (1 << 20)

    r = requests.post(url + "/tickets", data=chunks(), timeout=30)
    assert r.status_code == 413
    assert _state(env) == before


def test_deeplyNestedBodyIsAClientError(env: Env) -> None:
    before = _state(env)
    for path in ("/actions", "/tickets"):
        for body in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000):
            r = requests.post(env.client.url + path, data=body, timeout=30,
                              headers={"content-type": "application/json"})  # fmt: skip
            assert 400 <= r.status_code < 500, (path, r.status_code)
    assert _state(env) == before


_json = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**300), max_value=2**300)
    | st.floats(allow_nan=False) | st.text(max_size=30)
    | st.sampled_from(["0x", "0x" + "ab" * 20, "0x" + "cd" * 32, "Register", "Process"]),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4),
    max_leaves=10,
)  # fmt: skip
_segment = st.text(max_size=20).map(lambda s: requests.utils.quote(s, safe="")) | st.sampled_from(
    ["0", "-1", str(2**70), "0x" + "00" * 32, "%00", "..", "null"]
)
_query = st.dictionaries(
    st.sampled_from(["state", "node", "requester", "parent", "billable", "limit", "offset",
                     "settled", "unbilled", "tx"]),
    st.text(max_size=20) | st.sampled_from(["-1", "0", str(2**70), "true", "1e400"]),
    max_size=4,
)  # fmt: skip
_get = st.tuples(
    st.sampled_from(["/jobs", "/jobs/{}", "/jobs/{}/history", "/requesters/{}/funds",
                     "/penalties", "/tickets", "/tickets/{}", "/tickets/next-id", "/domain",
                     "/roles/{}"]),
    _segment, _query,
)  # fmt: skip
_post = st.tuples(
    st.sampled_from(["/actions", "/tickets", "/tickets/{}/settled"]),
    _segment,
    st.one_of(
        st.fixed_dictionaries({"action": st.sampled_from(
            ["Register", "Process", "Verify", "Reject", "Timeout", "Cancel", "Nope"]) | _json,
            "message": _json, "signature": _json}).map(lambda d: json.dumps(d).encode()),
        _json.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=100),
    ),
)  # fmt: skip


def _run_fuzz(env: Env, examples: int) -> None:
    before = _state(env)
    url = env.client.url
    s = requests.Session()

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.one_of(_get.map(lambda g: ("GET",) + g), _post.map(lambda p: ("POST",) + p)))
    def check(req: tuple[Any, ...]) -> None:
        method, path, seg, extra = req
        full = url + path.format(seg)
        try:
            if method == "GET":
                r = s.get(full, params=extra, timeout=10)
            else:
                hdr = {"content-type": "application/json"}
                r = s.post(full, data=extra, timeout=10, headers=hdr)
        except requests.ConnectionError as e:
            raise AssertionError(f"connection dropped on {method} {full} {extra!r:.200}") from e
        assert r.status_code < 500, (method, full, extra if method == "GET" else extra[:200],
                                     r.status_code, r.text[:300])  # fmt: skip

    check()
    assert _state(env) == before  # zero state change


def test_fuzzEveryEndpointNeverFailsOpen(env: Env) -> None:
    _run_fuzz(env, 600)


@pytest.mark.slow
def test_fuzzEveryEndpointNeverFailsOpen10k(env: Env) -> None:
    _run_fuzz(env, 10_500)
