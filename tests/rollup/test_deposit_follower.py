"""Unit tests of the node's deposit follower on Anvil (the L1 bridge's queue, no node): it
delivers a deposit or forced transaction only once it is under the confirmations, encoded as
the ledger's queue item built from the event's values; it resumes from its store and cursor
after a restart without delivering anything twice; a reorg that removes a deposit's block
takes it back and reports the lowest id lost."""

from __future__ import annotations

from pathlib import Path

from offchain.bridge.client import BridgeClient
from offchain.chain.accounts import dev_account
from offchain.chain.client import Chain
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.node.deposits import DepositFollower
from offchain.rollup.node.store import NodeStore
from tests.rollup_l1.conftest import Env, deploy_env

ALICE, BOB = dev_account(10), dev_account(11)
CONFIRMATIONS = 2


def _follower(env: Env, tmp: Path) -> DepositFollower:
    return DepositFollower(
        env.contract("L1Bridge", "l1_bridge"),
        NodeStore(tmp / "node.db"),
        confirmations=CONFIRMATIONS,
        cursor_path=tmp / "deposits.cursor.json",
    )


def _mine(chain: Chain, n: int) -> None:
    for _ in range(n):
        chain.rpc("evm_mine")


def test_deposits_are_delivered_confirmed_in_ledger_form_and_resumed(
    chain: Chain, tmp_path: Path
) -> None:
    env = deploy_env(chain)
    f = _follower(env, tmp_path)
    bridge = BridgeClient(chain, env.addresses["l1_bridge"], chain.sender(ALICE))
    d0 = bridge.deposit_eth(BOB.address, 12345)
    domain = ltx.Domain(ltx.DEFAULT_L2_CHAIN_ID, env.addresses["state_commitment"])
    t = ltx.sign_transfer(ALICE, domain, BOB.address, ltx.ETH, 1, 1, 0)
    queue_id, _, _ = bridge.force_tx(ltx.encode_tx(t))
    assert f.poll() == 0 and f.get(0) is None  # not under the confirmations yet
    _mine(chain, CONFIRMATIONS)
    assert f.poll() == 2
    want = ltx.encode_tx(ltx.Deposit(0, ALICE.address, BOB.address, ltx.ETH, 12345))
    assert d0.deposit_id == 0 and f.get(0) == want
    forced = bytes([ltx.KIND_FORCED]) + queue_id.to_bytes(32, "big") + ltx.encode_tx(t)
    assert queue_id == 1 and f.get(1) == forced
    assert f.poll() == 0  # nothing new: nothing delivered again
    f.store.close()
    again = _follower(env, tmp_path)  # a restart: the store and the cursor are kept
    assert again.get(0) == want and again.get(1) == forced
    assert again.poll() == 0 and again.cursor == f.cursor


def test_reorg_takes_a_deposit_back_and_reports_its_id(chain: Chain, tmp_path: Path) -> None:
    env = deploy_env(chain)
    f = _follower(env, tmp_path)
    bridge = BridgeClient(chain, env.addresses["l1_bridge"], chain.sender(ALICE))
    bridge.deposit_eth(BOB.address, 1)
    _mine(chain, CONFIRMATIONS)
    bridge.deposit_eth(BOB.address, 2)
    _mine(chain, CONFIRMATIONS)
    assert f.poll() == 2 and f.get(1) is not None
    # Anvil replaces the last CONFIRMATIONS + 1 blocks: deposit 1's block is gone.
    chain.rpc("anvil_reorg", CONFIRMATIONS + 1, [])
    _mine(chain, CONFIRMATIONS)
    f.poll()
    assert f.get(1) is None and f.get(0) is not None
    assert dict(f.store.deposits()).keys() == {0}
    assert f.take_reorged() == 1 and f.take_reorged() is None
