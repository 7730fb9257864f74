"""The decoding workers of a JSON-RPC batch (offchain.rollup.node.decode_pool), without a chain:
a batch of wallet transactions decoded in a worker process gets exactly the answers, state
root and receipts' post-state roots of the same batch decoded on the node's thread, refusals
included (wrong chain, malformed RLP, not hex, a nonce gap, a bad signature).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eth_account import Account

from offchain.chain.accounts import dev_account
from offchain.common.hashing import keccak
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.node.config import NodeConfig
from offchain.rollup.node.decode_pool import MIN_BATCH, DecodePool
from offchain.rollup.node.execution import Executor
from offchain.rollup.node.node import SequencerNode
from offchain.rollup.node.peers import CurrentSequencer, PeerSet
from offchain.rollup.node.rpc import RpcApi
from offchain.rollup.node.store import NodeStore
from tests.rollup.test_node_units import SC, Queue

PRODUCER, ALICE, BOB = dev_account(20), dev_account(10), dev_account(11)
CHAIN = ltx.DEFAULT_L2_CHAIN_ID


def _api(tmp: Path, workers: int) -> RpcApi:
    queue = Queue()
    queue.add(0, ALICE.address, 10**21)
    tmp.mkdir()
    node = SequencerNode(
        NodeConfig(data_dir=str(tmp), current_follow_ms=0),
        bytes(PRODUCER.key),
        lambda: Executor(CHAIN, SC),
        NodeStore(tmp / "node.db"),
        CurrentSequencer.fixed(PRODUCER.address.lower()),
        PeerSet(PRODUCER.address, {}),
        queue,
    )
    node.seal_block()  # the deposit
    return RpcApi(node, decode_workers=workers)


def _signed(nonce: int, chain_id: int = CHAIN) -> str:
    tx = {"type": 2, "chainId": chain_id, "nonce": nonce, "to": BOB.address, "value": 1 + nonce,
          "gas": 21_000, "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 0}  # fmt: skip
    return "0x" + bytes(Account.sign_transaction(tx, ALICE.key).raw_transaction).hex()


def _batch() -> list[dict[str, Any]]:
    hexes = [_signed(n) for n in range(MIN_BATCH + 8)]
    bad_sig = hexes[3][:-4] + ("00" if hexes[3][-4:-2] != "00" else "01") + hexes[3][-2:]
    hexes[5:5] = [_signed(5, chain_id=1)]  # wrong chain
    hexes[9:9] = ["0x02c0"]  # malformed RLP
    hexes[12:12] = ["0xzz"]  # not hex
    hexes[20:20] = [bad_sig]  # r changed: another signer, or none
    hexes.append(_signed(99))  # nonce gap
    reqs: list[dict[str, Any]] = [
        {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [h]}
        for i, h in enumerate(hexes)
    ]
    reqs.insert(7, {"jsonrpc": "2.0", "id": "n", "method": "eth_getTransactionCount",
                    "params": [ALICE.address, "pending"]})  # fmt: skip
    return reqs


def test_a_batch_decoded_by_the_worker_is_answered_and_executed_as_on_the_node_thread(
    tmp_path: Path,
) -> None:
    inline, pooled = _api(tmp_path / "inline", 0), _api(tmp_path / "pooled", 1)
    try:
        pooled.decoder.start()
        reqs = _batch()
        want = inline.call_batch(reqs)
        got = pooled.call_batch(reqs)
        assert pooled.decoder.decoded > 0 and inline.decoder.decoded == 0
        assert got == want
        refused = [a["error"]["message"] for a in want if "error" in a]
        assert len(refused) == 5 and any("chain" in m for m in refused), refused
        assert sum("result" in a for a in want) == MIN_BATCH + 8 + 1  # the getCount too
        for api in (inline, pooled):
            api.node.seal_block()
        a, b = inline.node, pooled.node
        assert a.executor.state_root() == b.executor.state_root()
        hashes = [bytes.fromhex(x["result"][2:]) for x in want if x["id"] != "n" and "result" in x]
        assert [a.store.receipt(h) for h in hashes] == [b.store.receipt(h) for h in hashes]
    finally:
        inline.close()
        pooled.close()


def test_a_small_batch_or_a_pool_not_started_decodes_on_the_node_thread() -> None:
    pool = DecodePool(CHAIN, 1)
    try:
        raws = [bytes.fromhex(_signed(n)[2:]) for n in range(MIN_BATCH)]
        assert pool.decode_later(raws) is None  # not started: no process was spawned
        assert pool._pool is None
        pool.start()
        assert pool.decode_later(raws[:-1]) is None  # too few
        futures = pool.decode_later(raws)
        assert futures is not None
        assert [t.hash for t in pool.results(futures, raws)] == [  # type: ignore[union-attr]
            keccak(r) for r in raws
        ]
    finally:
        pool.close()
