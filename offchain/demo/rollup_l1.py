"""Demo scene: the rollup's L1 contracts on their own, with the real ledger computing every root.

The set installs a FROST group key (dealt in-process, approved by >2/3 of the stake's ECDSA
signatures: the one use of such a list), then deposits on the bridge, batches appended with the
key's one signature, a withdrawal paid
after the challenge window, then a sequencer that cheats on the MTSR (fraud proof) and one that
withholds its data (DA request, timeout): each is slashed on the LockingPool, kicked and
replaced. The chain is restored at the end, so later scenes start from the fresh devnet.
"""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from rich.console import Console

from offchain.bridge.client import BridgeClient
from offchain.bridge.types import ETH, Withdrawal
from offchain.chain.accounts import dev_account
from offchain.common import merkle
from offchain.common.hashing import keccak
from offchain.devnet import Devnet
from offchain.rollup.l1.bindings import DataMode, RollupL1
from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.ledger.batch_builder import BatchBuilder, Item, tampered
from offchain.rollup.ledger.blobs import sidecar_of, sidecar_of_blobs
from offchain.rollup.ledger.fraud import find_fraud
from offchain.rollup.ledger.tx import Deposit, Domain, sign_transfer, sign_withdraw, tx_hash
from offchain.staking.frost.keygen import KeyShare
from offchain.staking.frost.l1 import install_dealt_key, l1_signature
from offchain.staking.signatures import active_stakes

E18 = 10**18


class _Scene:
    def __init__(self, d: Devnet, console: Console) -> None:
        assert d.chain and d.deployment
        self.chain, self.dep, self.out = d.chain, d.deployment, console
        self.seqset = self.dep.contract(self.chain, "sequencer_set")
        self.pool = self.dep.contract(self.chain, "locking_pool")
        self.token = self.dep.contract(self.chain, "token")
        self.bridge = self.dep.contract(self.chain, "l1_bridge")
        self.keys = {a.address: a for a in (dev_account(i) for i in range(1, 5))}
        self.rl = RollupL1.from_deployment(self.chain, self.dep)
        p = d.config.rollup.effective(self.chain.chain_id)
        self.params = p
        self.min_lock = int(self.pool.functions.params().call()[0])
        self.shares: list[KeyShare] = []
        self.b = BatchBuilder(
            Domain(p.l2_chain_id, self.dep.addresses["state_commitment"]),
            lambda i: bytes(self.bridge.functions.depositHash(i).call()),
            lambda n: bytes(self.bridge.functions.depositHashAt(n).call()),
        )

    def current(self) -> LocalAccount:
        return self.keys[self.seqset.functions.currentSequencer().call()]

    def append(
        self, items: list[Item], forge: dict[str, Any] | None = None, bad_blobs: bool = False
    ) -> BatchHeader:
        """Append a batch of ``items`` (``forge``: tampered data; ``bad_blobs``: Blobs mode,
        blobs whose last byte is set, so they do not decode)."""
        data, pre = self.b.build(items)
        if forge:
            data = tampered(data, **forge)
        blobs = sidecar_of(data.encode()) if self.rl.data_mode() == DataMode.BLOBS else None
        if blobs is not None and bad_blobs:
            blobs = sidecar_of_blobs([*blobs.blobs[:-1], blobs.blobs[-1][:-1] + b"\x01"])
        header = self.b.header(data, **({"data_hash": blobs.data_hash} if blobs else {}))
        # The set's one FROST signature (SequencerSet.verifyBatchSignatures).
        if not self.shares:
            self.install_key()
        sigs = [l1_signature(self.shares, self.rl.digest(header))]
        seq = self.current()
        self.rl.with_sender(self.chain.sender(seq)).append_batch(header, sigs, blobs=blobs)
        self.b.record(header, data, pre)
        self.out.print(
            f"batch {header.index} by {seq.address[:10]}… (one FROST signature): "
            f"{header.tx_count} txs, MTTBR 0x{header.tx_root.hex()[:10]}…, "
            f"MTSR 0x{header.state_roots_root.hex()[:10]}…"
        )
        return header

    def install_key(self) -> None:
        """A group key for the set (a new version if the nodes' DKG installed one already:
        this scene holds no share of that one; the chain is restored afterwards)."""
        self.shares = install_dealt_key(
            self.chain, self.seqset, self.keys, active_stakes(self.seqset)
        )
        x = int(self.seqset.functions.groupKeyX().call())
        version = int(self.seqset.functions.groupKeyVersion().call())
        self.out.print(
            f"group key {hex(x)[:12]}… installed (version {version}) by >2/3 of the stake's "
            "ECDSA approvals; from now on each batch carries one FROST signature"
        )

    def warp(self, s: int) -> None:
        self.chain.rpc("evm_increaseTime", s)
        self.chain.rpc("evm_mine")

    def stake(self, who: LocalAccount) -> str:
        return f"{self.pool.functions.sequencer(who.address).call()[2] / E18:,.0f}"

    def punished(
        self, seq: LocalAccount, beneficiary: LocalAccount, tok0: int, stake0: str
    ) -> None:
        status = ["none", "active", "exiting", "kicked", "withdrawn"][
            self.pool.functions.statusOf(seq.address).call()
        ]
        # The slash only credits the reward in the pool (pull pattern): the beneficiary claims it.
        claimable = int(self.pool.functions.claimableReward(beneficiary.address).call())
        if claimable > 0:
            self.chain.sender(beneficiary).send(self.pool.functions.claimSlashReward())
        got = (self.token.functions.balanceOf(beneficiary.address).call() - tok0) / E18
        self.out.print(
            f"  sequencer {seq.address[:10]}… stake {stake0} -> {self.stake(seq)} tokens, "
            f"{status}; "
            f"reward to {beneficiary.address[:10]}…: {claimable / E18:,.0f} tokens credited, "
            f"claimed {got:,.0f}; "
            f"now current: {self.current().address[:10]}…"
        )


