"""Attack: hostile input to a running node's JSON-RPC (real NodeService over HTTP on Anvil).

Every client mistake gets a client error (-32700 / -32600 / -32602, or HTTP 413), never an
HTTP 5xx nor -32603, and changes nothing on the node. The fuzz test throws generated bad
requests at every method (hypothesis); the slow variant sends over 10,000.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offchain.rollup.node.service import NodeService
from tests.rollup.conftest import RollupEnv, client

CLIENT_ERRORS = {-32700, -32600, -32601, -32602}


def _post(url: str, body: bytes) -> requests.Response:
    return requests.post(url, data=body, headers={"content-type": "application/json"}, timeout=30)


def _state(svc: NodeService) -> tuple[Any, ...]:
    s = client(svc).status()
    return (s["head"], s["headHash"], s["stateRoot"], s["mempool"], s["nextDepositId"])


def _call(url: str, method: str, params: Any) -> dict[str, Any]:
    r = _post(
        url, json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    )
    assert r.status_code < 500, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture
def node(rollup_env: RollupEnv) -> NodeService:
    (svc,) = rollup_env.start_nodes(rollup_env.signers[:1])
    return svc


def test_deeplyNestedBodyIsAParseErrorNot500(node: NodeService) -> None:
    before = _state(node)
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000):
        r = _post(node.url, body)
        assert r.status_code < 500, r.status_code
        assert r.json()["error"]["code"] in (-32700, -32600)
    nested_id = {"jsonrpc": "2.0", "id": [[[[[1]]]]], "method": "l2_status", "params": []}
    r = _post(node.url, json.dumps(nested_id).encode())
    assert r.status_code < 500 and r.json()["error"]["code"] == -32600
    assert _state(node) == before


def test_outOfRangeNumbersAreInvalidParams(node: NodeService) -> None:
    before = _state(node)
    for which in (2**70, -1, "0x" + "f" * 80, 2**63):
        ans = _call(node.url, "l2_getBlock", [which])
        assert ans["error"]["code"] == -32602, ans
    z32 = "0x" + "00" * 32
    header = {
        "number": 1, "parentHash": z32, "timestampMs": 0, "txRoot": z32, "stateRoot": z32,
        "txCount": 0, "nextDepositId": 0, "producer": "0x" + "11" * 20,
    }  # fmt: skip
    for field, bad in [("number", -1), ("number", 2**300), ("timestampMs", -5),
                       ("txCount", 2**300), ("nextDepositId", -1), ("number", 1.5),
                       ("number", "1e400"), ("parentHash", 7)]:  # fmt: skip
        block = {"header": {**header, field: bad}, "txs": [], "signature": "0x"}
        ans = _call(node.url, "l2_importBlock", [block])
        assert ans["error"]["code"] == -32602, (field, bad, ans)
    assert _state(node) == before


def test_oversizedBodyIsRefused413BeforeParsing(node: NodeService) -> None:
    before = _state(node)
    big = b'{"jsonrpc":"2.0","id":1,"method":"l2_status","params":["' + b"a" * (24 << 20) + b'"]}'
    r = _post(node.url, big)
    assert r.status_code == 413, r.status_code
    assert r.json()["error"]["code"] == -32600
    many = [{"jsonrpc": "2.0", "id": i, "method": "l2_status", "params": []} for i in range(5000)]
    r = _post(node.url, json.dumps(many).encode())
    assert r.status_code < 500 and r.json()["error"]["code"] == -32600  # batch too long
    assert _state(node) == before


# ----------------------------------------------------------------------------- fuzz
_json = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**300), max_value=2**300)
    | st.floats(allow_nan=False) | st.text(max_size=40)
    | st.sampled_from(["0x", "0x00", "0x" + "ab" * 20, "0x" + "cd" * 32, "latest", "0xzz"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)  # fmt: skip
_methods = st.sampled_from([
    "l2_sendTransaction", "l2_getTransactionReceipt", "l2_getBalance", "l2_getNonce",
    "l2_getBlock", "l2_getProof", "l2_status", "l2_importBlock", "l2_nope", "",
    "eth_getBlockByNumber", "eth_getBlockByHash", "eth_getBalance", "eth_getTransactionCount",
    "eth_call", "eth_estimateGas", "eth_feeHistory", "eth_getCode", "eth_chainId",
    "eth_sendRawTransaction", "eth_getTransactionByHash", "eth_getTransactionReceipt",
    "eth_getLogs",
])  # fmt: skip
_request = st.one_of(
    st.fixed_dictionaries(
        {"jsonrpc": st.just("2.0"), "id": st.integers(0, 9), "method": _methods,
         "params": st.lists(_json, max_size=4)}
    ).map(lambda d: json.dumps(d).encode()),
    st.fixed_dictionaries(
        {"jsonrpc": _json, "id": _json, "method": _methods | _json, "params": _json}
    ).map(lambda d: json.dumps(d).encode()),
    st.lists(_json, max_size=3).map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
)  # fmt: skip
# The co-signer mounted on the node's app (POST /cosign, pydantic CosignBody).
_cosign = st.one_of(
    st.fixed_dictionaries(
        {"digest": _json | st.just("0x" + "ab" * 32), "chain_id": _json | st.integers(),
         "contract": _json, "batch_index": _json | st.integers(), "header_hash": _json,
         "header": _json}
    ).map(lambda d: json.dumps(d).encode()),
    _json.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=100),
)  # fmt: skip


def _fuzz(node: NodeService, path: str, body: bytes) -> None:
    r = _post(node.url + path, body)
    assert r.status_code < 500, (path, body[:200], r.status_code, r.text[:200])
    if path:
        return  # a REST endpoint: any 4xx is fine
    if not r.content:
        return  # a notification
    answers = r.json()
    for a in answers if isinstance(answers, list) else [answers]:
        err = a.get("error")
        if err is not None:
            assert err["code"] != -32603, (body[:200], err)


def _signed(node: NodeService) -> int:
    return int(requests.get(node.url + "cosign/health", timeout=5).json()["signed"])


def _run_fuzz(node: NodeService, examples: int) -> None:
    before, signed = _state(node), _signed(node)

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.tuples(st.just(""), _request) | st.tuples(st.just("cosign"), _cosign))
    def check(req: tuple[str, bytes]) -> None:
        _fuzz(node, *req)

    check()
    assert _state(node) == before and _signed(node) == signed  # zero state change


def test_fuzzEveryMethodNeverFailsOpen(node: NodeService) -> None:
    _run_fuzz(node, 600)


@pytest.mark.slow
def test_fuzzEveryMethodNeverFailsOpen10k(node: NodeService) -> None:
    _run_fuzz(node, 10_500)
