"""Censorship resistance and exit gas on a devnet with the real SequencerSet/LockingPool (exact
gasUsed from receipts; docs/spec.md "Forced inclusion", "Escape hatch").

Figures:

- ``force_tx_gas``: ``L1Bridge.forceTx`` of a signed 289-byte L2 transfer, steady state (the
  queue and the forced list already hold items; budget 80,000);
- ``escape_gas_1m_accounts``: ``L1Bridge.escape`` of one account's ETH balance proven against
  the last final state root of a state of 1,000,000 accounts (built in bulk with
  ``State.from_rows``: one hash per leaf and per inner node), paid to a fresh L1 address
  (budget 200,000); ``escape_state_build_s``: the time to build that state tree in Python.
"""

from __future__ import annotations

import time

from bench.bench_rollup_l1 import _L1, _rand_header
from offchain.bridge.client import BridgeClient
from offchain.bridge.escape import EscapeProof
from offchain.bridge.types import ETH
from offchain.chain.accounts import dev_account
from offchain.devnet import Devnet
from offchain.rollup.ledger.state import LeafRow, State, balance_key
from offchain.rollup.ledger.tx import (
    DEFAULT_L2_CHAIN_ID,
    Domain,
    encode_tx,
    sign_transfer,
    to_checksum,
)

ACCOUNTS = 1_000_000
E18 = 10**18


def _force_figure(l1: _L1, out: dict[str, float]) -> None:
    alice = dev_account(10)
    br = BridgeClient(l1.chain, l1.dep.addresses["l1_bridge"], l1.chain.sender(alice))
    domain = Domain(DEFAULT_L2_CHAIN_ID, l1.dep.addresses["state_commitment"])
    gas = []
    for nonce in range(3):
        t = sign_transfer(alice, domain, dev_account(11).address, ETH, 10**15, 10**12, nonce)
        rc = br.sender.send(br.bridge.functions.forceTx(encode_tx(t)))  # type: ignore[union-attr]
        gas.append(int(rc["gasUsed"]))
    out["force_tx_gas"] = gas[-1]


def _million_accounts(extra: str, balance: int, next_deposit_id: int) -> State:
    """A state of ``ACCOUNTS`` ETH balances (one of them ``extra``'s), built in bulk."""
    keys = [balance_key(f"0x{i + 1:040x}", ETH) for i in range(ACCOUNTS - 1)]
    keys.append(balance_key(extra, ETH))
    values = dict.fromkeys(keys, 10**9)
    values[keys[-1]] = balance
    order = sorted(keys)
    rows = [LeafRow(0, 0, 0, order[0])]
    for i, k in enumerate(order):
        rows.append(LeafRow(i + 1, k, values[k], order[i + 1] if i + 1 < len(order) else 0))
    return State.from_rows(rows, next_deposit_id)


def _escape_figure(l1: _L1, out: dict[str, float]) -> None:
    alice = dev_account(10)
    bridge = l1.dep.contract(l1.chain, "l1_bridge")
    br = BridgeClient(l1.chain, bridge.address, l1.chain.sender(alice))
    br.deposit_eth(alice.address, E18)
    count = int(bridge.functions.depositCount().call())
    fresh = to_checksum(f"0x{0xE5CA9E:040x}")
    t0 = time.perf_counter()
    state = _million_accounts(fresh, E18 // 2, count)
    out["escape_state_build_s"] = round(time.perf_counter() - t0, 2)
    sc = l1.rl.sc.functions
    index = l1.rl.next_index()
    header = _rand_header(
        index,
        count,
        bytes(bridge.functions.depositHashAt(count).call()),
        final_state_root=state.root,
    )
    l1.append(header)
    br.deposit_eth(alice.address, E18)  # waits in the queue: the freeze is allowed
    l1.warp(int(sc.challengeWindow().call()) + int(sc.freezeAfter().call()) + 1)
    l1.chain.sender(alice).send(sc.freeze())
    p = EscapeProof(header, fresh, ETH, E18 // 2, state)
    rc = br.escape(p.account, ETH, p.balance, p.to_abi())
    out["escape_gas_1m_accounts"] = int(rc["gasUsed"])


def run() -> dict[str, float]:
    out: dict[str, float] = {}
    with Devnet(ephemeral=True, log=lambda *_: None) as d:
        l1 = _L1(d)
        _force_figure(l1, out)
        _escape_figure(l1, out)
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
