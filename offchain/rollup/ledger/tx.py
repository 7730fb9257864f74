"""L2 transactions: Deposit, Transfer, Withdraw, standard Ethereum transactions, Forced;
canonical encoding, hashes, EIP-712 signing.

Twin of the decoding and signature checks in ``contracts/rollup/L2StateTransition.sol``;
the rules are in docs/spec.md ("L2 ledger", "Transactions and encodings").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from coincurve import PrivateKey, PublicKey

from offchain.common.eip712 import domain_type
from offchain.common.hashing import eip55, keccak
from offchain.rollup.errors import TxRejected
from offchain.rollup.ledger.ethtx import KIND_STANDARD, StandardTx, parse_standard_tx

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

#: Default L2 chain id (EIP-712 domain ``chainId``, standard transactions' chain id); 901 is
#: the OP Stack devnet's, 71049 no well-known network's.
DEFAULT_L2_CHAIN_ID = 71049
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
#: ETH is the token ``address(0)``; any other token is the L1 ERC20 address.
ETH = ZERO_ADDRESS

KIND_DEPOSIT = 0
KIND_TRANSFER = 1
KIND_WITHDRAW = 2
#: 0x03 is reserved for standard Ethereum transactions.
KIND_FORCED = 4
DEPOSIT_LEN = 1 + 5 * 32
USER_TX_LEN = 1 + 9 * 32
FORCED_LEN = 1 + 32 + USER_TX_LEN

UINT256_MAX = (1 << 256) - 1
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECP256K1_HALF_N = SECP256K1_N // 2

DOMAIN_TYPEHASH = keccak(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
TRANSFER_TYPEHASH = keccak(
    b"Transfer(address from,address to,address token,uint256 amount,uint256 fee,uint256 nonce)"
)
WITHDRAW_TYPEHASH = keccak(
    b"Withdraw(address from,address l1Recipient,address token,uint256 amount,uint256 fee,"
    b"uint256 nonce)"
)
DOMAIN_NAME = "l2kit"
DOMAIN_VERSION = "1"

_HIGH12 = b"\x00" * 12


def to_checksum(addr: str | bytes) -> str:
    """EIP-55 checksummed form of a 20-byte address (hex string or raw bytes).

    Raises:
        TxRejected: ``malformed`` if it is not a 20-byte address.
    """
    raw = addr if isinstance(addr, bytes) else _addr_bytes(addr)
    if len(raw) != 20:
        raise TxRejected("malformed", f"address must be 20 bytes, got {len(raw)}")
    return eip55(raw)


def _addr_bytes(addr: str) -> bytes:
    if not isinstance(addr, str) or len(addr) != 42 or addr[:2] not in ("0x", "0X"):
        raise TxRejected("malformed", f"not a 0x-prefixed 20-byte hex address: {addr!r}")
    try:
        return bytes.fromhex(addr[2:])
    except ValueError:
        raise TxRejected("malformed", f"not a hex address: {addr!r}") from None


def addr_word(addr: str) -> bytes:
    """The 32-byte ``abi.encode`` word of an address given as a hex string."""
    return _HIGH12 + bytes.fromhex(addr[2:])


def _u256(x: int, what: str) -> bytes:
    if not isinstance(x, int) or isinstance(x, bool) or not 0 <= x <= UINT256_MAX:
        raise TxRejected("malformed", f"{what} must be a uint256, got {x!r}")
    return x.to_bytes(32, "big")


@dataclass(frozen=True)
class Domain:
    """EIP-712 domain of the L2: name "l2kit", version "1", the L2 chain id and the L1
    StateCommitment address (``verifying_contract``)."""

    chain_id: int = DEFAULT_L2_CHAIN_ID
    verifying_contract: str = ZERO_ADDRESS

    @property
    def separator(self) -> bytes:
        """``domainSeparator`` (32 bytes)."""
        return keccak(
            DOMAIN_TYPEHASH
            + keccak(DOMAIN_NAME.encode())
            + keccak(DOMAIN_VERSION.encode())
            + self.chain_id.to_bytes(32, "big")
            + addr_word(self.verifying_contract)
        )


@dataclass(frozen=True)
class Deposit:
    """System transaction from the L1 bridge queue (applied in deposit-id order, none skipped).

    Attributes:
        deposit_id: the L1 bridge queue position (0, 1, 2, ...).
        l1_sender: who deposited on L1.
        recipient: the L2 account credited.
        token: L1 token address (``ETH`` = address(0)).
        amount: amount credited.
    """

    deposit_id: int
    l1_sender: str
    recipient: str
    token: str
    amount: int


@dataclass(frozen=True)
class Transfer:
    """User transfer on L2 (EIP-712 signed by ``sender``); ``signature`` is ``r ‖ s ‖ v``."""

    sender: str
    to: str
    token: str
    amount: int
    fee: int
    nonce: int
    signature: bytes


@dataclass(frozen=True)
class Withdraw:
    """User withdrawal to L1 (EIP-712 signed by ``sender``); ``signature`` is ``r ‖ s ‖ v``."""

    sender: str
    l1_recipient: str
    token: str
    amount: int
    fee: int
    nonce: int
    signature: bytes


UserTx = Transfer | Withdraw


@dataclass(frozen=True)
class Forced:
    """A user transaction forced through the L1 queue (``L1Bridge.forceTx``): executed at queue
    position ``queue_id`` (it consumes it like a deposit); an invalid ``tx`` gets a failed
    receipt and changes nothing else (docs/spec.md, "Forced inclusion").

    Attributes:
        queue_id: the L1 bridge queue position.
        tx: the signed Transfer or Withdraw posted on L1.
    """

    queue_id: int
    tx: UserTx


L2Tx = Transfer | Withdraw | Deposit | StandardTx | Forced


# --------------------------------------------------------------------------- EIP-712


def struct_hash(tx: UserTx) -> bytes:
    """EIP-712 ``hashStruct`` of a Transfer or Withdraw."""
    if isinstance(tx, Transfer):
        typehash, dest = TRANSFER_TYPEHASH, tx.to
    else:
        typehash, dest = WITHDRAW_TYPEHASH, tx.l1_recipient
    return keccak(
        typehash
        + addr_word(tx.sender)
        + addr_word(dest)
        + addr_word(tx.token)
        + _u256(tx.amount, "amount")
        + _u256(tx.fee, "fee")
        + _u256(tx.nonce, "nonce")
    )


def signing_digest(tx: UserTx, domain: Domain, separator: bytes | None = None) -> bytes:
    """The EIP-712 digest ``keccak(0x1901 ‖ domainSeparator ‖ structHash)`` a wallet signs.

    Args:
        tx: the transaction (its signature is ignored).
        domain: the L2 domain.
        separator: ``domain.separator`` if already computed (hot path).
    """
    sep = separator if separator is not None else domain.separator
    return keccak(b"\x19\x01" + sep + struct_hash(tx))


def typed_data(tx: UserTx, domain: Domain) -> dict[str, Any]:
    """The ``eth_signTypedData_v4`` payload of ``tx`` (for wallets and eth_account)."""
    kind = "Transfer" if isinstance(tx, Transfer) else "Withdraw"
    dest_name = "to" if isinstance(tx, Transfer) else "l1Recipient"
    dest = tx.to if isinstance(tx, Transfer) else tx.l1_recipient
    return {
        "types": {
            "EIP712Domain": domain_type(),
            kind: [
                {"name": "from", "type": "address"},
                {"name": dest_name, "type": "address"},
                {"name": "token", "type": "address"},
                {"name": "amount", "type": "uint256"},
                {"name": "fee", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
            ],
        },
        "primaryType": kind,
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": domain.chain_id,
            "verifyingContract": domain.verifying_contract,
        },
        "message": {
            "from": tx.sender,
            dest_name: dest,
            "token": tx.token,
            "amount": tx.amount,
            "fee": tx.fee,
            "nonce": tx.nonce,
        },
    }


def _sign(key: bytes, digest: bytes) -> bytes:
    sig = PrivateKey(key).sign_recoverable(digest, hasher=None)  # r ‖ s ‖ recid, low-s
    return sig[:64] + bytes([sig[64] + 27])


def _key_of(account: LocalAccount | bytes) -> bytes:
    return account if isinstance(account, bytes) else bytes(account.key)


def _address_of(account: LocalAccount | bytes) -> str:
    if isinstance(account, bytes):
        return address_of_key(account)
    return to_checksum(account.address)


def address_of_key(key: bytes) -> str:
    """Checksummed address of a 32-byte private key."""
    pub = PrivateKey(key).public_key.format(compressed=False)[1:]
    return to_checksum(keccak(pub)[12:])


def sign_transfer(
    account: LocalAccount | bytes,
    domain: Domain,
    to: str,
    token: str,
    amount: int,
    fee: int,
    nonce: int,
) -> Transfer:
    """A Transfer from ``account`` signed with EIP-712 under ``domain``.

    Args:
        account: an eth_account ``LocalAccount`` or a raw 32-byte private key.
        domain: the L2 domain (chain id, StateCommitment address).
        to, token, amount, fee, nonce: the transfer fields (``token`` = L1 address, ETH = 0x0).

    Returns:
        The signed Transfer.
    """
    unsigned = Transfer(
        _address_of(account), to_checksum(to), to_checksum(token), amount, fee, nonce, b""
    )
    sig = _sign(_key_of(account), signing_digest(unsigned, domain))
    return Transfer(unsigned.sender, unsigned.to, unsigned.token, amount, fee, nonce, sig)


def sign_withdraw(
    account: LocalAccount | bytes,
    domain: Domain,
    l1_recipient: str,
    token: str,
    amount: int,
    fee: int,
    nonce: int,
) -> Withdraw:
    """A Withdraw from ``account`` to ``l1_recipient`` on L1, signed with EIP-712."""
    unsigned = Withdraw(
        _address_of(account),
        to_checksum(l1_recipient),
        to_checksum(token),
        amount,
        fee,
        nonce,
        b"",
    )
    sig = _sign(_key_of(account), signing_digest(unsigned, domain))
    return Withdraw(unsigned.sender, unsigned.l1_recipient, unsigned.token, amount, fee, nonce, sig)


def recover_signer(tx: UserTx, domain: Domain, separator: bytes | None = None) -> str | None:
    """The address that signed ``tx`` under ``domain``, or None if the signature is invalid.

    Matches OpenZeppelin ``ECDSA.tryRecover``: 65 bytes, ``v`` in {27, 28}, ``0 < r < n``,
    ``0 < s <= n/2``.
    """
    raw = recover_signer_bytes(tx, domain, separator)
    return to_checksum(raw) if raw is not None else None


def recover_signer_bytes(
    tx: UserTx, domain: Domain, separator: bytes | None = None
) -> bytes | None:
    """Like :func:`recover_signer` but returns the raw 20 bytes (hot path)."""
    sig = tx.signature
    if len(sig) != 65 or sig[64] not in (27, 28):
        return None
    r = int.from_bytes(sig[:32], "big")
    s = int.from_bytes(sig[32:64], "big")
    if not (0 < r < SECP256K1_N and 0 < s <= SECP256K1_HALF_N):
        return None
    digest = signing_digest(tx, domain, separator)
    try:
        pub = PublicKey.from_signature_and_message(
            sig[:64] + bytes([sig[64] - 27]), digest, hasher=None
        )
    except Exception:  # coincurve raises ValueError/Exception on an unrecoverable signature
        return None
    return keccak(pub.format(compressed=False)[1:])[12:]


# --------------------------------------------------------------------------- encoding


def encode_tx(tx: L2Tx) -> bytes:
    """Canonical encoding: kind byte ‖ ``abi.encode`` of the tx tuple (docs/spec.md).

    Raises:
        TxRejected: ``malformed`` if a field is out of range (bad address, negative amount,
            signature not 65 bytes).
    """
    if isinstance(tx, Deposit):
        return (
            b"\x00"
            + _u256(tx.deposit_id, "deposit_id")
            + _HIGH12
            + _addr_bytes(tx.l1_sender)
            + _HIGH12
            + _addr_bytes(tx.recipient)
            + _HIGH12
            + _addr_bytes(tx.token)
            + _u256(tx.amount, "amount")
        )
    if isinstance(tx, StandardTx):
        return b"\x03" + tx.raw
    if isinstance(tx, Forced):
        if not isinstance(tx.tx, Transfer | Withdraw):
            raise TxRejected("malformed", "a forced transaction wraps a Transfer or Withdraw")
        return b"\x04" + _u256(tx.queue_id, "queue_id") + encode_tx(tx.tx)
    if isinstance(tx, Transfer):
        kind, dest = b"\x01", tx.to
    elif isinstance(tx, Withdraw):
        kind, dest = b"\x02", tx.l1_recipient
    else:
        raise TxRejected("malformed", f"not an L2 transaction: {type(tx).__name__}")
    sig = tx.signature
    if not isinstance(sig, bytes) or len(sig) != 65:
        raise TxRejected("malformed", "signature must be 65 bytes (r ‖ s ‖ v)")
    return (
        kind
        + _HIGH12
        + _addr_bytes(tx.sender)
        + _HIGH12
        + _addr_bytes(dest)
        + _HIGH12
        + _addr_bytes(tx.token)
        + _u256(tx.amount, "amount")
        + _u256(tx.fee, "fee")
        + _u256(tx.nonce, "nonce")
        + b"\x00" * 31
        + sig[64:65]
        + sig[:64]
    )


def _word_addr(data: bytes, off: int, what: str) -> str:
    if data[off : off + 12] != _HIGH12:
        raise TxRejected("malformed", f"{what} word has nonzero high bytes")
    return to_checksum(data[off + 12 : off + 32])


def _word_int(data: bytes, off: int) -> int:
    return int.from_bytes(data[off : off + 32], "big")


def decode_tx(data: bytes) -> L2Tx:
    """Inverse of :func:`encode_tx`.

    A standard transaction (kind 0x03) is parsed and its sender recovered; its other checks
    are the ledger's (:func:`offchain.rollup.ledger.ethtx.check_standard_tx`).

    Raises:
        TxRejected: ``malformed`` for an unknown kind, a wrong length or dirty address words;
            for kind 0x03 also ``unsupported`` (an envelope type other than 0, 1, 2).
    """
    if not isinstance(data, bytes | bytearray) or not data:
        raise TxRejected("malformed", "empty transaction encoding")
    data = bytes(data)
    kind = data[0]
    if kind == KIND_STANDARD:
        return parse_standard_tx(data[1:])
    if kind == KIND_DEPOSIT:
        if len(data) != DEPOSIT_LEN:
            raise TxRejected(
                "malformed", f"deposit encoding must be {DEPOSIT_LEN} bytes, got {len(data)}"
            )
        return Deposit(
            _word_int(data, 1),
            _word_addr(data, 33, "l1Sender"),
            _word_addr(data, 65, "recipient"),
            _word_addr(data, 97, "token"),
            _word_int(data, 129),
        )
    if kind == KIND_FORCED:
        if len(data) != FORCED_LEN:
            raise TxRejected(
                "malformed", f"forced encoding must be {FORCED_LEN} bytes, got {len(data)}"
            )
        if data[33] not in (KIND_TRANSFER, KIND_WITHDRAW):
            raise TxRejected("malformed", "a forced transaction wraps a Transfer or Withdraw")
        inner = decode_tx(data[33:])
        assert isinstance(inner, Transfer | Withdraw)
        return Forced(_word_int(data, 1), inner)
    if kind not in (KIND_TRANSFER, KIND_WITHDRAW):
        raise TxRejected("malformed", f"unknown transaction kind byte {kind}")
    if len(data) != USER_TX_LEN:
        raise TxRejected(
            "malformed", f"user transaction encoding must be {USER_TX_LEN} bytes, got {len(data)}"
        )
    if data[193:224] != b"\x00" * 31:
        raise TxRejected("malformed", "v word has nonzero high bytes")
    sender = _word_addr(data, 1, "from")
    dest = _word_addr(data, 33, "to" if kind == KIND_TRANSFER else "l1Recipient")
    token = _word_addr(data, 65, "token")
    amount, fee, nonce = _word_int(data, 97), _word_int(data, 129), _word_int(data, 161)
    sig = data[225:289] + data[224:225]
    if kind == KIND_TRANSFER:
        return Transfer(sender, dest, token, amount, fee, nonce, sig)
    return Withdraw(sender, dest, token, amount, fee, nonce, sig)


def tx_hash(tx: L2Tx) -> bytes:
    """``keccak256(encode_tx(tx))``; for a standard transaction ``keccak256(raw)``, its
    Ethereum transaction hash."""
    if isinstance(tx, StandardTx):
        return keccak(tx.raw)
    return keccak(encode_tx(tx))


def hash_of_encoding(data: bytes) -> bytes:
    """The txHash of an encoding, as :func:`tx_hash` (also for a malformed one):
    ``keccak256(data[1:])`` when ``data[0] == 0x03``, else ``keccak256(data)``."""
    if data[:1] == b"\x03":
        return keccak(data[1:])
    return keccak(data)


def tx_leaf(tx: L2Tx, fee_recipient: str = ZERO_ADDRESS) -> bytes:
    """MTTBR leaf item of ``tx``: ``keccak256(abi.encode(keccak256(encoding), feeRecipient))``
    (the hash of the encoding: for a standard transaction not its txHash, see docs/spec.md
    "Batch commitments").

    Args:
        tx: the transaction.
        fee_recipient: who got this tx's fee (the block's sequencer; address(0) for deposits).
    """
    return tx_leaf_of_hash(keccak(encode_tx(tx)), fee_recipient)


def tx_leaf_of_hash(h: bytes, fee_recipient: str) -> bytes:
    """:func:`tx_leaf` from an already computed ``keccak256(encoding)``."""
    return keccak(h + addr_word(fee_recipient))


def deposit_hash(dep: Deposit) -> bytes:
    """What the L1 bridge stores for ``dep.deposit_id``:
    ``keccak256(abi.encode(depositId, l1Sender, recipient, token, amount))``."""
    return keccak(encode_tx(dep)[1:])


def forced_item(tx: Forced) -> bytes:
    """The bridge's queue item of a forced tx: ``keccak256(abi.encodePacked(queueId, l2Tx))``
    (= keccak256 of its encoding without the kind byte)."""
    return keccak(encode_tx(tx)[1:])


def withdrawal_item(h: bytes, l1_recipient: str, token: str, amount: int) -> bytes:
    """Withdrawal-root leaf item ``keccak256(abi.encode(txHash, l1Recipient, token, amount))``."""
    return keccak(h + addr_word(l1_recipient) + addr_word(token) + amount.to_bytes(32, "big"))


# --------------------------------------------------------------------------- JSON


def tx_to_json(tx: L2Tx) -> dict[str, Any]:
    """JSON form (RPC): ``{"type": "transfer"|"withdraw"|"deposit"|"standard", ...}``; ints as
    decimal strings; signature as 0x hex; a standard transaction is ``{"type": "standard",
    "raw": "0x..."}``."""
    if isinstance(tx, StandardTx):
        return {"type": "standard", "raw": "0x" + tx.raw.hex()}
    if isinstance(tx, Deposit):
        return {
            "type": "deposit",
            "depositId": str(tx.deposit_id),
            "l1Sender": tx.l1_sender,
            "recipient": tx.recipient,
            "token": tx.token,
            "amount": str(tx.amount),
        }
    if isinstance(tx, Forced):
        return {"type": "forced", "queueId": str(tx.queue_id), "tx": tx_to_json(tx.tx)}
    out: dict[str, Any] = {"type": "transfer" if isinstance(tx, Transfer) else "withdraw"}
    out["from"] = tx.sender
    if isinstance(tx, Transfer):
        out["to"] = tx.to
    else:
        out["l1Recipient"] = tx.l1_recipient
    out |= {
        "token": tx.token,
        "amount": str(tx.amount),
        "fee": str(tx.fee),
        "nonce": str(tx.nonce),
        "signature": "0x" + tx.signature.hex(),
    }
    return out


def _json_int(obj: dict[str, Any], name: str) -> int:
    v = obj.get(name)
    try:
        if isinstance(v, bool):
            raise ValueError
        if isinstance(v, int):
            x = v
        elif isinstance(v, str):
            x = int(v, 16) if v.startswith(("0x", "0X")) else int(v, 10)
        else:
            raise ValueError
    except ValueError:
        raise TxRejected("malformed", f"field {name!r} must be an integer, got {v!r}") from None
    if not 0 <= x <= UINT256_MAX:
        raise TxRejected("malformed", f"field {name!r} out of uint256 range: {x}")
    return x


def _json_addr(obj: dict[str, Any], name: str) -> str:
    v = obj.get(name)
    if not isinstance(v, str):
        raise TxRejected("malformed", f"field {name!r} must be an address string, got {v!r}")
    return to_checksum(v)


def tx_from_json(obj: Any, domain: Domain | None = None) -> L2Tx:
    """Parse the JSON form produced by :func:`tx_to_json`.

    Args:
        obj: the JSON object.
        domain: if given and ``obj`` has a ``chainId``, it must equal ``domain.chain_id``.

    Raises:
        TxRejected: ``malformed`` for a bad shape or field, ``wrong_chain`` for a chain id
            that is not the L2's.
    """
    if not isinstance(obj, dict):
        raise TxRejected("malformed", "transaction must be a JSON object")
    if domain is not None and "chainId" in obj:
        cid = _json_int(obj, "chainId")
        if cid != domain.chain_id:
            raise TxRejected(
                "wrong_chain", f"transaction is for chain {cid}, this L2 is chain {domain.chain_id}"
            )
    kind = obj.get("type")
    if kind == "standard":
        raw = obj.get("raw")
        try:
            if not isinstance(raw, str) or not raw.startswith("0x"):
                raise ValueError
            raw_bytes = bytes.fromhex(raw[2:])
        except ValueError:
            raise TxRejected("malformed", "raw must be 0x-prefixed hex") from None
        return parse_standard_tx(raw_bytes)
    if kind == "deposit":
        return Deposit(
            _json_int(obj, "depositId"),
            _json_addr(obj, "l1Sender"),
            _json_addr(obj, "recipient"),
            _json_addr(obj, "token"),
            _json_int(obj, "amount"),
        )
    if kind == "forced":
        inner = tx_from_json(obj.get("tx"), domain)
        if not isinstance(inner, Transfer | Withdraw):
            raise TxRejected("malformed", "a forced transaction wraps a transfer or withdraw")
        return Forced(_json_int(obj, "queueId"), inner)
    if kind not in ("transfer", "withdraw"):
        raise TxRejected("malformed", f"unknown transaction type {kind!r}")
    sig_hex = obj.get("signature")
    try:
        if not isinstance(sig_hex, str):
            raise ValueError
        sig = bytes.fromhex(sig_hex[2:] if sig_hex.startswith("0x") else sig_hex)
    except ValueError:
        raise TxRejected("malformed", "signature must be 0x-prefixed hex") from None
    if len(sig) != 65:
        raise TxRejected("malformed", f"signature must be 65 bytes, got {len(sig)}")
    sender = _json_addr(obj, "from")
    token = _json_addr(obj, "token")
    amount, fee, nonce = _json_int(obj, "amount"), _json_int(obj, "fee"), _json_int(obj, "nonce")
    if kind == "transfer":
        return Transfer(sender, _json_addr(obj, "to"), token, amount, fee, nonce, sig)
    return Withdraw(sender, _json_addr(obj, "l1Recipient"), token, amount, fee, nonce, sig)
