"""Connect to an L1 JSON-RPC endpoint and bind contracts by artifact name."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests
from web3 import Web3
from web3.contract import Contract
from web3.types import RPCEndpoint

from offchain.chain.artifacts import Artifacts
from offchain.common.session import http_session
from offchain.errors import RpcError

if TYPE_CHECKING:
    from offchain.chain.tx import Signer, TxConfig, TxSender


def connect(url: str, timeout_s: float = 10.0) -> Web3:
    """A :class:`Web3` for ``url``, checked to answer.

    Raises:
        RpcError: if nothing answers there, or it is not an Ethereum JSON-RPC endpoint.
    """
    if not url.startswith(("http://", "https://")):
        raise RpcError(
            f"unsupported RPC URL {url!r}", "use an http(s):// URL, e.g. http://127.0.0.1:8545"
        )
    # eth_chainId is answered from a per-connection cache: web3's validation middleware asks
    # it before and after every eth_call, which tripled the round trips of each L1 read.
    # One session for every thread (web3 would keep one per thread, each with connections
    # that sit idle for as long as the thread does), retrying a connection found closed once.
    provider = Web3.HTTPProvider(
        url,
        request_kwargs={"timeout": timeout_s},
        session=http_session(),
        cache_allowed_requests=True,
        cacheable_requests={RPCEndpoint("eth_chainId")},
    )
    w3 = Web3(provider)
    try:
        w3.eth.chain_id  # noqa: B018 - the probe
    except requests.RequestException as e:
        raise RpcError(
            f"cannot reach the L1 RPC at {url}",
            "is the node running? start one with `l2kit devnet up` or check --rpc-url",
        ) from e
    except Exception as e:  # noqa: BLE001 - anything else means "not a JSON-RPC node"
        raise RpcError(f"{url} did not answer eth_chainId: {e}", "check --rpc-url") from e
    return w3


@dataclass
class Chain:
    """An L1 connection plus the compiled artifacts.

    Args:
        w3: a connected :class:`Web3`.
        artifacts: where compiled contracts are read from.
    """

    w3: Web3
    artifacts: Artifacts = field(default_factory=Artifacts)

    @classmethod
    def connect(cls, url: str, artifacts: Artifacts | None = None) -> Chain:
        return cls(connect(url), artifacts or Artifacts())

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def contract(self, name: str, address: str) -> Contract:
        """Contract ``name`` (by artifact) at ``address``."""
        art = self.artifacts.get(name)
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=art.abi)

    def sender(self, account: Signer, config: TxConfig | None = None) -> TxSender:
        """A :class:`TxSender` that signs with ``account`` and owns its nonces.

        Args:
            account: a ``LocalAccount`` (e.g. ``dev_account(i)``) or any
                :class:`~offchain.chain.tx.Signer`.
            config: fee/timeout policy (default :class:`~offchain.chain.tx.TxConfig`).
        """
        from offchain.chain.tx import TxConfig, TxSender

        return TxSender(self.w3, account, self.artifacts, config or TxConfig())

    def rpc(self, method: str, *params: Any) -> Any:
        """Raw JSON-RPC call (e.g. Anvil's ``evm_mine``), raising :class:`RpcError` on error."""
        try:
            resp = self.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
        except requests.RequestException as e:
            url = getattr(self.w3.provider, "endpoint_uri", "?")
            raise RpcError(
                f"cannot reach the L1 RPC at {url} ({type(e).__name__})", "is the node running?"
            ) from e
        if "error" in resp:
            raise RpcError(f"{method} failed: {resp['error']}")
        return resp.get("result")
