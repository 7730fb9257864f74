"""The L1 connection (``offchain.chain.client``) on a real Anvil: what one read costs."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from offchain.chain.client import Chain


def test_an_eth_call_is_one_request(chain: Chain, owner: Any) -> None:
    """web3's validation middleware asks ``eth_chainId`` twice around every ``eth_call``
    (checking the call's chain id): each contract read was three round trips to the L1 node.
    The chain id of an endpoint never changes, so it is asked once per connection."""
    chain.w3.eth.chain_id  # noqa: B018 - the connection's first question
    http = chain.w3.provider._request_session_manager  # type: ignore[attr-defined]
    seen: Counter[str] = Counter()
    post = http.make_post_request

    def counting(uri: str, data: bytes, **kw: Any) -> Any:
        seen[json.loads(data)["method"]] += 1  # what goes over the wire to the L1 node
        return post(uri, data, **kw)

    http.make_post_request = counting
    try:
        for _ in range(3):
            assert chain.w3.eth.call({"to": owner.address, "data": "0x"}) == b""
        assert chain.chain_id == 31337
    finally:
        http.make_post_request = post
    assert seen == Counter({"eth_call": 3})
