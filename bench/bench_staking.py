"""Staking figures: exact gas of lock / unlock / reselect / batch-signature checks, and the
time from killing the current sequencer's daemon until another is current on L1.

Gas figures come from receipts on a fresh devnet deployment (4 sequencers, devnet timings).
``batch_sig_check_gas_N_signers``: N active sequencers (stakes 20k + 1k i tokens) install a
FROST group key with their >2/3 ECDSA signatures, then one FROST signature of a batch digest
(made by a threshold of shares, 3 per member apportioned to stake) signs a batch header
appended by the current sequencer; the figure is the gasUsed of the ``verifyBatchSignatures``
call frame inside that ``appendBatch`` (exact, from a ``callTracer`` trace: the set's account
is warm there, its ``groupKeyX`` slot cold). ``batch_sig_check_harness_gas_N_signers``: the same
check through ``SignatureCheckHarness.check`` (gas around the call, caller's ABI encoding
included, account warmed first), ``..._tx`` that whole transaction. A call on a cold account
(nothing else touched the set before) costs 2,500 more (EIP-2929).
``batch_sig_check_ecdsa_gas_N_signers``: the >2/3 ECDSA list's check
(``verifySetSignatures`` through ``SignatureCheckHarness.checkApproval``): what a batch cost
before the group key, now only the key installation / recovery check (a list signs no batch).
``sequencer_failover_s``: median of 3 runs with 4 daemon processes and a 5 s heartbeat timeout.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from offchain.chain.accounts import dev_account
from offchain.chain.anvil import Anvil
from offchain.chain.client import Chain, connect
from offchain.chain.compile import compile_contracts
from offchain.config import L2KitConfig
from offchain.deploy import Deployment, deploy_all
from offchain.rollup.l1.bindings import RollupL1
from offchain.staking.cluster import SequencerCluster, wait_for_new_current
from offchain.staking.config import TOKEN
from offchain.staking.frost.group import random_scalar
from offchain.staking.frost.keygen import KeyShare, trusted_dealer_keygen
from offchain.staking.frost.l1 import group_key_digest, l1_signature, make_even
from offchain.staking.frost.weights import allocate
from offchain.staking.signatures import active_stakes, batch_digest, sign_digest, stake_quorum
from tests.helpers.gas import call_gas
from tests.helpers.rollup import placeholder_header


def _deploy(chain: Chain, cfg: L2KitConfig | None = None) -> Deployment:
    return deploy_all(
        chain, chain.sender(dev_account(0)), cfg or L2KitConfig(), log=lambda *_: None
    )


def _gas_figures() -> dict[str, Any]:
    out: dict[str, Any] = {}
    with Anvil() as a:
        chain = Chain(connect(a.url))
        cfg = L2KitConfig()
        dep = _deploy(chain, cfg)
        token = dep.contract(chain, "token")
        pool = dep.contract(chain, "locking_pool")
        sset = dep.contract(chain, "sequencer_set")
        timelock = dep.contract(chain, "timelock")
        # The devnet hands everything to the Timelock; on Anvil we impersonate it for setup.
        chain.rpc("anvil_impersonateAccount", timelock.address)
        chain.rpc("anvil_setBalance", timelock.address, hex(10**20))

        def as_timelock(call: Any) -> None:
            tx = call.build_transaction({"from": timelock.address, "gas": 5_000_000})
            h = chain.w3.eth.send_transaction(tx)
            assert chain.w3.eth.wait_for_transaction_receipt(h)["status"] == 1

        newbie = dev_account(30)
        s = chain.sender(newbie)
        as_timelock(token.functions.mint(newbie.address, 50_000 * TOKEN))
        s.send(token.functions.approve(pool.address, 50_000 * TOKEN))
        out["lock_gas"] = int(
            s.send(pool.functions.lock(newbie.address, 20_000 * TOKEN))["gasUsed"]
        )  # type: ignore[index]
        # unlockInit of a sequencer that is not current (no rotation inside).
        cur = sset.functions.currentSequencer().call()
        other = next(dev_account(i) for i in (1, 2, 3, 4) if dev_account(i).address != cur)
        rcpt = chain.sender(other).send(pool.functions.unlockInit(other.address))
        out["unlock_gas"] = int(rcpt["gasUsed"])  # type: ignore[index]
        chain.rpc("evm_increaseTime", 31)
        chain.rpc("evm_mine")
        rcpt = chain.sender(other).send(pool.functions.unlockClaim(other.address))
        out["unlock_claim_gas"] = int(rcpt["gasUsed"])  # type: ignore[index]
        chain.rpc("evm_increaseTime", 6)
        chain.rpc("evm_mine")
        rcpt = chain.sender(dev_account(25)).send(sset.functions.reselect())
        out["reselect_gas"] = int(rcpt["gasUsed"])  # type: ignore[index]

    for n in (4, 10, 21, 64):
        frost_gas, harness_gas, frost_tx, ecdsa_gas = _sig_check_gas(n)
        out[f"batch_sig_check_gas_{n}_signers"] = frost_gas
        out[f"batch_sig_check_harness_gas_{n}_signers"] = harness_gas
        out[f"batch_sig_check_gas_{n}_signers_tx"] = frost_tx
        out[f"batch_sig_check_ecdsa_gas_{n}_signers"] = ecdsa_gas
    return out


def _checked_gas(chain: Chain, harness: Any, rcpt: Any) -> int:
    ev = harness.events.BatchSignaturesChecked().process_receipt(rcpt)
    return int(ev[0]["args"]["gasUsed"])


def _sig_check_gas(n: int) -> tuple[int, int, int, int]:
    with Anvil(accounts=max(40, n + 10)) as a:
        chain = Chain(connect(a.url))
        cfg = L2KitConfig()
        cfg.staking.devnet_sequencer_accounts = list(range(1, n + 1))
        cfg.staking.devnet_stakes_tokens = [20_000 + 1_000 * i for i in range(n)]
        cfg.staking.max_sequencers = max(n, 21)
        dep = _deploy(chain, cfg)
        sset = dep.contract(chain, "sequencer_set")
        assert len(sset.functions.activeSigners().call()) == n
        digest = batch_digest(chain.chain_id, dev_account(39).address, 1, b"\x42" * 32)
        signers = sorted(
            (dev_account(i) for i in range(1, n + 1)), key=lambda x: int(x.address, 16)
        )
        # The ECDSA path weighs stake: the first signers (by address) holding > 2/3 of it.
        chosen = set(stake_quorum(active_stakes(sset), [str(a.address) for a in signers]))
        quorum_signers = [acct for acct in signers if str(acct.address) in chosen]
        sigs = [sign_digest(acct, digest) for acct in quorum_signers]
        s = chain.sender(dev_account(0))
        harness = s.deploy("SignatureCheckHarness")
        ecdsa = _checked_gas(
            chain, harness, s.send(harness.functions.checkApproval(sset.address, digest, sigs))
        )
        # Shares by stake, a dealt key (the DKG's output has the same form), installed by >2/3.
        stakes = {
            str(acct.address): cfg.staking.devnet_stakes_tokens[i]
            for i, acct in enumerate(dev_account(i) for i in range(1, n + 1))
        }
        alloc = allocate(stakes)
        dealt, _ = trusted_dealer_keygen(random_scalar(), alloc.total, alloc.threshold)
        pk, secrets = make_even(dealt[0].group_public_key, {d.identifier: d.secret for d in dealt})
        x, y = pk.xy()
        kd = group_key_digest(chain.chain_id, sset.address, 0, x)
        s.send(
            sset.functions.installGroupKey(x, y, [sign_digest(acct, kd) for acct in quorum_signers])
        )
        quorum = [KeyShare(i, secrets[i], pk) for i in alloc.all_identifiers()[: alloc.threshold]]
        frost = l1_signature(quorum, digest)
        rcpt = s.send(harness.functions.check(sset.address, digest, [frost]))
        # The figure: the check inside a real appendBatch (the set's account is warm there,
        # its groupKeyX slot cold), exact from the call trace.
        rl = RollupL1.from_deployment(chain, dep)
        bridge = dep.contract(chain, "l1_bridge")
        count = int(bridge.functions.depositCount().call())
        header = placeholder_header(
            rl.next_index(),
            deposit_count=count,
            deposit_hash=bytes(bridge.functions.depositHashAt(count).call()),
        )
        current = str(sset.functions.currentSequencer().call())
        seq = next(acct for acct in signers if str(acct.address) == current)
        append = rl.with_sender(chain.sender(seq)).append_batch(
            header, [l1_signature(quorum, rl.digest(header))]
        )
        in_append = call_gas(chain, append, sset.address, "verifyBatchSignatures(bytes32,bytes[])")
        harness_gas = _checked_gas(chain, harness, rcpt)
        return in_append, harness_gas, int(rcpt["gasUsed"]), ecdsa  # type: ignore[index]


def _failover_once() -> float:
    with Anvil() as a, tempfile.TemporaryDirectory(prefix="l2kit-failover-") as tmp:
        chain = Chain(connect(a.url))
        cfg = L2KitConfig()
        cfg.staking.devnet_epoch_length_s = 600
        dep = _deploy(chain, cfg)
        path = Path(tmp) / "deployment.json"
        dep.save(path)
        sset = dep.contract(chain, "sequencer_set")
        with SequencerCluster(a.url, path, Path(tmp)) as cluster:
            deadline = time.monotonic() + 30
            while True:  # steady state: the current sequencer is heartbeating
                cur = sset.functions.currentSequencer().call()
                pings = sset.events.Heartbeat().get_logs(from_block=0)
                if pings and pings[-1]["args"]["signer"] == cur:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("no heartbeat from the current sequencer")
                time.sleep(0.2)
            time.sleep(1.0)
            t0 = cluster.kill(cur)
            wait_for_new_current(sset, cur, timeout_s=30)
            return time.perf_counter() - t0


def run() -> dict[str, Any]:
    compile_contracts()
    figures = _gas_figures()
    figures["sequencer_failover_s"] = round(
        statistics.median(_failover_once() for _ in range(3)), 2
    )
    return figures
