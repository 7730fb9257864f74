"""L2 blocks: header, hash, producer signature (docs/spec.md, "## L2 blocks").

A block is a run of executed transactions (deposits included) sealed by the current
sequencer. Its header commits to the parent, the transactions (Merkle root over the
transactions' leaf hashes, in execution order), the post-state root and the next L1
deposit id; the producer signs the header hash with its signer key (secp256k1, no
prefix, 65 bytes ``r ‖ s ‖ v`` with ``v`` in {27, 28}).

Peers re-execute the transactions and accept the block only when the signature
recovers to an allowed producer and their own state root equals the header's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from coincurve import PrivateKey, PublicKey

from offchain.common.hashing import keccak

ZERO32 = b"\x00" * 32
# Domain tag, so a block signature can never be replayed as a batch co-signature.
BLOCK_TAG = keccak(b"l2kit.L2Block.v1")


@dataclass(frozen=True)
class BlockHeader:
    """The signed part of a block.

    Attributes:
        number: height (genesis is block 0, never produced; the first block is 1).
        parent_hash: hash of block ``number - 1`` (zero for block 1).
        timestamp_ms: producer's wall clock when sealing.
        tx_root: Merkle root over the transactions' leaf hashes (execution order).
        state_root: L2 state root after the last transaction.
        tx_count: number of transactions.
        next_deposit_id: id of the first L1 deposit not yet included after this block.
        producer: checksum-free lower-case hex address of the signer.
    """

    number: int
    parent_hash: bytes
    timestamp_ms: int
    tx_root: bytes
    state_root: bytes
    tx_count: int
    next_deposit_id: int
    producer: str

    def encode(self) -> bytes:
        """Canonical fixed-width encoding hashed by :meth:`hash`."""
        return (
            BLOCK_TAG
            + self.number.to_bytes(32, "big")
            + self.parent_hash
            + self.timestamp_ms.to_bytes(32, "big")
            + self.tx_root
            + self.state_root
            + self.tx_count.to_bytes(32, "big")
            + self.next_deposit_id.to_bytes(32, "big")
            + bytes.fromhex(self.producer.removeprefix("0x")).rjust(32, b"\x00")
        )

    def hash(self) -> bytes:
        """keccak256 of :meth:`encode`: what the producer signs."""
        return keccak(self.encode())

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "parentHash": "0x" + self.parent_hash.hex(),
            "timestampMs": self.timestamp_ms,
            "txRoot": "0x" + self.tx_root.hex(),
            "stateRoot": "0x" + self.state_root.hex(),
            "txCount": self.tx_count,
            "nextDepositId": self.next_deposit_id,
            "producer": self.producer,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> BlockHeader:
        """Parse :meth:`to_json` output.

        Raises:
            ValueError: a field is missing or malformed.
        """
        if not isinstance(d, dict):
            raise ValueError("a block header must be a JSON object")
        try:
            return cls(
                number=_uint(d["number"], "number", 63),
                parent_hash=_b32(d["parentHash"]),
                timestamp_ms=_uint(d["timestampMs"], "timestampMs", 63),
                tx_root=_b32(d["txRoot"]),
                state_root=_b32(d["stateRoot"]),
                tx_count=_uint(d["txCount"], "txCount", 63),
                next_deposit_id=_uint(d["nextDepositId"], "nextDepositId", 63),
                producer="0x" + _hex(d["producer"], 20).hex(),
            )
        except (KeyError, TypeError) as e:
            raise ValueError(f"malformed block header: {e}") from None


@dataclass
class Block:
    """A header, its transactions (encoded) and the producer's signature."""

    header: BlockHeader
    txs: list[bytes]
    signature: bytes = b""
    tx_hashes: list[bytes] = field(default_factory=list)

    @property
    def number(self) -> int:
        return self.header.number

    def hash(self) -> bytes:
        return self.header.hash()

    def to_json(self, full: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "hash": "0x" + self.hash().hex(),
            "header": self.header.to_json(),
            "signature": "0x" + self.signature.hex(),
            "txHashes": ["0x" + h.hex() for h in self.tx_hashes],
        }
        if full:
            out["txs"] = ["0x" + t.hex() for t in self.txs]
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Block:
        """Parse a block as sent between peers.

        Raises:
            ValueError: malformed block.
        """
        if not isinstance(d, dict):
            raise ValueError("a block must be a JSON object")
        header = BlockHeader.from_json(d.get("header", {}))
        txs = d.get("txs")
        if not isinstance(txs, list):
            raise ValueError("block.txs must be a list of hex strings")
        return cls(
            header=header,
            txs=[_hex(t) for t in txs],
            signature=_hex(d.get("signature", "0x")),
        )


def _uint(v: Any, what: str, bits: int) -> int:
    """A JSON integer in ``[0, 2**bits)`` (not a bool, a float or a string)."""
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**bits:
        raise ValueError(f"{what} must be an integer in [0, 2^{bits}), got {v!r:.40}")
    return v


def _hex(v: Any, size: int | None = None) -> bytes:
    if not isinstance(v, str) or not v.startswith("0x"):
        raise ValueError(f"expected a 0x-prefixed hex string, got {v!r:.40}")
    try:
        b = bytes.fromhex(v[2:])
    except ValueError:
        raise ValueError(f"invalid hex {v!r:.40}") from None
    if size is not None and len(b) != size:
        raise ValueError(f"expected {size} bytes, got {len(b)}")
    return b


def _b32(v: Any) -> bytes:
    b = _hex(v)
    if len(b) != 32:
        raise ValueError(f"expected 32 bytes, got {len(b)}")
    return b


def address_of(public_key: PublicKey) -> str:
    """Lower-case 0x address of a secp256k1 public key."""
    return "0x" + keccak(public_key.format(compressed=False)[1:])[-20:].hex()


def sign_hash(private_key: bytes, digest: bytes) -> bytes:
    """65-byte ``r ‖ s ‖ v`` (v = 27/28) signature of a 32-byte digest, no prefix."""
    sig = PrivateKey(private_key).sign_recoverable(digest, hasher=None)
    return sig[:64] + bytes([sig[64] + 27])


def recover(digest: bytes, signature: bytes) -> str | None:
    """Signer address of ``signature`` over ``digest``, or None when it is not a valid one."""
    if len(signature) != 65 or signature[64] not in (27, 28):
        return None
    try:
        pub = PublicKey.from_signature_and_message(
            signature[:64] + bytes([signature[64] - 27]), digest, hasher=None
        )
    except Exception:  # noqa: BLE001 - any decoding failure means "not a signature"
        return None
    return address_of(pub)


def sign_block(header: BlockHeader, private_key: bytes, txs: list[bytes]) -> Block:
    """A :class:`Block` for ``header`` signed with ``private_key``."""
    return Block(header=header, txs=txs, signature=sign_hash(private_key, header.hash()))
