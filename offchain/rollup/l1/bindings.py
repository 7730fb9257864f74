"""Typed bindings to the rollup's L1 contracts: StateCommitment, DA challenge, FraudProver.

Every write goes through a :class:`~offchain.chain.tx.TxSender` (nonces, fee bumping, decoded
custom errors as :class:`~offchain.errors.TxReverted`); every read returns Python types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Protocol

from eth_abi import decode as abi_decode
from eth_utils import to_checksum_address

from offchain.common.hashing import keccak
from offchain.errors import ConfigError
from offchain.rollup.errors import RollupL1Error
from offchain.rollup.ledger.batch import (
    BATCH_DATA_ABI_TYPES,
    HEADER_ABI_TYPE,
    ZERO32,
    BatchDataBlob,
    BatchHeader,
    batch_digest,
)

if TYPE_CHECKING:
    from web3.contract import Contract
    from web3.types import TxReceipt

    from offchain.chain.client import Chain
    from offchain.chain.tx import BlobCarrier, TxSender
    from offchain.deploy import Deployment
    from offchain.rollup.ledger.blob_proof import BlobFaultWitness
    from offchain.rollup.ledger.fraud import FraudWitness, SummaryWitness


#: Gas added to appendBatch's estimate for the reward credit the estimate may not see.
APPEND_REWARD_GAS = 60_000

#: StateCommitment stores the first 26 bytes (208 bits) of each header hash.
HASH_PREFIX_BYTES = 26


class BatchDataLike(Protocol):
    """The batch data blob's four arrays (offchain.rollup.ledger.batch_data.BatchData has them)."""

    @property
    def tx_data(self) -> Sequence[bytes]: ...
    @property
    def fee_recipients(self) -> Sequence[str]: ...
    @property
    def post_roots(self) -> Sequence[bytes]: ...
    @property
    def withdrawal_items(self) -> Sequence[bytes]: ...


@dataclass(frozen=True)
class PostedBatchData(BatchDataBlob):
    """Batch data as posted on L1 in a DA answer (same fields as ledger.BatchData).

    ``encode()`` is the blob: ``abi.encode(bytes[], address[], bytes32[], bytes32[])``.
    """

    tx_data: list[bytes]
    fee_recipients: list[str]
    post_roots: list[bytes]
    withdrawal_items: list[bytes]


class DataMode(IntEnum):
    """``DataMode`` of contracts/rollup/BatchHeader.sol: where batches publish their data."""

    STORAGE = 0
    BLOBS = 1
    CALLDATA = 2

    @classmethod
    def parse(cls, name: str) -> DataMode:
        """``"storage"``, ``"blobs"`` or ``"calldata"``.

        Raises:
            ConfigError: any other name (with the valid ones).
        """
        try:
            return cls[name.strip().upper()]
        except KeyError:
            raise ConfigError(
                f"unknown DA mode {name!r}", "use one of: storage, blobs, calldata"
            ) from None


class BatchStatus(IntEnum):
    """Solidity ``enum BatchStatus`` (contracts/rollup/BatchHeader.sol)."""

    NONE = 0
    PENDING = 1
    FINALIZED = 2
    INVALID = 3


class RequestStatus(IntEnum):
    """Solidity ``DataAvailabilityChallenge.RequestStatus``."""

    NONE = 0
    OPEN = 1
    ANSWERED = 2
    FAILED = 3
    CANCELLED = 4


class AnswerKind(IntEnum):
    """Solidity ``DataAvailabilityChallenge.AnswerKind``: how a header's data was answered."""

    NONE = 0
    BLOBS = 1
    RECOMPUTED = 2


@dataclass(frozen=True)
class BlobAnswerTx:
    """A ``DataBlobsProvided`` event: transaction ``tx_hash`` carried committed blobs
    ``first .. first + count - 1`` of ``total``."""

    tx_hash: bytes
    block_number: int
    first: int
    count: int
    total: int


@dataclass(frozen=True)
class AppendedBatch:
    """A ``BatchAppended`` event (StateCommitment.sol): the header and where it landed."""

    header: BatchHeader
    header_hash: bytes
    sequencer: str
    block_number: int
    tx_hash: bytes


@dataclass(frozen=True)
class DataRequest:
    """A data-availability request (DataAvailabilityChallenge.requests)."""

    verifier: str
    sequencer: str
    deadline: int
    bond: int
    status: RequestStatus
    header_hash: bytes


