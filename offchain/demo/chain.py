"""Demo scene: the foundation pieces a user of every other domain relies on.

A decoded revert, the log follower (with a reorg), the Merkle tree checked on-chain, and
the blob store.
"""

from __future__ import annotations

from rich.console import Console

from offchain.chain.accounts import dev_account
from offchain.chain.follower import FollowerConfig, LogEvent, LogFollower
from offchain.common import merkle
from offchain.common.hashing import keccak
from offchain.devnet import Devnet
from offchain.errors import TxReverted
from offchain.storage.client import BlobClient


def run(d: Devnet, console: Console) -> None:
    assert d.chain and d.deployment
    info = d.info()
    chain = d.chain
    console.print(f"L1 RPC {info['rpc_url']}  storage {info['storage_url']}")
    console.print(
        f"devnet up in {d.timings['devnet_up_s']:.2f}s (compile {d.timings['compile_s']:.2f}s)"
    )
    reverter = d.deployment.contract(chain, "reverter")
    s = chain.sender(dev_account(1))

    # 1. A revert is reported with its decoded custom error.
    try:
        s.send(reverter.functions.failCustom(7))
    except TxReverted as e:
        console.print(f"a reverting call is reported as: [yellow]{e}[/]")

    # 2. The log follower sees Poked events, then follows a reorg.
    seen: dict[str, LogEvent] = {}
    start = int(chain.w3.eth.block_number) + 1

    def on_reorg(ancestor: int, orphaned: list[str]) -> None:
        for i in orphaned:
            seen.pop(i, None)
        console.print(f"  reorg: back to block {ancestor}, {len(orphaned)} event(s) orphaned")

    f = LogFollower(
        chain.w3,
        [(reverter, "Poked")],
        lambda ev: seen.setdefault(ev.id, ev),
        config=FollowerConfig(start_block=start),
        on_reorg=on_reorg,
    )
    for _ in range(3):
        s.send(reverter.functions.poke())
    f.catch_up()
    console.print(f"follower delivered pokes {sorted(e.args['id'] for e in seen.values())}")
    by = dev_account(2).address
    data = reverter.functions.poke().build_transaction({"from": by, "gas": 200_000})["data"]
    chain.rpc("anvil_reorg", 2, [[{"from": by, "to": reverter.address, "data": data}, 0]])
    f.catch_up()
    pokes = sorted((e.args["id"], e.args["by"][:8]) for e in seen.values())
    console.print(f"after a 2-block reorg the follower holds {pokes}")

    # 3. One Merkle tree, off-chain and on-chain.
    items = [keccak(i.to_bytes(32, "big")) for i in range(1000)]
    tree = merkle.MerkleTree(items)
    harness = d.deployment.contract(chain, "merkle_harness")
    ok = harness.functions.verify(tree.root, 777, items[777], tree.proof(777)).call()
    console.print(
        f"Merkle root of 1,000 items 0x{tree.root.hex()[:16]}…; on-chain proof of #777: {ok}"
    )

    # 4. The blob store.
    blobs = BlobClient(d.storage_url)
    key = blobs.put(b"batch data goes to storage, not to L1")
    console.print(f"stored a blob under {key[:18]}…; read back {len(blobs.get(key))} bytes")
