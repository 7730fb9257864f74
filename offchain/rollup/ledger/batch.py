"""The batch header as committed to L1: twin of ``contracts/rollup/BatchHeader.sol``.

:class:`BatchHeader` abi-encodes exactly like the Solidity struct (same field order, every
field one 32-byte word), so ``header.hash()`` equals ``keccak256(abi.encode(header))`` on chain,
and :func:`batch_digest` is what the active sequencers sign (docs/spec.md, "Rollup batches").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass, fields
from typing import Any

from coincurve import PrivateKey, PublicKey
from eth_abi import encode as abi_encode
from eth_utils import to_checksum_address

from offchain.common.hashing import keccak
from offchain.errors import ConfigError
from offchain.rollup.ledger.compact import PackedBatch, compress, pack

# Solidity: struct BatchHeader {uint64 index; ... bytes32 dataHash; bytes32 blobsHash}
# (rollup/BatchHeader.sol)
HEADER_ABI_TYPE = (
    "(uint64,uint64,uint64,uint64,uint64,bytes32,bytes32,bytes32,bytes32,bytes32,bytes32,bytes32)"
)
ZERO32 = b"\x00" * 32
_UINT64_MAX = 2**64 - 1
# The four arrays as abi.encode(bytes[] txs, address[] feeRecipients, bytes32[] postStateRoots,
# bytes32[] withdrawalItems): the calldata of a DA answer (docs/spec.md, "batch data").
BATCH_DATA_ABI_TYPES = ["bytes[]", "address[]", "bytes32[]", "bytes32[]"]


class BatchDataBlob:
    """``encode()`` and ``data_hash`` of the batch data frame, for a class with its four arrays
    (``ledger.BatchData`` built locally, ``l1.PostedBatchData`` read back from L1)."""

    tx_data: Sequence[bytes]
    fee_recipients: Sequence[str]
    post_roots: Sequence[bytes]
    withdrawal_items: Sequence[bytes]

    def packed_batch(self) -> PackedBatch:
        """The four arrays with fee recipients as 20 raw bytes."""
        return PackedBatch(
            self.tx_data,
            [bytes.fromhex(f[2:]) for f in self.fee_recipients],
            self.post_roots,
            self.withdrawal_items,
        )

    def packed(self) -> bytes:
        """The packed (uncompressed) compact encoding (docs/spec.md, "Compact batch data")."""
        return pack(self.packed_batch())

    def encode(self) -> bytes:
        """The batch data frame: ``0x01 ‖ zstd(packed)`` (blob store, blobs, snapshots)."""
        return compress(self.packed())

    def abi_encode(self) -> bytes:
        """``abi.encode(bytes[] txs, address[] feeRecipients, bytes32[] postStateRoots,
        bytes32[] withdrawalItems)`` (the arrays of a DA answer)."""
        return abi_encode(
            BATCH_DATA_ABI_TYPES,
            [self.tx_data, self.fee_recipients, self.post_roots, self.withdrawal_items],
        )

    @property
    def data_hash(self) -> bytes:
        """keccak256 of the frame (the header's ``data_hash``, the blob-store key)."""
        return keccak(self.encode())


@dataclass(frozen=True)
class BatchHeader:
    """One batch header (units: counts and block numbers; roots and hashes are 32 bytes).

    Attributes:
        index: position in the chain of batches.
        first_block: number of the first L2 block in the batch.
        l2_blocks: number of L2 blocks in the batch.
        tx_count: number of transactions (leaves of the three per-transaction trees).
        deposit_count: bridge deposits consumed by the L2 after this batch.
        deposit_hash: the bridge's rolling hash after ``deposit_count`` deposits.
        tx_root: MTTBR (leaf i = keccak256(encoded tx i)).
        state_roots_root: MTSR (leaf i = state root after tx i).
        final_state_root: state root after the last transaction.
        withdrawal_root: root over per-transaction withdrawal items (zero for non-withdrawals).
        data_hash: the data commitment of the header's mode (docs/spec.md, "Data availability
            modes"): keccak256 of the frame (its blob-store key), or of the blobs' versioned
            hashes in Blobs mode.
        blobs_hash: Storage mode: keccak256 of the versioned hashes of the blobs that carry the
            frame (posted only in a data-availability answer); zero otherwise.
    """

    index: int
    first_block: int
    l2_blocks: int
    tx_count: int
    deposit_count: int
    deposit_hash: bytes
    tx_root: bytes
    state_roots_root: bytes
    final_state_root: bytes
    withdrawal_root: bytes
    data_hash: bytes
    blobs_hash: bytes = ZERO32

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type == "int":
                if not isinstance(v, int) or not 0 <= v <= _UINT64_MAX:
                    raise ConfigError(f"batch header field {f.name}={v!r} is not a uint64")
            elif not isinstance(v, bytes | bytearray) or len(v) != 32:
                raise ConfigError(f"batch header field {f.name} must be 32 bytes, got {v!r}")

    def as_tuple(self) -> tuple[Any, ...]:
        """The header as the tuple web3.py passes for the Solidity struct."""
        return tuple(bytes(v) if isinstance(v, bytearray) else v for v in astuple(self))

    def encode(self) -> bytes:
        """``abi.encode(header)`` (12 words)."""
        return abi_encode([HEADER_ABI_TYPE], [self.as_tuple()])

    def hash(self) -> bytes:
        """``keccak256(abi.encode(header))``: what StateCommitment stores."""
        return keccak(self.encode())

    def to_json(self) -> dict[str, Any]:
        """JSON-friendly dict (hashes as 0x-hex)."""
        return {
            f.name: ("0x" + v.hex()) if isinstance(v, bytes) else v
            for f, v in zip(fields(self), astuple(self), strict=True)
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BatchHeader:
        """Inverse of :meth:`to_json` (a record without ``blobs_hash``, written before the
        field existed, reads as zero)."""
        kw: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data and f.name == "blobs_hash":
                continue
            v = data[f.name]
            kw[f.name] = bytes.fromhex(v.removeprefix("0x")) if isinstance(v, str) else v
        return cls(**kw)

    @classmethod
    def from_tuple(cls, t: Sequence[Any] | Mapping[str, Any]) -> BatchHeader:
        """From web3.py's decoding of the struct (a tuple, or a dict keyed by Solidity names)."""
        if isinstance(t, Mapping):
            t = [t[n] for n in _SOL_NAMES]
        values: list[Any] = [bytes(v) if isinstance(v, bytes | bytearray) else int(v) for v in t]
        return cls(*values)


_SOL_NAMES = (
    "index",
    "firstBlock",
    "l2Blocks",
    "txCount",
    "depositCount",
    "depositHash",
    "txRoot",
    "stateRootsRoot",
    "finalStateRoot",
    "withdrawalRoot",
    "dataHash",
    "blobsHash",
)


def batch_digest(
    chain_id: int, state_commitment: str, header: BatchHeader, absent: int = 0
) -> bytes:
    """The digest the sequencers sign for ``header`` (StateCommitment.batchDigest, or
    batchDigestAbsent with the absence bitmap ``absent``).

    ``keccak256(abi.encode(chainid, stateCommitment, index, keccak256(abi.encode(header))))``,
    with ``absent`` appended to the encoding when it is not 0.
    """
    types = ["uint256", "address", "uint256", "bytes32"]
    values: list[object] = [
        chain_id,
        to_checksum_address(state_commitment),
        header.index,
        header.hash(),
    ]
    if absent:
        types.append("uint256")
        values.append(absent)
    return keccak(abi_encode(types, values))


def sign_digest(private_key: bytes, digest: bytes) -> bytes:
    """65-byte ECDSA signature ``r ‖ s ‖ v`` (v = 27/28) over ``digest``, no message prefix."""
    sig = PrivateKey(private_key).sign_recoverable(digest, hasher=None)
    return sig[:64] + bytes([sig[64] + 27])


def recover_signer(digest: bytes, signature: bytes) -> str:
    """The checksummed address that produced ``signature`` over ``digest``."""
    if len(signature) != 65:
        raise ConfigError(f"a signature is 65 bytes, got {len(signature)}")
    v = signature[64] - 27 if signature[64] >= 27 else signature[64]
    pub = PublicKey.from_signature_and_message(signature[:64] + bytes([v]), digest, hasher=None)
    return to_checksum_address(keccak(pub.format(compressed=False)[1:])[-20:])


def order_signatures(digest: bytes, signatures: Iterable[bytes]) -> list[bytes]:
    """Signatures sorted by strictly ascending signer address (what verifyBatchSignatures wants).

    Raises:
        ConfigError: two signatures from the same signer.
    """
    keyed = sorted((int(recover_signer(digest, s), 16), s) for s in signatures)
    for (a, _), (b, _) in zip(keyed, keyed[1:], strict=False):
        if a == b:
            raise ConfigError(f"two signatures from signer {a:#042x}")
    return [s for _, s in keyed]
