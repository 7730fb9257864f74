"""Rollup L1 contract gas on a devnet with the real SequencerSet/LockingPool (exact gasUsed
from receipts): appendBatch of a placeholder header with one FROST signature (the set's
group key installed first, as the devnet's nodes do at start; the real
1,000-transaction batch at the maximum set size is ``bench_batch_gas``), deposits,
a withdrawal, a data-availability request and answer, and the worst provable fraud step.

Figures: ``append_batch_gas``, ``append_batch_first_gas``, ``deposit_gas``,
``deposit_erc20_gas``, ``finalize_withdrawal_gas`` (and
``finalize_withdrawal_gas_100_open_requests``: 100 data requests open on later batches),
``da_request_gas``,
``da_provide_abi_gas_per_byte`` (the one-transaction ABI answer; the chunked answer the
batcher falls back to is ``bench_batch_data``'s ``da_provide_gas_per_byte``),
``fraud_proof_gas`` (max
over the fault cases, each also reported as ``fraud_proof_gas_<case>``), ``fraud_commit_gas``
(the ``FraudProver.commit`` sent a block before each proof: the reward's commitment),
``fraud_proof_gas_standard_tx`` (max over the same faults on a standard, wallet-signed
EIP-1559 transaction at the same step, each as ``fraud_proof_gas_std_<case>``; the worst is a
wrong root on an ERC-20 transfer carrying the longest access list allowed (4 addresses, 16
storage keys: ~1.3 kB more calldata, each entry decoded): RLP decoding, ecrecover, 5 state
accesses of which 2 insert).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import rlp
from eth_account import Account
from eth_account.signers.local import LocalAccount

from offchain.bridge.client import BridgeClient
from offchain.bridge.types import ETH, Withdrawal
from offchain.chain.accounts import dev_account
from offchain.chain.client import Chain
from offchain.common import merkle
from offchain.common.hashing import keccak
from offchain.devnet import Devnet
from offchain.rollup.l1.bindings import PostedBatchData, RollupL1
from offchain.rollup.ledger import ethtx
from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.ledger.batch_builder import BatchBuilder, Item, tampered
from offchain.rollup.ledger.tx import (
    DEFAULT_L2_CHAIN_ID,
    Deposit,
    Domain,
    decode_tx,
    sign_transfer,
    sign_withdraw,
)
from offchain.staking.frost.l1 import install_dealt_key, l1_signature
from tests.helpers.gas import call_gas
from tests.helpers.rollup import placeholder_header

BATCH_TXS = 1000
APPEND_GAS_LIMIT = 1_000_000
E18 = 10**18


class _L1:
    """The devnet's rollup contracts plus the four devnet sequencers (dev accounts 1..4), whose
    FROST group key is installed on L1 (``install_dealt_key``): batches carry one signature."""

    def __init__(self, d: Devnet) -> None:
        assert d.chain and d.deployment
        self.chain: Chain = d.chain
        self.dep = d.deployment
        self.seqset = self.dep.contract(self.chain, "sequencer_set")
        self.keys = {a.address: a for a in (dev_account(i) for i in range(1, 5))}
        self.rl = RollupL1.from_deployment(self.chain, self.dep)
        signers, stakes = self.seqset.functions.activeStakes().call()
        self.shares = install_dealt_key(
            self.chain,
            self.seqset,
            self.keys,
            {str(a): int(s) for a, s in zip(signers, stakes, strict=True)},
        )

    def current(self) -> LocalAccount:
        return self.keys[self.seqset.functions.currentSequencer().call()]

    def sc(self, acct: LocalAccount) -> RollupL1:
        return self.rl.with_sender(self.chain.sender(acct))

    def append(self, header: BatchHeader, **publish: Any) -> Any:
        """appendBatch with one FROST signature (``publish``: blobs / frame, see RollupL1)."""
        sig = l1_signature(self.shares, self.rl.digest(header))
        if publish:
            return self.sc(self.current()).append_batch(header, [sig], **publish)
        # A fixed gas limit (gasUsed is what is measured): after many snapshot reverts Anvil
        # has estimated an appendBatch ~37k short, as if its new slots were already written.
        call = self.rl.sc.functions.appendBatch(header.as_tuple(), [sig])
        return self.chain.sender(self.current()).send(call, gas=APPEND_GAS_LIMIT)

    def warp(self, seconds: int) -> None:
        self.chain.rpc("evm_increaseTime", seconds)
        self.chain.rpc("evm_mine")

    def snapshot(self) -> Any:
        return self.chain.rpc("evm_snapshot")

    def revert(self, snap: Any) -> None:
        self.chain.rpc("evm_revert", snap)


def _rand_header(index: int, deposit_count: int, deposit_hash: bytes, **kw: Any) -> BatchHeader:
    fields: dict[str, Any] = dict(
        tx_count=BATCH_TXS, deposit_count=deposit_count, deposit_hash=deposit_hash
    )
    fields.update(kw)
    labels = ("txs %d", "mtsr %d", "final %d", "withdrawals %d", "data %d")
    return placeholder_header(index, labels, **fields)


def _gas(rcpt: Any) -> int:
    return int(rcpt["gasUsed"])


def _bridge_figures(l1: _L1, out: dict[str, int]) -> None:
    alice = dev_account(10)
    br = BridgeClient(l1.chain, l1.dep.addresses["l1_bridge"], l1.chain.sender(alice))
    br.deposit_eth(alice.address, E18)  # the first deposit also initialises the queue
    rc = br.sender.send(br.bridge.functions.depositETH(alice.address), value=E18)  # type: ignore[union-attr]
    out["deposit_gas"] = _gas(rc)
    token = l1.dep.contract(l1.chain, "test_token")
    br.sender.send(token.functions.mint(alice.address, 10**24))  # type: ignore[union-attr]
    br.sender.send(token.functions.approve(br.bridge.address, 10**24))  # type: ignore[union-attr]
    br.deposit_erc20(token.address, alice.address, 10**20, approve=False)
    rc = br.sender.send(br.bridge.functions.depositERC20(token.address, alice.address, 10**20))  # type: ignore[union-attr]
    out["deposit_erc20_gas"] = _gas(rc)


def _append_figures(l1: _L1, out: dict[str, int]) -> None:
    br = l1.dep.contract(l1.chain, "l1_bridge")
    count = int(br.functions.depositCount().call())
    dh = bytes(br.functions.depositHashAt(count).call())
    base = l1.rl.next_index()
    gas = [_gas(l1.append(_rand_header(base + i, count, dh))) for i in range(4)]
    out["append_batch_first_gas"] = gas[0]
    out["append_batch_gas"] = gas[-1]  # steady state (warm sequencer-set slots)


def _withdrawal_figure(l1: _L1, out: dict[str, int], open_requests: int = 0) -> None:
    """``finalize_withdrawal_gas`` (or ``..._<n>_open_requests`` with ``open_requests`` data
    requests open on later, still pending batches: the finality check must not depend on them)."""
    snap = l1.snapshot()
    try:
        br = l1.dep.contract(l1.chain, "l1_bridge")
        count = int(br.functions.depositCount().call())
        w = Withdrawal(keccak(b"withdraw tx"), dev_account(11).address, ETH, E18 // 2)
        items = [w.item() if i == 500 else keccak(b"%d" % i) for i in range(BATCH_TXS)]
        tree = merkle.MerkleTree(items)
        header = _rand_header(
            l1.rl.next_index(),
            count,
            bytes(br.functions.depositHashAt(count).call()),
            withdrawal_root=tree.root,
        )
        l1.append(header)
        window = l1.rl.challenge_window_s()
        if open_requests:
            l1.warp(window // 2)
            verifier = l1.sc(dev_account(13))
            dh = bytes(br.functions.depositHashAt(count).call())
            for i in range(open_requests):
                later = _rand_header(l1.rl.next_index(), count, dh, data_hash=keccak(b"o%d" % i))
                l1.append(later)
                verifier.request_data(later)
            assert len(l1.rl.sc.functions.openDataRequests().call()) == open_requests
            l1.warp(window - window // 2 + 1)
        else:
            l1.warp(window + 1)
        client = BridgeClient(l1.chain, br.address, l1.chain.sender(dev_account(11)))
        key = f"finalize_withdrawal_gas_{open_requests}_open_requests" if open_requests else ""
        out[key or "finalize_withdrawal_gas"] = _gas(
            client.finalize_withdrawal(header, 500, w, tree.proof(500))
        )
    finally:
        l1.revert(snap)


def _da_figures(l1: _L1, out: dict[str, int]) -> None:
    snap = l1.snapshot()
    try:
        n = 200
        data = PostedBatchData(
            [keccak(b"tx %d" % i) * 9 + b"\x01" for i in range(n)],
            [dev_account(1).address] * n,
            [keccak(b"root %d" % i) for i in range(n)],
            [b"\x00" * 32] * n,
        )
        leaves = [
            keccak(keccak(t) + bytes(12) + bytes.fromhex(f[2:]))
            for t, f in zip(data.tx_data, data.fee_recipients, strict=True)
        ]
        br = l1.dep.contract(l1.chain, "l1_bridge")
        count = int(br.functions.depositCount().call())
        header = _rand_header(
            l1.rl.next_index(),
            count,
            bytes(br.functions.depositHashAt(count).call()),
            tx_count=n,
            tx_root=merkle.root(leaves),
            state_roots_root=merkle.root(data.post_roots),
            final_state_root=data.post_roots[-1],
            withdrawal_root=merkle.root(data.withdrawal_items),
            data_hash=data.data_hash,
        )
        seq = l1.current()
        l1.append(header)
        verifier = l1.sc(dev_account(13))
        out["da_request_gas"] = _gas(verifier.request_data(header))
        rc = l1.sc(seq).provide_data(header, data)
        tx = l1.chain.w3.eth.get_transaction(rc["transactionHash"])
        assert verifier.data_request(header.index).status.name == "ANSWERED"
        out["da_provide_abi_gas"] = _gas(rc)
        out["da_provide_abi_gas_per_byte"] = round(_gas(rc) / len(bytes(tx["input"])), 2)  # type: ignore[assignment]
    finally:
        l1.revert(snap)


def _fraud_figures(l1: _L1, out: dict[str, int]) -> None:
    """Each provable fault at the last step of a 1,000-tx batch; the max is fraud_proof_gas."""
    alice, bob, carol = dev_account(10), dev_account(11), dev_account(12)
    fee_to = dev_account(30).address
    snap = l1.snapshot()
    try:
        bridge = l1.dep.contract(l1.chain, "l1_bridge")
        client = BridgeClient(l1.chain, bridge.address, l1.chain.sender(alice))
        for who in (alice, bob, alice, bob):
            client.deposit_eth(who.address, 100 * E18)
        # The L2 consumes the whole queue in order: all but the last two deposits in the
        # first batch; the last one is the "skipped deposit" fault.
        l2deps = [
            Deposit(d.deposit_id, d.sender, d.l2_recipient, d.token, d.amount)
            for d in client.deposits()
        ]
        base = l1.rl.next_index()
        domain = Domain(DEFAULT_L2_CHAIN_ID, l1.dep.addresses["state_commitment"])
        b = BatchBuilder(
            domain,
            lambda i: bytes(bridge.functions.depositHash(i).call()),
            lambda n: bytes(bridge.functions.depositHashAt(n).call()),
        )
        # Batches before `base` were appended by the other figures with random roots: the
        # builder's chain starts at `base` (the disputed steps never need their state).
        b.batches.extend([None] * base)  # type: ignore[list-item]
        data, pre = b.build([(d, fee_to, True) for d in l2deps[:-2]])
        h = b.header(data, index=base)
        l1.append(h)
        b.record(h, data, pre)
        # 999 honest transfers alice -> bob, then the disputed step 999.
        filler: list[Item] = [
            (sign_transfer(alice, domain, bob.address, ETH, 1, 0, n), fee_to, True)
            for n in range(BATCH_TXS - 1)
        ]
        nonce = BATCH_TXS - 1
        cases: dict[str, Callable[[], tuple[Item, dict[str, Any]]]] = {
            "wrong_root": lambda: (
                (
                    sign_transfer(alice, domain, carol.address, ETH, E18, 7, nonce),
                    dev_account(31).address,
                    True,
                ),
                {"forge_root": True},
            ),
            "bad_signature": lambda: (
                (
                    sign_transfer(bob, domain, carol.address, ETH, E18, 7, 0).__class__(
                        alice.address,
                        carol.address,
                        ETH,
                        E18,
                        7,
                        nonce,
                        sign_transfer(bob, domain, carol.address, ETH, E18, 7, nonce).signature,
                    ),
                    fee_to,
                    False,
                ),
                {},
            ),
            "wrong_nonce": lambda: (
                (
                    sign_transfer(alice, domain, carol.address, ETH, E18, 7, nonce + 3),
                    fee_to,
                    False,
                ),
                {},
            ),
            "overdraft": lambda: (
                (
                    sign_transfer(alice, domain, carol.address, ETH, 10**6 * E18, 7, nonce),
                    fee_to,
                    False,
                ),
                {},
            ),
            "skipped_deposit": lambda: ((l2deps[-1], fee_to, False), {}),
            "fake_withdrawal": lambda: (
                (
                    sign_withdraw(alice, domain, carol.address, ETH, E18, 7, nonce),
                    dev_account(31).address,
                    True,
                ),
                {"forge_item": True},
            ),
        }
        worst = 0

        def prove(make: Callable[[], tuple[Item, dict[str, Any]]]) -> Any:
            """Append batch base+1 with the fault and prove it; the builder forgets the batch."""
            saved_state = b.state.copy()
            try:
                item, opts = make()
                data, pre = b.build([*filler, item])
                if opts.get("forge_root"):
                    data = tampered(data, post_roots=[*data.post_roots[:-1], keccak(b"forged")])
                if opts.get("forge_item"):
                    data = tampered(
                        data, withdrawal_items=[*data.withdrawal_items[:-1], keccak(b"fake")]
                    )
                h = b.header(data, index=base + 1)
                l1.append(h)
                b.record(h, data, pre)
                w = b.witness(base + 1)
                assert w.step.step == BATCH_TXS - 1, w.step.step
                v = l1.sc(dev_account(14))
                c = v.commit_fraud_proof(w)  # the reward's commitment, an earlier block
                if c is not None:
                    out["fraud_commit_gas"] = _gas(c)
                return v.prove_fraud(w)
            finally:
                b.batches.pop() if len(b.batches) > base + 1 else None
                b.state = saved_state

        for name, make in cases.items():
            inner = l1.snapshot()
            try:
                rc = prove(make)
                out[f"fraud_proof_gas_{name}"] = _gas(rc)
                if _gas(rc) > worst:
                    worst = _gas(rc)
                    out["fraud_proof_punish_gas"] = _punish_gas(l1, rc)
            finally:
                l1.revert(inner)
        # The same faults on standard (wallet-signed) transactions at the same step.
        std = _standard_cases(l1, alice, carol, nonce)
        worst_std = 0
        for name, make in std.items():
            inner = l1.snapshot()
            try:
                rc = prove(make)
                out[f"fraud_proof_gas_std_{name}"] = _gas(rc)
                worst_std = max(worst_std, _gas(rc))
            finally:
                l1.revert(inner)
        out["fraud_proof_gas_standard_tx"] = worst_std
        # The worst case again, once the pool has slashed before (its totals are then non-zero,
        # so the slash writes no fresh storage slots): the steady-state figure.
        inner = l1.snapshot()
        try:
            prove(cases["bad_signature"])
            rc = prove(cases["wrong_root"])
            out["fraud_proof_gas_wrong_root_after_a_slash"] = _gas(rc)
        finally:
            l1.revert(inner)
        out["fraud_proof_gas"] = worst
        # The proof itself, without SequencerSet.punish (LockingPool slash + kick + rotation).
        out["fraud_proof_gas_excl_punish"] = worst - out["fraud_proof_punish_gas"]
    finally:
        l1.revert(snap)


def _standard_cases(
    l1: _L1, alice: LocalAccount, carol: LocalAccount, nonce: int
) -> dict[str, Callable[[], tuple[Item, dict[str, Any]]]]:
    """Standard-transaction faults signed by eth-account for alice's next nonce: a wrong root
    on each kind (token transfer: 5 accesses, 2 insertions, the worst), an included bad
    signature / wrong chain / wrong nonce / overdraft, a fake withdrawal item."""
    token = l1.dep.contract(l1.chain, "test_token").address
    chain = DEFAULT_L2_CHAIN_ID
    fresh_fee = dev_account(31).address

    def raw(**fields: Any) -> bytes:
        tx = {"nonce": nonce, "gas": 70_000, "to": carol.address, "value": 1, "chainId": chain}
        tx |= {"maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9, "type": 2}
        return b"\x03" + bytes(Account.sign_transaction(tx | fields, alice.key).raw_transaction)

    xfer = ethtx.SELECTOR_TRANSFER + bytes(12) + bytes.fromhex(carol.address[2:])
    xfer += (5).to_bytes(32, "big")
    wt = ethtx.SELECTOR_WITHDRAW_TOKEN + bytes(12) + bytes.fromhex(token[2:])
    wt += (5).to_bytes(32, "big") + bytes(12) + bytes.fromhex(carol.address[2:])
    token_xfer = raw(to=ethtx.l2_token_address(token), value=0, data=xfer)
    # The longest access list an L2 transaction may carry: every address and key it may name.
    per = ethtx.MAX_ACCESS_LIST_STORAGE_KEYS // ethtx.MAX_ACCESS_LIST_ADDRESSES
    full = [
        {"address": "0x" + bytes([i + 1]).hex() * 20,
         "storageKeys": ["0x" + bytes([i * per + k + 1]).hex() * 32 for k in range(per)]}
        for i in range(ethtx.MAX_ACCESS_LIST_ADDRESSES)
    ]  # fmt: skip
    token_xfer_al = raw(to=ethtx.l2_token_address(token), value=0, data=xfer, accessList=full)
    token_wd = raw(to=ethtx.WITHDRAW_ADDRESS, value=0, data=wt)
    fields = rlp.decode(token_xfer[2:])
    fields[-1] = SECP256K1_N.to_bytes(32, "big")  # s = n: no valid signature has it
    high_s = token_xfer[:2] + rlp.encode(fields)

    def honest(data: bytes, opts: dict[str, Any]) -> Callable[[], tuple[Item, dict[str, Any]]]:
        return lambda: ((decode_tx(data), fresh_fee, True), opts)

    def included(data: bytes) -> Callable[[], tuple[Item, dict[str, Any]]]:
        return lambda: ((data, fresh_fee, False), {})

    return {
        "wrong_root_token_transfer": honest(token_xfer, {"forge_root": True}),
        "wrong_root_token_transfer_full_access_list": honest(token_xfer_al, {"forge_root": True}),
        "wrong_root_eth_transfer": honest(raw(value=E18), {"forge_root": True}),
        "fake_withdrawal_token": honest(token_wd, {"forge_item": True}),
        "bad_signature": included(high_s),
        "wrong_chain": included(raw(chainId=chain + 1)),
        "wrong_nonce": included(raw(nonce=nonce + 3)),
        "overdraft": included(raw(value=10**6 * E18)),
    }


SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _punish_gas(l1: _L1, rc: Any) -> int:
    """gasUsed of the SequencerSet.punish call inside ``rc`` (exact, from a call trace)."""
    return call_gas(l1.chain, rc, l1.seqset.address, "punish(address,uint256,address)")


def run() -> dict[str, int]:
    out: dict[str, int] = {}
    with Devnet(ephemeral=True, log=lambda *_: None) as d:
        l1 = _L1(d)
        _bridge_figures(l1, out)
        _append_figures(l1, out)
        _withdrawal_figure(l1, out)
        _withdrawal_figure(l1, out, open_requests=100)
        _da_figures(l1, out)
        _fraud_figures(l1, out)
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