def run(d: Devnet, console: Console) -> None:
    """Play the scene (see the module docstring)."""
    s = _Scene(d, console)
    snap = s.chain.rpc("evm_snapshot")
    try:
        _play(s)
    finally:
        s.chain.rpc("evm_revert", snap)
        console.print("(L1 state restored for the next scene)")


def _play(s: _Scene) -> None:
    s.install_key()
    alice, bob = dev_account(10), dev_account(11)
    w3 = s.chain.w3
    client = BridgeClient(s.chain, s.bridge.address, s.chain.sender(alice))
    dep = client.deposit_eth(alice.address, 5 * E18)
    qh = dep.rolling_hash.hex()[:10]
    s.out.print(f"alice deposits 5 ETH on L1: deposit #{dep.deposit_id}, queue hash 0x{qh}…")
    s.append([(Deposit(dep.deposit_id, dep.sender, dep.l2_recipient, ETH, dep.amount), ETH, True)])
    fee_to = s.current().address
    w = sign_withdraw(alice, s.b.domain, bob.address, ETH, E18, 0, 0)
    t = sign_transfer(alice, s.b.domain, bob.address, ETH, E18, 0, 1)
    h1 = s.append([(w, fee_to, True), (t, fee_to, True)])
    s.warp(s.params.challenge_window_s + 1)
    st = s.rl.batch_status(1).name.lower()
    s.out.print(f"challenge window ({s.params.challenge_window_s}s) passed: batch 1 is {st}")
    bob0 = w3.eth.get_balance(bob.address)
    item = Withdrawal(tx_hash(w), bob.address, ETH, E18)
    tree = merkle.MerkleTree(s.b.batches[1].data.withdrawal_items)
    relayer = s.chain.sender(dev_account(12))  # anyone may pay a final withdrawal out
    BridgeClient(s.chain, s.bridge.address, relayer).finalize_withdrawal(h1, 0, item, tree.proof(0))
    paid = (w3.eth.get_balance(bob.address) - bob0) / E18
    s.out.print(f"bob's withdrawal (batch 1, leaf 0) paid on L1: bob +{paid:.4f} ETH")

    # A sequencer cheats on the MTSR: the post-state root of a valid transfer is forged.
    cheater = s.current()
    t2 = sign_transfer(alice, s.b.domain, bob.address, ETH, E18, 0, 2)
    s.out.print("[bold]a sequencer commits a forged MTSR[/]")
    s.append([(t2, cheater.address, True)], forge={"post_roots": [keccak(b"forged")]})
    verifier = dev_account(14)
    step = find_fraud(
        s.b.batches[2].pre_state.copy(), s.b.domain, s.b.batches[2].data, s.b.deposit_hash_of
    )
    tok0, stake0 = s.token.functions.balanceOf(verifier.address).call(), s.stake(cheater)
    rc = s.rl.with_sender(s.chain.sender(verifier)).prove_fraud(s.b.witness(2))
    st = s.rl.batch_status(2).name.lower()
    s.out.print(
        f"  verifier re-executes step {step} on L1 (fraud proof, {rc['gasUsed']:,} gas): "
        f"batch 2 is {st}"
    )
    s.punished(cheater, verifier, tok0, stake0)
    s.b.batches.pop()
    s.b.state = s.b.batches[-1].pre_state.copy()
    s.b.build([(w, fee_to, True), (t, fee_to, True)])  # back to the state after batch 1

    # The next sequencer withholds the data of its batch.
    withholder = s.current()
    s.out.print(
        f"[bold]sequencer {withholder.address[:10]}… resubmits batch 2 but withholds its data[/]"
    )
    h2 = s.append([(t2, withholder.address, True)])
    tok0, stake0 = s.token.functions.balanceOf(verifier.address).call(), s.stake(withholder)
    v = s.rl.with_sender(s.chain.sender(verifier))
    v.request_data(h2)
    s.out.print(
        f"  verifier requests the data on L1 (bond {v.da_fee_for(h2.tx_count) / E18} ETH): "
        "insecure state, withdrawals held"
    )
    # Attack (issue #10): the withholder moves its stake to a fresh key to dodge the slash.
    fresh = dev_account(35)
    s.warp(11)  # past the devnet signer-update interval (10 s)
    s.chain.sender(withholder).send(
        s.pool.functions.updateSigner(withholder.address, fresh.address)
    )
    s.out.print(
        f"  [bold]attack:[/] the withholder moves its stake to a fresh key {fresh.address[:10]}… "
        "(updateSigner) before the deadline"
    )
    s.warp(s.params.da_window_s + 1)
    v.resolve_timeout(2)
    st = s.rl.batch_status(2).name.lower()
    s.out.print(f"  no answer within {s.params.da_window_s}s: batch 2 is {st}")
    s.out.print("  [bold]refused:[/] the slash follows the staker to its new key")
    s.punished(fresh, verifier, tok0, stake0)
