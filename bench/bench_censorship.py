"""How long a forced transaction takes to reach L2 when the current sequencer censors it.

Figure ``forced_tx_included_s``: wall-clock seconds from the ``forceTx`` receipt on L1 to the
forced tx's L2 receipt on an honest node, on a local L1 mining a block every second, with
four in-process sequencer nodes (batchers, CensorshipWatch on) on the production deployment
(``deploy_all``: the real LockingPool and SequencerSet, the group key installed by the set),
the devnet forced-inclusion window (``devnet_force_inclusion_window_s``, 10 s) and the current
sequencer in faulty mode ``censor`` for that user. It includes the deadline, the first
censorship report, the grace (one more window), the rotation and the next sequencer's block:
about two windows. No L1 time is warped.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from offchain.bridge.client import BridgeClient
from offchain.chain.accounts import dev_account
from offchain.chain.anvil import Anvil, free_port
from offchain.chain.artifacts import Artifacts
from offchain.chain.client import Chain
from offchain.chain.compile import compile_contracts
from offchain.rollup.batcher.faults import Fault
from offchain.rollup.l1.config import RollupParams
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.node.client import L2Client
from offchain.rollup.node.config import BatcherConfig, NodeConfig, RollupNodeConfig
from offchain.rollup.node.service import NodeService, RollupContracts
from offchain.storage.server import StorageServer
from tests.helpers.prod import deploy_prod
from tests.rollup.conftest import rollup_config, signers_of

ALICE, BOB = dev_account(10), dev_account(11)


def _wait(cond: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def _measure(tmp: Path) -> float:
    window = RollupParams().devnet_force_inclusion_window_s
    anvil = Anvil().start()  # automine for the deployment, then a block every second
    storage = StorageServer(tmp / "blobs").start()
    services: list[NodeService] = []
    try:
        chain = Chain.connect(anvil.url, Artifacts(compile_contracts().artifacts_dir))
        l2kit = rollup_config()
        l2kit.rollup.devnet_challenge_window_s = 20
        l2kit.rollup.devnet_force_inclusion_window_s = window
        l2kit.rollup.devnet_freeze_after_s = 3600
        prod = deploy_prod(chain, 4, l2kit)
        assert prod.key is not None
        chain.rpc("evm_setAutomine", False)
        chain.rpc("evm_setIntervalMining", 1)
        signers = signers_of(prod)  # the current sequencer first
        a = prod.addresses
        contracts = RollupContracts.from_deployment(chain, prod.dep)
        ports = {s.address.lower(): free_port() for s in signers}
        peers = {s: f"http://127.0.0.1:{p}/" for s, p in ports.items()}
        for s in signers:
            d = tmp / s.address
            prod.key.give_share(s.address, d)  # the set's key, on L1 since deployment
            cfg = RollupNodeConfig(
                node=NodeConfig(
                    port=ports[s.address.lower()], data_dir=str(d), block_time_ms=200, peers=peers
                ),
                batcher=BatcherConfig(max_batch_txs=50, batch_timeout_ms=500, poll_interval_ms=200),
            )
            services.append(
                NodeService(contracts, s, cfg, storage.url, censorship_watch=True).start()
            )
        censor, honest = services[0], services[1]
        Fault("censor", censor_account=ALICE.address).install(censor)
        br = BridgeClient(chain, a["l1_bridge"], chain.sender(ALICE))
        br.deposit_eth(ALICE.address, 10**18)
        c = L2Client(honest.url)
        _wait(lambda: c.balance(ALICE.address) == 10**18, 30, "the deposit on L2")
        domain = ltx.Domain(ltx.DEFAULT_L2_CHAIN_ID, ltx.to_checksum(a["state_commitment"]))
        t = ltx.sign_transfer(ALICE, domain, BOB.address, ltx.ETH, 1000, 1, 0)
        _, _, h = br.force_tx(ltx.encode_tx(t))
        t0 = time.monotonic()
        _wait(
            lambda: (c.receipt("0x" + h.hex()) or {}).get("status") == "success",
            20 * window,
            "the forced tx on L2",
        )
        return round(time.monotonic() - t0, 2)
    finally:
        for svc in reversed(services):
            svc.stop()
        storage.stop()
        anvil.stop()


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="l2kit-bench-censor-") as tmp:
        return {"forced_tx_included_s": _measure(Path(tmp))}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
