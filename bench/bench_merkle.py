"""Merkle figures: Python root of 1,000 leaves; exact gas of an on-chain depth-10 proof check."""

from __future__ import annotations

from bench.common import median_time_s
from offchain.chain.accounts import dev_account
from offchain.chain.anvil import Anvil
from offchain.chain.client import Chain
from offchain.chain.compile import compile_contracts
from offchain.common import merkle
from offchain.common.hashing import keccak


def run() -> dict[str, float | int]:
    items = [keccak(i.to_bytes(32, "big")) for i in range(1000)]
    root_ms = median_time_s(lambda: merkle.root(items), repeat=15) * 1000

    compile_contracts()
    tree = merkle.MerkleTree(items)
    index = 777  # an odd position: siblings on both sides along the path
    proof = tree.proof(index)
    assert len(proof) == 10
    with Anvil(accounts=2) as a:
        chain = Chain.connect(a.url)
        s = chain.sender(dev_account(0))
        harness = s.deploy("MerkleHarness")
        rcpt = s.send(harness.functions.verifyTx(tree.root, index, items[index], proof))
        ok = harness.events.Verified().process_receipt(rcpt)[0]["args"]["ok"]
        assert ok, "the depth-10 proof must verify on-chain"
    return {
        "merkle_root_1k_leaves_ms": round(root_ms, 3),
        "merkle_verify_gas_depth_10": int(rcpt["gasUsed"]),  # type: ignore[index]
    }
