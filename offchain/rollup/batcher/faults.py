"""A faulty sequencer, for tests and the devnet only (never the default; loudly logged).

Each :class:`Fault` corrupts the next batch the :class:`~offchain.rollup.batcher.submitter.Batcher`
submits, in one of the ways the seeds say an honest verifier must catch:

- ``wrong_mttbr``: the header's MTTBR is not the root of the published transactions
  (caught by the verifier's MTTBR check -> ``requestData`` -> the data cannot match -> slash);
- ``wrong_mtsr``: one claimed post-state root is wrong, consistently in the data and the
  header (MTTBR matches, MTSR does not -> one-step fraud proof -> slash);
- ``bad_summary``: the header's final state root is not the last MTSR leaf (data and roots
  honest; every step re-executes correctly -> ``proveBadSummary`` -> slash);
- ``withhold``: the data is published nowhere and data requests go unanswered
  (storage and snapshot miss -> ``requestData`` -> deadline -> ``resolveTimeout`` -> slash);
- ``mismatch``: the stored data is not the data the header's roots commit to
  (MTTBR mismatch -> ``requestData`` -> the posted data does not match -> slash);
- ``forge``: a transaction with a forged signature is inserted into the batch
  (MTTBR matches, step invalid -> fraud proof with status ``bad_signature`` -> slash);
- ``bad_blobs`` (Blobs mode): the blobs carry a nonzero byte after the frame, so they do not
  decode (KZG openings -> ``proveBlobFault`` -> slash);
- ``wrong_blobs_hash`` (Storage mode): the header's ``blobsHash`` commits the blobs of other
  bytes, data and roots honest (honest co-signers refuse it; signed by colluders, a data
  request is answered in chunks, which L1 recomputes, since the stored data is not the
  committed blobs);
- ``std_*``: the same one-step faults on standard Ethereum transactions (kind 0x03), once the
  batch holds one: ``std_bad_signature`` (one of them again with ``s = n``),
  ``std_wrong_chain`` (a transfer signed for another chain id), ``std_wrong_nonce`` (one of
  them replayed), ``std_overdraft`` (a transfer of more than the signer has),
  ``std_fake_withdrawal`` (a withdrawal item to the forger claimed on a standard transfer;
  roots honest); a wrong root on a standard step is ``wrong_mtsr`` on such a batch;
- ``censor``: the node never includes forced transactions (of ``censor_account``, or every
  one): the L1 queue stops at the first such item, so after its deadline every batch of this
  sequencer is refused (``StateCommitmentForcedTxNotIncluded``) and ``reportCensorship``
  rotates it out (the batches themselves stay honest);
- ``forced_wrong_exec``: once the batch holds a forced transaction (kind 0x04), its first one
  is claimed as skipped: that step's post-state root is claimed equal to its pre-state root
  (queue position not consumed, the transfer or withdrawal not run), consistently in the data
  and the header, the other roots honest (MTTBR matches, the step re-executes to another root
  -> one-step fraud proof with status ``valid`` -> slash).

Honest co-signers refuse to sign such a batch (they rebuild it from their blocks), so the
faulty sequencer signs with ``collude_shares`` (FROST shares of the set's group key reaching
the threshold: the only signature L1 takes): the colluding >2/3 majority that the verifiers
exist to catch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import rlp
import structlog
from eth_account import Account

from offchain.common.hashing import keccak
from offchain.rollup.batcher.plan import BuiltBatch, header_for, storage_blobs_hash
from offchain.rollup.batcher.submitter import Cosigned
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.ledger.batch import ZERO32, BatchHeader
from offchain.rollup.ledger.batch_data import BatchData, decode_batch_data
from offchain.rollup.ledger.blobs import BlobSidecar, sidecar_of_blobs
from offchain.rollup.ledger.ethtx import KIND_STANDARD
from offchain.rollup.ledger.state import State
from offchain.rollup.node.errors import BatchError

if TYPE_CHECKING:
    from offchain.rollup.batcher.submitter import Batcher

log = structlog.get_logger("rollup.faults")

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

STANDARD_MODES = (
    "std_bad_signature",
    "std_wrong_chain",
    "std_wrong_nonce",
    "std_overdraft",
    "std_fake_withdrawal",
)
MODES = (
    "wrong_mttbr",
    "wrong_mtsr",
    "bad_summary",
    "withhold",
    "mismatch",
    "forge",
    "bad_blobs",
    "wrong_blobs_hash",
    "censor",
    "forced_wrong_exec",
    *STANDARD_MODES,
)


@dataclass
class Fault:
    """One fault mode.

    Args:
        mode: one of :data:`MODES`.
        collude_shares: FROST key shares (at least the threshold) signing the corrupted batch
            digest: one signature under the set's group key.
        once: corrupt only the next batch (then behave).
        forge_key: key that signs the forged transaction (``forge``; not the sender's).
        censor_account: ``censor``: the user whose forced transactions are ignored (None:
            every forced transaction).
    """

    mode: str
    collude_shares: list[Any] = field(default_factory=list)
    once: bool = True
    forge_key: bytes = b"\x42" * 32
    censor_account: str | None = None
    fired: int = 0
    withheld: set[int] = field(default_factory=set)
    _collude_next: bool = False
    _bad_blobs_next: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise BatchError(f"unknown fault mode {self.mode!r}", f"use one of {', '.join(MODES)}")
        log.warning("FAULTY_SEQUENCER_MODE_ENABLED", mode=self.mode, note="test/devnet only")

    @property
    def active(self) -> bool:
        return not (self.once and self.fired)

    def corrupt(self, batcher: Batcher, built: BuiltBatch) -> tuple[BatchHeader, bytes, bool]:
        """The (header, blob, publish?) to submit instead of the honest ones."""
        if not self.active or self.mode == "censor":
            return built.header, built.data, True
        data = decode_batch_data(built.data)
        if self.mode == "forge" and not any(t[0] != ltx.KIND_DEPOSIT for t in data.tx_data):
            return built.header, built.data, True  # nothing to imitate yet: wait for a user tx
        if self.mode in STANDARD_MODES and not any(t[0] == KIND_STANDARD for t in data.tx_data):
            return built.header, built.data, True  # wait for a standard transaction
        if self.mode == "forced_wrong_exec" and not any(
            t[0] == ltx.KIND_FORCED for t in data.tx_data
        ):
            return built.header, built.data, True  # wait for a forced transaction
        self.fired += 1
        self._collude_next = True
        h = built.header
        if self.mode == "wrong_mttbr":
            bad = _replace(h, tx_root=keccak(b"not the MTTBR" + h.tx_root))
            out = (bad, built.data, True)
        elif self.mode == "wrong_mtsr":
            k = len(data) - 1
            roots = list(data.post_roots)
            roots[k] = keccak(b"wrong state" + roots[k])
            bad_data = BatchData(data.tx_data, data.fee_recipients, roots, data.withdrawal_items)
            out = self._consistent(h, bad_data)
        elif self.mode == "bad_summary":
            lie = keccak(b"not the final state root" + h.final_state_root)
            out = (_replace(h, final_state_root=lie), built.data, True)
        elif self.mode == "bad_blobs":
            self._bad_blobs_next = True
            out = (h, built.data, True)
        elif self.mode == "wrong_blobs_hash":
            fake = storage_blobs_hash(built.data + b"\x00")
            out = (_replace(h, blobs_hash=fake), built.data, True)
        elif self.mode == "withhold":
            self.withheld.add(h.index)
            out = (h, built.data, False)
        elif self.mode == "mismatch":
            n = max(len(data) - 1, 1)  # drop the last transaction from the stored data
            other = BatchData(
                data.tx_data[:n],
                data.fee_recipients[:n],
                data.post_roots[:n],
                data.withdrawal_items[:n],
            )
            blob = other.encode() if len(other) != len(data) else built.data + b"\x00" * 32
            out = (_replace(h, data_hash=keccak(blob), blobs_hash=_blobs_hash(h, blob)), blob, True)
        elif self.mode in STANDARD_MODES:
            out = self._consistent(h, self._forged_standard(batcher, data))
        elif self.mode == "forced_wrong_exec":
            out = self._consistent(h, self._skipped_forced(batcher, built, data))
        else:  # forge
            out = self._consistent(h, self._forged(batcher, data))
        log.warning("FAULTY_BATCH", mode=self.mode, index=h.index, header=out[0].to_json())
        return out

    def _consistent(self, h: BatchHeader, data: BatchData) -> tuple[BatchHeader, bytes, bool]:
        blob = data.encode()
        bad = header_for(
            h.index,
            h.first_block,
            h.l2_blocks,
            data,
            h.deposit_count,
            h.deposit_hash,
            keccak(blob),
            _blobs_hash(h, blob),
        )
        return bad, blob, True

    def _forged(self, batcher: Batcher, data: BatchData) -> BatchData:
        """Insert a transfer "from" a funded account that the owner never signed."""
        user_txs = [ltx.decode_tx(t) for t in data.tx_data if t[0] != ltx.KIND_DEPOSIT]
        victim = next(
            t.sender for t in user_txs if not isinstance(t, ltx.Deposit | ltx.Forced) and t.sender
        )
        domain = batcher.node.executor.domain
        thief = ltx.address_of_key(self.forge_key)
        t = ltx.sign_transfer(self.forge_key, domain, thief, ltx.ETH, 1, 0, 0)
        forged = ltx.Transfer(victim, t.to, t.token, t.amount, t.fee, t.nonce, t.signature)
        return BatchData(
            [*data.tx_data, ltx.encode_tx(forged)],
            [*data.fee_recipients, ltx.to_checksum(batcher.node.address)],
            [*data.post_roots, keccak(b"forged" + data.post_roots[-1])],
            [*data.withdrawal_items, b"\x00" * 32],
        )

    def _skipped_forced(self, batcher: Batcher, built: BuiltBatch, data: BatchData) -> BatchData:
        """``forced_wrong_exec``: the first forced step claimed as leaving the state as it was."""
        k = next(i for i, t in enumerate(data.tx_data) if t[0] == ltx.KIND_FORCED)
        if k > 0:
            pre = data.post_roots[k - 1]
        else:  # the state root the batch starts from: the previous block's
            prev = batcher.node.store.block(built.first_block - 1)
            pre = prev.header.state_root if prev is not None else State().root
        roots = list(data.post_roots)
        roots[k] = pre
        return BatchData(data.tx_data, data.fee_recipients, roots, data.withdrawal_items)

    def blobs(self, sidecar: BlobSidecar) -> BlobSidecar:
        """``bad_blobs``: the sidecar with the last byte of its last blob set (padding that is
        not zero); any other mode: ``sidecar``."""
        if not self._bad_blobs_next:
            return sidecar
        self._bad_blobs_next = False
        blobs = list(sidecar.blobs)
        blobs[-1] = blobs[-1][:-1] + b"\x01"
        return sidecar_of_blobs(blobs)

    def _forged_standard(self, batcher: Batcher, data: BatchData) -> BatchData:
        """One of the ``std_*`` faults on the batch's last standard transaction."""
        last = max(i for i, t in enumerate(data.tx_data) if t[0] == KIND_STANDARD)
        raw = data.tx_data[last][1:]
        thief = ltx.address_of_key(self.forge_key)
        chain = batcher.node.executor.domain.chain_id
        if self.mode == "std_fake_withdrawal":
            items = list(data.withdrawal_items)
            items[last] = ltx.withdrawal_item(keccak(raw), thief, ltx.ETH, 10**18)
            return BatchData(data.tx_data, data.fee_recipients, data.post_roots, items)
        if self.mode == "std_bad_signature":
            typed = raw[0] < 0x80
            fields = rlp.decode(raw[1:] if typed else raw)
            fields[-1] = SECP256K1_N.to_bytes(32, "big")  # s = n: no valid signature has it
            forged = raw[:1] * typed + rlp.encode(fields)
        elif self.mode == "std_wrong_nonce":
            forged = raw  # the same transaction again: its nonce is used
        else:
            tx = {"nonce": 0, "gas": 21_000, "to": thief, "value": 1, "gasPrice": 10**9}
            if self.mode == "std_wrong_chain":
                tx["chainId"] = chain + 1
            else:  # std_overdraft: far more than anyone holds
                tx |= {"chainId": chain, "value": 10**30}
            forged = bytes(Account.sign_transaction(tx, self.forge_key).raw_transaction)
        return BatchData(
            [*data.tx_data, b"\x03" + forged],
            [*data.fee_recipients, ltx.to_checksum(batcher.node.address)],
            [*data.post_roots, keccak(b"forged" + data.post_roots[-1])],
            [*data.withdrawal_items, b"\x00" * 32],
        )

    def sign(self, batcher: Batcher, header: BatchHeader, digest: bytes) -> Cosigned:
        """The colluding shares' signature, nobody marked absent (honest peers would refuse)."""
        if not self._collude_next or not self.collude_shares:
            return batcher.cosign(header, digest)
        self._collude_next = False
        from offchain.staking.frost.l1 import l1_signature

        return Cosigned([l1_signature(self.collude_shares, digest)])

    def censors(self, raw: bytes) -> bool:
        """``censor``: True for a queue item the faulty node refuses to include."""
        if self.mode != "censor" or not raw or raw[0] != ltx.KIND_FORCED:
            return False
        if self.censor_account is None:
            return True
        tx = ltx.decode_tx(raw)
        assert isinstance(tx, ltx.Forced)
        return tx.tx.sender.lower() == self.censor_account.lower()

    def install(self, svc: Any) -> None:
        """Put this fault on a :class:`~offchain.rollup.node.service.NodeService` (its batcher,
        and for ``censor`` its node)."""
        svc.batcher.fault = self
        if self.mode == "censor":
            svc.node.censor = self.censors

    def answers_data_request(self) -> bool:
        """A withholding sequencer never answers; the others post what they published."""
        return self.mode != "withhold"


def _replace(h: BatchHeader, **kw: Any) -> BatchHeader:
    d = h.__dict__ | kw
    return BatchHeader(**d)


def _blobs_hash(h: BatchHeader, blob: bytes) -> bytes:
    """The ``blobs_hash`` a faulty header commits for its data ``blob``: consistent with it
    when the honest header committed blobs (Storage mode), so the fault is in the data."""
    return ZERO32 if h.blobs_hash == ZERO32 else storage_blobs_hash(blob)
