"""L2 ledger figures: apply throughput (signature recovery + a state root per tx), hashes per
state update, state persistence, and the gas of the worst-case fraud-proof step."""

from __future__ import annotations

import random
import statistics
import time

from offchain.chain.accounts import dev_account
from offchain.chain.anvil import Anvil
from offchain.chain.artifacts import Artifacts
from offchain.chain.client import Chain, connect
from offchain.chain.compile import compile_contracts
from offchain.common.hashing import keccak
from offchain.rollup.ledger import state as state_mod
from offchain.rollup.ledger.ledger import Ledger
from offchain.rollup.ledger.state import State
from offchain.rollup.ledger.tx import ETH, Deposit, Domain, Transfer, address_of_key, sign_transfer
from offchain.rollup.ledger.vectors import worst_case_fraud_proof

DOMAIN = Domain(901, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
SEQ = "0x" + "5e" * 20


def _workload(n_accounts: int, n_txs: int, seed: int = 7) -> tuple[Ledger, list[Transfer]]:
    """A ledger with ``n_accounts`` funded accounts and ``n_txs`` pre-signed transfers among
    them (every 10th to a fresh account)."""
    rng = random.Random(seed)
    keys = [keccak(b"bench key %d" % i) for i in range(n_accounts)]
    addrs = [address_of_key(k) for k in keys]
    led = Ledger(DOMAIN)
    for i, a in enumerate(addrs):
        led.apply(Deposit(i, a, a, ETH, 10**24))
    nonces = [0] * n_accounts
    txs = []
    for j in range(n_txs):
        s = rng.randrange(n_accounts)
        to = (
            "0x" + keccak(b"fresh %d" % j)[12:].hex()
            if j % 10 == 0
            else addrs[rng.randrange(n_accounts)]
        )
        txs.append(sign_transfer(keys[s], DOMAIN, to, ETH, rng.randrange(1, 10**9), 21, nonces[s]))
        nonces[s] += 1
    return led, txs


def _apply_tps(led: Ledger, txs: list[Transfer]) -> float:
    cp = led.checkpoint()
    t0 = time.perf_counter()
    for tx in txs:
        led.apply(tx, SEQ)  # recovers the signer, executes, computes the state root
    dt = time.perf_counter() - t0
    led.rollback(cp)
    return len(txs) / dt


def _hashes_per_tx(led: Ledger, txs: list[Transfer]) -> float:
    """Count keccak calls made by the state tree (leaf + node hashes) per applied transfer."""
    counter = [0]
    orig_keccak, orig_pair = state_mod.keccak, state_mod.keccak_pair

    def k(data: bytes) -> bytes:
        counter[0] += 1
        return orig_keccak(data)

    def kp(a: bytes, b: bytes) -> bytes:
        counter[0] += 1
        return orig_pair(a, b)

    state_mod.keccak, state_mod.keccak_pair = k, kp  # type: ignore[assignment]
    cp = led.checkpoint()
    try:
        for tx in txs:
            led.apply(tx, SEQ)
    finally:
        state_mod.keccak, state_mod.keccak_pair = orig_keccak, orig_pair  # type: ignore[assignment]
        led.rollback(cp)
    return counter[0] / len(txs)


def _fraud_step_gas(n_accounts: int) -> int:
    gc = worst_case_fraud_proof(n_accounts=n_accounts, batch_size=1000)
    anvil = Anvil()
    anvil.start()
    try:
        chain = Chain(connect(anvil.url), Artifacts(compile_contracts().artifacts_dir))
        sender = chain.sender(dev_account(0))
        h = sender.deploy("L2StateTransitionHarness")
        args = (gc.domain.chain_id, gc.domain.verifying_contract, gc.batch_ref, gc.proof)
        receipt = sender.send(h.functions.proveStepTx(*args))
        return int(receipt["gasUsed"])
    finally:
        anvil.stop()


def run() -> dict[str, float | int]:
    led, txs = _workload(n_accounts=1000, n_txs=20_000)
    tps = statistics.median(_apply_tps(led, txs) for _ in range(3))
    hashes = _hashes_per_tx(led, txs[:2000])

    big = State()
    for i in range(100_000):
        big.set(int.from_bytes(keccak(b"k%d" % i), "big"), i + 1)
    _ = big.root
    blob = big.dump()
    t0 = time.perf_counter()
    loaded = State.load(blob)
    load_s = time.perf_counter() - t0
    assert loaded.root == big.root
    t0 = time.perf_counter()
    for i in range(10_000):
        big.set(int.from_bytes(keccak(b"k%d" % i), "big"), i + 2)
        _ = big.root
    update_s = (time.perf_counter() - t0) / 10_000

    return {
        "ledger_apply_tps": round(tps, 1),
        "ledger_state_hashes_per_transfer": round(hashes, 1),
        "ledger_state_update_us_100k_leaves": round(update_s * 1e6, 1),
        "ledger_state_load_100k_leaves_s": round(load_s, 3),
        "ledger_fraud_step_gas_worst_20k_accounts": _fraud_step_gas(20_000),
    }


if __name__ == "__main__":
    print(run())
