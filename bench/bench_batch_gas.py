"""L1 gas per L2 transaction of real 1,000-transaction batches, at the maximum set size.

The production deployment (``deploy_all``: real LockingPool, SequencerSet, governance) with
``staking.max_sequencers`` sequencers locked. Each batch is built by the ledger from 1,000
signed L2 transactions (the first also applies an L1 deposit), its data stays in the blob
store (the default data-availability mode: L1 sees only the header), and it is appended
with one FROST signature: the set first installs a group key with its >2/3 ECDSA signatures
(``installGroupKey``; a dealt key, the same form the DKG produces), three shares per sequencer
(each locks the minimum, ``weights.allocate``), and a threshold of shares signs each batch digest.

Figures: ``l1_gas_per_l2_tx_at_1000_tx_batch_first`` (the first append: cold slots) and
``l1_gas_per_l2_tx_at_1000_tx_batch`` (the fourth: steady state), the underlying
``append_batch_1000_tx_first_gas`` / ``append_batch_1000_tx_gas``, the set size and the
number of FROST shares that signed, and the batch data size (bytes kept off L1).
"""

from __future__ import annotations

from offchain.bridge.client import BridgeClient
from offchain.bridge.types import ETH
from offchain.chain.accounts import dev_account
from offchain.config import load_config
from offchain.devnet import Devnet
from offchain.rollup.l1.bindings import RollupL1
from offchain.rollup.ledger.batch_builder import BatchBuilder, Item
from offchain.rollup.ledger.tx import Deposit, Domain, sign_transfer
from offchain.staking.frost.l1 import install_dealt_key, l1_signature

BATCH_TXS = 1000
BATCHES = 4  # the last one is the steady-state figure
E18 = 10**18


def run() -> dict[str, float | int]:
    cfg = load_config()
    n = cfg.staking.max_sequencers
    cfg.staking.devnet_sequencer_accounts = list(range(1, n + 1))
    cfg.staking.devnet_stakes_tokens = [cfg.staking.min_lock_tokens] * n
    out: dict[str, float | int] = {}
    with Devnet(config=cfg, ephemeral=True, log=lambda *_: None) as d:
        assert d.chain is not None and d.deployment is not None
        chain, dep = d.chain, d.deployment
        keys = {a.address: a for a in (dev_account(i) for i in range(1, n + 1))}
        seqset = dep.contract(chain, "sequencer_set")
        bridge = dep.contract(chain, "l1_bridge")
        active = list(seqset.functions.activeSigners().call())
        assert len(active) == n, f"{len(active)} active sequencers, wanted {n}"
        stakes = {str(a): cfg.staking.min_lock_tokens * E18 for a in active}
        quorum = install_dealt_key(chain, seqset, keys, stakes)
        alice, bob = dev_account(30), dev_account(31)
        dep_rcpt = BridgeClient(chain, bridge.address, chain.sender(alice)).deposit_eth(
            alice.address, 10 * E18
        )
        p = cfg.rollup.effective(chain.chain_id)
        b = BatchBuilder(
            Domain(p.l2_chain_id, dep.addresses["state_commitment"]),
            lambda i: bytes(bridge.functions.depositHash(i).call()),
            lambda c: bytes(bridge.functions.depositHashAt(c).call()),
        )
        nonce, gas, data_bytes = 0, [], 0
        for k in range(BATCHES):
            current = keys[seqset.functions.currentSequencer().call()]
            items: list[Item] = []
            if k == 0:
                deposit = Deposit(
                    dep_rcpt.deposit_id,
                    dep_rcpt.sender,
                    dep_rcpt.l2_recipient,
                    ETH,
                    dep_rcpt.amount,
                )
                items.append((deposit, ETH, True))
            while len(items) < BATCH_TXS:
                t = sign_transfer(alice, b.domain, bob.address, ETH, 1, 1, nonce)
                items.append((t, current.address, True))
                nonce += 1
            data, pre = b.build(items)
            header = b.header(data)
            assert header.tx_count == BATCH_TXS
            l1 = RollupL1.from_deployment(chain, dep, chain.sender(current))
            digest = l1.digest(header)
            gas.append(int(l1.append_batch(header, [l1_signature(quorum, digest)])["gasUsed"]))
            b.record(header, data, pre)
            data_bytes = len(data.encode())
    out["batch_1000_tx_set_size"] = n
    out["batch_1000_tx_signatures"] = 1
    out["batch_1000_tx_frost_shares_signing"] = len(quorum)
    out["batch_1000_tx_data_bytes"] = data_bytes
    out["append_batch_1000_tx_first_gas"] = gas[0]
    out["append_batch_1000_tx_gas"] = gas[-1]
    out["l1_gas_per_l2_tx_at_1000_tx_batch_first"] = round(gas[0] / BATCH_TXS, 1)
    out["l1_gas_per_l2_tx_at_1000_tx_batch"] = round(gas[-1] / BATCH_TXS, 1)
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