class RollupL1:
    """The rollup's L1 contracts for one account.

    Args:
        chain: the L1 connection.
        state_commitment: StateCommitment address.
        da_challenge: DataAvailabilityChallenge address (optional).
        fraud_prover: FraudProver address (optional).
        sender: signs writes (reads work without one).
        from_block: first L1 block to scan for events (the deployment block).
    """

    def __init__(
        self,
        chain: Chain,
        state_commitment: str,
        da_challenge: str | None = None,
        fraud_prover: str | None = None,
        sender: TxSender | None = None,
        from_block: int = 0,
    ) -> None:
        self.chain = chain
        self.sc: Contract = chain.contract("StateCommitment", state_commitment)
        self.da: Contract | None = (
            chain.contract("DataAvailabilityChallenge", da_challenge) if da_challenge else None
        )
        self.fp: Contract | None = (
            chain.contract("FraudProver", fraud_prover) if fraud_prover else None
        )
        self.sender = sender
        self.from_block = from_block
        self._chain_id = chain.chain_id
        self._hash_cache: dict[tuple[int, bytes], bytes] = {}

    @classmethod
    def from_deployment(
        cls, chain: Chain, deployment: Deployment, sender: TxSender | None = None
    ) -> RollupL1:
        """Bind a deployment's addresses (state_commitment, da_challenge, fraud_prover)."""
        a = deployment.addresses
        return cls(
            chain,
            a["state_commitment"],
            a.get("da_challenge"),
            a.get("fraud_prover"),
            sender,
            from_block=deployment.block,  # batches and requests come after the deployment
        )

    def with_sender(self, sender: TxSender) -> RollupL1:
        """The same bindings, writing with ``sender``."""
        return RollupL1(
            self.chain,
            self.sc.address,
            self.da.address if self.da else None,
            self.fp.address if self.fp else None,
            sender,
            self.from_block,
        )

    # ---------------------------------------------------------------- helpers
    def _send(self, call: Any, value: int = 0, gas: int | None = None) -> TxReceipt:
        if self.sender is None:
            raise RollupL1Error(
                "this RollupL1 has no sender", "use .with_sender(chain.sender(acct))"
            )
        return self.sender.send(call, value=value, gas=gas)  # type: ignore[return-value]

    def _need_da(self) -> Contract:
        if self.da is None:
            raise RollupL1Error("no DataAvailabilityChallenge address given")
        return self.da

    # ------------------------------------------------------------ batches
    def digest(self, header: BatchHeader, absent: int = 0) -> bytes:
        """What the sequencers sign for ``header`` (computed locally, = batchDigest on chain;
        ``absent``: the absence bitmap, ``batchDigestAbsent``)."""
        return batch_digest(self._chain_id, self.sc.address, header, absent)

    def append_batch(
        self,
        header: BatchHeader,
        signatures: list[bytes],
        blobs: BlobCarrier | None = None,
        frame: bytes | None = None,
        absent: int = 0,
    ) -> TxReceipt:
        """StateCommitment.appendBatch (signatures ordered by ascending signer address).

        Args:
            header: the batch header.
            signatures: co-signatures over the batch digest.
            blobs: Blobs mode: the sidecar carrying the frame (a type-3 transaction).
            frame: Calldata mode: the frame (``appendBatchWithData``).
            absent: the absence bitmap signed with the batch (bit i: member i of
                ``activeSigners()`` took no part in co-signing); not 0: ``appendBatchAbsent`` /
                ``appendBatchWithDataAbsent`` over :meth:`digest` ``(header, absent)``.

        Raises:
            TxReverted: e.g. ``StateCommitmentWrongIndex``, ``StateCommitmentNotCurrentSequencer``,
                ``StateCommitmentMissingBlobs``, ``StateCommitmentDataMismatch``.
        """
        h = header.as_tuple()
        f = self.sc.functions
        if frame is not None:
            call = (
                f.appendBatchWithDataAbsent(h, absent, signatures, frame)
                if absent
                else f.appendBatchWithData(h, signatures, frame)
            )
        else:
            call = (
                f.appendBatchAbsent(h, absent, signatures)
                if absent
                else f.appendBatch(h, signatures)
            )
        if self.sender is None:
            return self._send(call)
        # The estimate runs against the latest block: right after a rotation it rewards 0 L1
        # blocks (no reward credit), while the mined batch, one block later, credits the first
        # reward (SequencerSet.recordBatch -> LockingPool.distributeReward, ~40k gas).
        return self.sender.send(call, blobs=blobs, gas_margin=APPEND_REWARD_GAS)

    def data_mode(self) -> DataMode:
        """Where batches appended now publish their data (``StateCommitment.dataMode``)."""
        return DataMode(int(self.sc.functions.dataMode().call()))

    def set_data_mode(self, mode: DataMode) -> TxReceipt:
        """``StateCommitment.setDataMode`` (owner only)."""
        return self._send(self.sc.functions.setDataMode(int(mode)))

    def next_index(self) -> int:
        """Index the next batch must carry (= number of valid batches)."""
        return int(self.sc.functions.nextIndex().call())

    def last_index(self) -> int:
        """Index of the last valid batch, or -1 when there is none."""
        return self.next_index() - 1

    def batch_status(self, index: int) -> BatchStatus:
        """Status of the batch at ``index``."""
        return BatchStatus(int(self.sc.functions.batchStatus(index).call()))

    def is_finalized(self, index: int) -> bool:
        return bool(self.sc.functions.isFinalized(index).call())

    def finalizes_at(self, index: int) -> int:
        """L1 timestamp at which batch ``index`` leaves its challenge window (0 if unknown)."""
        return int(self.sc.functions.finalizesAt(index).call())

    def stored_header_hash(self, index: int) -> bytes:
        """The full hash of the header stored at ``index`` (zero if none).

        StateCommitment stores a 208-bit prefix; the full hash comes from the newest matching
        ``BatchAppended`` event (cached per index and prefix).
        """
        prefix = bytes(self.sc.functions.storedHeaderPrefix(index).call())
        if prefix == ZERO32:
            return ZERO32
        key = (index, prefix)
        hit = self._hash_cache.get(key)
        if hit is not None:
            return hit
        for ab in reversed(self._appended_at_index(index)):
            if ab.header_hash[:HASH_PREFIX_BYTES] == prefix[:HASH_PREFIX_BYTES]:
                self._hash_cache[key] = ab.header_hash
                return ab.header_hash
        raise RollupL1Error(f"no BatchAppended event matches the batch stored at {index}")

    def header_matches(self, index: int, header_hash: bytes) -> bool:
        """True when ``header_hash`` is the hash of the valid batch at ``index`` (one eth_call)."""
        return bool(self.sc.functions.matchesHeader(index, header_hash).call())

    def batch_sequencer(self, index: int) -> str:
        return str(self.sc.functions.batchSequencer(index).call())

    def challenge_window_s(self) -> int:
        return int(self.sc.functions.challengeWindow().call())

    def appended_batches(
        self, from_block: int | None = None, to_block: int | str = "latest"
    ) -> list[AppendedBatch]:
        """Every ``BatchAppended`` event (StateCommitment.sol) in the block range, in order."""
        logs = self.sc.events.BatchAppended.get_logs(
            from_block=self.from_block if from_block is None else from_block, to_block=to_block
        )
        return [self._appended(lg) for lg in logs]

    def get_header_from_event(self, index: int) -> BatchHeader:
        """The header of the batch at ``index``: from the newest ``BatchAppended`` event for it
        that matches what is stored (a resubmission after invalidation supersedes the old one).

        Raises:
            RollupL1Error: no batch was ever appended at ``index``.
        """
        logs = self._appended_at_index(index)
        if not logs:
            raise RollupL1Error(f"no batch was appended at index {index}")
        prefix = bytes(self.sc.functions.storedHeaderPrefix(index).call())
        for ab in reversed(logs):
            if ab.header_hash[:HASH_PREFIX_BYTES] == prefix[:HASH_PREFIX_BYTES]:
                return ab.header
        return logs[-1].header

    def _appended_at_index(self, index: int) -> list[AppendedBatch]:
        # StateCommitment.sol: event BatchAppended(uint256 indexed index, bytes32 indexed
        # headerHash, address indexed sequencer, BatchHeader header)
        logs = self.sc.events.BatchAppended.get_logs(
            from_block=self.from_block, argument_filters={"index": index}
        )
        return [self._appended(lg) for lg in logs]

    @staticmethod
    def _appended(lg: Any) -> AppendedBatch:
        a = lg["args"]
        return AppendedBatch(
            header=BatchHeader.from_tuple(a["header"]),
            header_hash=bytes(a["headerHash"]),
            sequencer=str(a["sequencer"]),
            block_number=int(lg["blockNumber"]),
            tx_hash=bytes(lg["transactionHash"]),
        )

    # ------------------------------------------------- data availability
    def da_fee_wei(self) -> int:
        """The fixed part of the request bond (``requestFee``)."""
        return int(self._need_da().functions.requestFee().call())

    def da_fee_for(self, tx_count: int) -> int:
        """The bond of a request on a batch of ``tx_count`` transactions (``requestFeeFor``)."""
        return int(self._need_da().functions.requestFeeFor(tx_count).call())

    def request_data(self, header: BatchHeader, fee_wei: int | None = None) -> TxReceipt:
        """DataAvailabilityChallenge.requestData, paying the bond for the batch's size
        (:meth:`da_fee_for`) unless ``fee_wei`` is given.

        Raises:
            TxReverted: e.g. ``DataAvailabilityChallengeBanned``, ``...AlreadyRequested``.
        """
        da = self._need_da()
        fee = self.da_fee_for(header.tx_count) if fee_wei is None else fee_wei
        return self._send(da.functions.requestData(header.as_tuple()), value=fee)

    def provide_data(self, header: BatchHeader, data: BatchDataLike) -> TxReceipt:
        """DataAvailabilityChallenge.provideData: post the batch data (the four arrays of the
        blob: ``tx_data``, ``fee_recipients``, ``post_roots``, ``withdrawal_items``) as calldata.
        A mismatch is not a revert: it punishes the caller (the batch's sequencer).
        """
        return self._send(
            self._need_da().functions.provideData(
                header.as_tuple(),
                list(data.tx_data),
                list(data.fee_recipients),
                list(data.post_roots),
                list(data.withdrawal_items),
            )
        )

    def provide_chunk(self, header: BatchHeader, chunk: int, packed: bytes) -> TxReceipt:
        """DataAvailabilityChallenge.provideChunk: chunk ``chunk`` of the batch data, packed
        (``offchain.rollup.ledger.compact.pack_chunks``). Bad data punishes the caller."""
        return self._send(self._need_da().functions.provideChunk(header.as_tuple(), chunk, packed))

    def chunks_received(self, header: BatchHeader) -> set[int]:
        """Chunk numbers of ``header``'s data already posted (``DataChunkProvided`` events)."""
        # DataAvailabilityChallenge.sol: event DataChunkProvided(uint256 indexed index,
        # bytes32 indexed headerHash, uint256 chunk, uint256 chunks)
        logs = self._need_da().events.DataChunkProvided.get_logs(
            from_block=self.from_block,
            argument_filters={"index": header.index, "headerHash": header.hash()},
        )
        return {int(lg["args"]["chunk"]) for lg in logs}

    def provide_blobs(
        self, header: BatchHeader, versioned_hashes: Sequence[bytes], first: int, blobs: Any
    ) -> TxReceipt:
        """DataAvailabilityChallenge.provideBlobs: a type-3 transaction carrying ``blobs`` (a
        sidecar), which must be committed blobs ``first ..`` of the header's ``blobsHash``
        (``versioned_hashes``: all of them, in order). Wrong blobs revert, punishing no one.

        Raises:
            TxReverted: ``DataAvailabilityChallengeWrongBlob``, ``...BadBlobHashes``,
                ``...BadBlobRange``, ``...NoBlobCommitment``, ``...ChunksRequired``.
        """
        call = self._need_da().functions.provideBlobs(
            header.as_tuple(), [bytes(h) for h in versioned_hashes], first
        )
        return self._send_blobs(call, blobs)

    def _send_blobs(self, call: Any, blobs: Any) -> TxReceipt:
        if self.sender is None:
            return self._send(call)
        return self.sender.send(call, blobs=blobs)

    def answer_kind(self, header: BatchHeader) -> AnswerKind:
        """How ``header``'s data was answered (``DataAvailabilityChallenge.answerKind``)."""
        return AnswerKind(int(self._need_da().functions.answerKind(header.hash()).call()))

    def blobs_received(self, header: BatchHeader) -> set[int]:
        """Committed blob numbers of ``header`` already posted (``blobsReceived`` bits)."""
        bits = int(self._need_da().functions.blobsReceived(header.hash()).call())
        return {b for b in range(bits.bit_length()) if bits >> b & 1}

    def blob_answer_txs(self, header: BatchHeader) -> list[BlobAnswerTx]:
        """The transactions of ``header``'s blob answer (``DataBlobsProvided`` events)."""
        # DataAvailabilityChallenge.sol: event DataBlobsProvided(uint256 indexed index,
        # bytes32 indexed headerHash, uint256 first, uint256 count, uint256 blobs)
        logs = self._need_da().events.DataBlobsProvided.get_logs(
            from_block=self.from_block,
            argument_filters={"index": header.index, "headerHash": header.hash()},
        )
        return [
            BlobAnswerTx(
                bytes(lg["transactionHash"]),
                int(lg["blockNumber"]),
                int(lg["args"]["first"]),
                int(lg["args"]["count"]),
                int(lg["args"]["blobs"]),
            )
            for lg in logs
        ]

    def resolve_timeout(self, index: int, gas: int | None = None) -> TxReceipt:
        """DataAvailabilityChallenge.resolveTimeout after the request's deadline.

        Args:
            index: the batch index of the request.
            gas: a gas limit to send without estimating (``None``: estimate), for an idle L1
                whose latest block still sees the request open (see ``L1Clock.stale_for``).
        """
        return self._send(self._need_da().functions.resolveTimeout(index), gas=gas)

    def cancel_stale_request(self, index: int) -> TxReceipt:
        """DataAvailabilityChallenge.cancelStaleRequest (batch invalidated by other means)."""
        return self._send(self._need_da().functions.cancelStaleRequest(index))

    def ban_verifier(self, verifier: str) -> TxReceipt:
        """DataAvailabilityChallenge.banVerifier (owner = governance): open requests' bonds go
        to the requested batches' sequencers."""
        return self._send(self._need_da().functions.banVerifier(verifier))

    def data_request(self, index: int) -> DataRequest:
        """The current request on ``index`` (status NONE if never requested)."""
        # (verifier, deadline, status, sequencer, bond, headerHash)
        r = self._need_da().functions.requests(index).call()
        return DataRequest(
            str(r[0]), str(r[3]), int(r[1]), int(r[4]), RequestStatus(int(r[2])), bytes(r[5])
        )

    def provided_data(self, index: int) -> PostedBatchData:
        """The batch data a sequencer posted for ``index`` (read back from the provideData
        calldata, located by the ``DataProvided`` event of DataAvailabilityChallenge.sol).

        Raises:
            RollupL1Error: no data was provided for ``index``.
        """
        da = self._need_da()
        logs = da.events.DataProvided.get_logs(
            from_block=self.from_block, argument_filters={"index": index}
        )
        if not logs:
            raise RollupL1Error(f"no data was provided on L1 for batch {index}")
        tx = self.chain.w3.eth.get_transaction(logs[-1]["transactionHash"])
        data = bytes(tx["input"])
        fn, args = da.decode_function_input(data)
        if fn.fn_name == "provideChunk":
            return self._chunked_data(BatchHeader.from_tuple(args["header"]))
        if fn.fn_name == "provideBlobs":
            from offchain.rollup.ledger.batch_data import decode_batch_data
            from offchain.rollup.verifier.sources import answered_frame

            frame = answered_frame(self, BatchHeader.from_tuple(args["header"]))
            if frame is None:
                raise RollupL1Error(f"the blobs answered for batch {index} are not served")
            d = decode_batch_data(frame)
            return PostedBatchData(d.tx_data, d.fee_recipients, d.post_roots, d.withdrawal_items)
        _, txs, fees, roots, items = abi_decode([HEADER_ABI_TYPE, *BATCH_DATA_ABI_TYPES], data[4:])
        return PostedBatchData(
            [bytes(t) for t in txs],
            [to_checksum_address(f) for f in fees],
            [bytes(r) for r in roots],
            [bytes(w) for w in items],
        )

    def _chunked_data(self, header: BatchHeader) -> PostedBatchData:
        """The data of a chunked answer: each ``DataChunkProvided`` call's packed chunk."""
        from offchain.rollup.ledger.compact import unpack_chunks

        da = self._need_da()
        logs = da.events.DataChunkProvided.get_logs(
            from_block=self.from_block,
            argument_filters={"index": header.index, "headerHash": header.hash()},
        )
        chunks: dict[int, bytes] = {}
        for lg in logs:
            tx = self.chain.w3.eth.get_transaction(lg["transactionHash"])
            _fn, args = da.decode_function_input(tx["input"])
            chunks[int(args["chunk"])] = bytes(args["packed"])
        p = unpack_chunks([chunks[j] for j in sorted(chunks)])
        return PostedBatchData(
            list(p.tx_data),
            [to_checksum_address(f) for f in p.fee_recipients],
            list(p.post_roots),
            list(p.withdrawal_items),
        )

    # -------------------------------------------------------------- fraud
    def _need_fp(self) -> Contract:
        if self.fp is None:
            raise RollupL1Error("no FraudProver address given")
        return self.fp

    def _fraud_call(
        self, witness: FraudWitness | SummaryWitness | BlobFaultWitness
    ) -> tuple[str, list[Any]]:
        """The proof function and its arguments, naming this sender as the challenger."""
        if self.sender is None:
            raise RollupL1Error(
                "this RollupL1 has no sender", "use .with_sender(chain.sender(acct))"
            )
        from offchain.rollup.ledger.blob_proof import BlobFaultWitness  # runtime: no cycle
        from offchain.rollup.ledger.fraud import FraudWitness

        if isinstance(witness, BlobFaultWitness):
            fn = "proveBlobFault"
        else:
            fn = "proveFraud" if isinstance(witness, FraudWitness) else "proveBadSummary"
        return fn, [*witness.as_args(), self.sender.address]

    def fraud_commitment(self, witness: FraudWitness | SummaryWitness | BlobFaultWitness) -> bytes:
        """``keccak256`` of the proof call's calldata, this sender named as the challenger
        (what ``FraudProver.commit`` takes; docs/spec.md, "Fraud proofs")."""
        fn, args = self._fraud_call(witness)
        return keccak(bytes.fromhex(self._need_fp().encode_abi(fn, args=args)[2:]))

    def commit_fraud_proof(
        self, witness: FraudWitness | SummaryWitness | BlobFaultWitness
    ) -> TxReceipt | None:
        """``FraudProver.commit`` for the proof call (binds the challenger's reward to this
        sender before the proof is public). None if it was committed already."""
        fp = self._need_fp()
        c = self.fraud_commitment(witness)
        if int(fp.functions.committedAt(c).call()) != 0:
            return None
        return self._send(fp.functions.commit(c))

    def _prove(
        self, witness: FraudWitness | SummaryWitness | BlobFaultWitness, commit: bool
    ) -> TxReceipt:
        fp = self._need_fp()
        if commit:
            self.commit_fraud_proof(witness)  # mined before the proof: an earlier block
        fn, args = self._fraud_call(witness)
        return self._send(getattr(fp.functions, fn)(*args))

    def prove_fraud(self, witness: FraudWitness, commit: bool = True) -> TxReceipt:
        """FraudProver.proveFraud with a step witness (see offchain/rollup/ledger/fraud.py).
        Commits to the call first (unless ``commit`` is false or it is committed already), so
        the reward is this sender's even if the proof is copied from the mempool.

        Raises:
            TxReverted: ``FraudProverNoFraud`` when the step was executed correctly, and the
                other ``FraudProver*`` errors for malformed witnesses or a closed window.
        """
        return self._prove(witness, commit)

    def prove_blob_fault(self, witness: BlobFaultWitness, commit: bool = True) -> TxReceipt:
        """FraudProver.proveBlobFault: the batch's blobs do not decode (docs/spec.md,
        "Blob-mode faults"; ``offchain.rollup.ledger.blob_proof.fault_openings``). Commits
        first, as :meth:`prove_fraud`.

        Raises:
            TxReverted: ``FraudProverNoFraud`` when the openings show no fault,
                ``FraudProverBadBlobHashes`` / ``FraudProverBadBlobOpening`` for a wrong witness.
        """
        return self._prove(witness, commit)

    def prove_bad_summary(self, witness: SummaryWitness, commit: bool = True) -> TxReceipt:
        """FraudProver.proveBadSummary: the header's final root or deposit count is not its
        last MTSR leaf's. Commits first, as :meth:`prove_fraud`.

        Raises:
            TxReverted: ``FraudProverNoFraud`` when the summary is right.
        """
        return self._prove(witness, commit)
