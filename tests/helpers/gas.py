"""Exact gas of one inner call of a transaction, from a call trace (tests and benchmarks)."""

from __future__ import annotations

from typing import Any


def call_gas(chain: Any, receipt: Any, to: str, signature: str) -> int:
    """gasUsed of the calls to ``to``'s function ``signature`` (e.g. ``"punish(address,uint256,
    address)"``) inside the transaction of ``receipt``, summed, exact from a call trace."""
    from offchain.common.hashing import keccak

    h = receipt["transactionHash"]
    trace = chain.rpc(
        "debug_traceTransaction",
        h.to_0x_hex() if hasattr(h, "to_0x_hex") else h,
        {"tracer": "callTracer"},
    )
    selector = "0x" + keccak(signature.encode())[:4].hex()

    def walk(call: dict[str, Any]) -> int:
        if call.get("to", "").lower() == to.lower() and call.get("input", "").startswith(selector):
            return int(call["gasUsed"], 16)
        return sum(walk(c) for c in call.get("calls", []) or [])

    return walk(trace)
