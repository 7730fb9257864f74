"""Standard Ethereum transactions on the L2 (ledger kind ``0x03``).

A wallet's signed transaction, exactly the bytes it sends to ``eth_sendRawTransaction``
(legacy RLP with EIP-155 ``v``, ``0x01 ‖ rlp(...)`` EIP-2930, ``0x02 ‖ rlp(...)`` EIP-1559),
is carried in a batch as ``0x03 ‖ raw``. The L2 executes four kinds of them (ETH transfer,
ERC-20 transfer on an L2 token address, ETH and token withdrawal through
``WITHDRAW_ADDRESS``) at a fixed gas per kind. Rules: docs/spec.md ("Standard transactions").

The RLP reader is written by hand, rule for rule the same as the one in
``contracts/rollup/L2StateTransition.sol`` (strict canonical RLP): the L1 twin must accept and
refuse exactly the same bytes, which a general-purpose decoder does not promise.

Entry point for the RPC: :func:`decode_standard_tx` (``raw`` → :class:`StandardTx` with the
sender recovered, or ``TxRejected(code)`` for every check that needs no state).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from coincurve import PublicKey

from offchain.common.hashing import eip55, keccak
from offchain.rollup.errors import TxRejected

#: Ledger kind byte of a standard transaction (``encoding = 0x03 ‖ raw``).
KIND_STANDARD = 3
#: Base fee of the L2 (wei per gas), a protocol constant: ``L2StateTransition.L2_BASE_FEE``.
L2_BASE_FEE = 10**9
#: System address of withdrawals (``withdraw`` / ``withdrawToken`` calls).
WITHDRAW_ADDRESS = "0x0000000000000000000000000000000000004200"
#: L2 token address of L1 token ``T`` = ``uint160(T) + TOKEN_ALIAS_OFFSET`` (mod 2**160).
TOKEN_ALIAS_OFFSET = 0x1111000000000000000000000000000000001111

#: Most addresses and storage keys (in all) an access list may name; a longer one is
#: ``unsupported`` (it keeps the L1 re-execution of one transaction bounded). The access list
#: does not change the gas: the L2 has no EVM, nothing is warm or cold.
MAX_ACCESS_LIST_ADDRESSES = 4
MAX_ACCESS_LIST_STORAGE_KEYS = 16

#: Fixed gas used per kind.
GAS_ETH_TRANSFER = 21_000
GAS_TOKEN_TRANSFER = 50_000
GAS_ETH_WITHDRAW = 60_000
GAS_TOKEN_WITHDRAW = 70_000

ETH_TRANSFER = "eth_transfer"
TOKEN_TRANSFER = "token_transfer"
ETH_WITHDRAW = "eth_withdraw"
TOKEN_WITHDRAW = "token_withdraw"
GAS_OF_KIND = {
    ETH_TRANSFER: GAS_ETH_TRANSFER,
    TOKEN_TRANSFER: GAS_TOKEN_TRANSFER,
    ETH_WITHDRAW: GAS_ETH_WITHDRAW,
    TOKEN_WITHDRAW: GAS_TOKEN_WITHDRAW,
}

SELECTOR_TRANSFER = keccak(b"transfer(address,uint256)")[:4]
SELECTOR_WITHDRAW = keccak(b"withdraw(address)")[:4]
SELECTOR_WITHDRAW_TOKEN = keccak(b"withdrawToken(address,uint256,address)")[:4]

_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_ZERO20 = b"\x00" * 20
_HIGH12 = b"\x00" * 12
_WITHDRAW20 = bytes.fromhex(WITHDRAW_ADDRESS[2:])
_MASK160 = (1 << 160) - 1


def _checksum(raw: bytes) -> str:
    return eip55(bytes(raw))


def l2_token_address(l1_token: str) -> str:
    """The L2 address where wallets see the bridged L1 token ``l1_token`` (an ERC-20)."""
    t = int(l1_token, 16)
    return _checksum(((t + TOKEN_ALIAS_OFFSET) & _MASK160).to_bytes(20, "big"))


def l1_token_of(l2_address: str | bytes) -> str:
    """Inverse of :func:`l2_token_address`."""
    a = int.from_bytes(l2_address, "big") if isinstance(l2_address, bytes) else int(l2_address, 16)
    return _checksum(((a - TOKEN_ALIAS_OFFSET) & _MASK160).to_bytes(20, "big"))


# --------------------------------------------------------------------------- strict RLP


def _bad(msg: str) -> TxRejected:
    return TxRejected("malformed", f"bad RLP: {msg}")


def _item(b: bytes, pos: int, end: int) -> tuple[bool, int, int]:
    """Header of the RLP item at ``pos`` (which must end by ``end``).

    Returns ``(is_list, payload_start, payload_end)``. Canonical form only: a single byte
    below 0x80 is its own encoding, a long form is used only for 56 bytes and more, and a
    length has no leading zero byte.
    """
    if pos >= end:
        raise _bad("item missing")
    b0 = b[pos]
    if b0 < 0x80:
        return False, pos, pos + 1
    is_list = b0 >= 0xC0
    short = b0 - (0xC0 if is_list else 0x80)
    if short < 56:
        start, length = pos + 1, short
        if not is_list and length == 1 and (start >= end or b[start] < 0x80):
            raise _bad("single byte below 0x80 not encoded as itself")
    else:
        ll = short - 55
        start = pos + 1 + ll
        if start > end or b[pos + 1] == 0:
            raise _bad("length of length truncated or with a leading zero")
        length = int.from_bytes(b[pos + 1 : start], "big")
        if length < 56:
            raise _bad("long form used for a short item")
    if start + length > end:
        raise _bad("item runs past its end")
    return is_list, start, start + length


def _list_items(b: bytes, start: int, end: int) -> list[tuple[bool, int, int, int]]:
    """Items ``(is_list, item_start, payload_start, payload_end)`` filling ``[start, end)``."""
    out = []
    pos = start
    while pos < end:
        is_list, ps, pe = _item(b, pos, end)
        out.append((is_list, pos, ps, pe))
        pos = pe
    return out


def _rlp_length(n: int, offset: int) -> bytes:
    if n < 56:
        return bytes([offset + n])
    ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(ln)]) + ln


def _rlp_uint(x: int) -> bytes:
    if x == 0:
        return b"\x80"
    bs = x.to_bytes((x.bit_length() + 7) // 8, "big")
    if len(bs) == 1 and bs[0] < 0x80:
        return bs
    return _rlp_length(len(bs), 0x80) + bs


# --------------------------------------------------------------------------- transaction


@dataclass(frozen=True)
class Action:
    """What a standard transaction does on the L2.

    Attributes:
        kind: ``eth_transfer``, ``token_transfer``, ``eth_withdraw`` or ``token_withdraw``.
        token: the L1 token moved (``address(0)`` for ETH).
        recipient: the L2 account credited (transfers) or the L1 recipient (withdrawals).
        amount: the amount moved (``value`` for the ETH kinds).
        gas: the fixed gas of the kind.
    """

    kind: str
    token: str
    recipient: str
    amount: int
    gas: int

    @property
    def is_withdrawal(self) -> bool:
        return self.kind in (ETH_WITHDRAW, TOKEN_WITHDRAW)


#: A decoded access list: ``(20-byte address, (32-byte storage key, ...))`` pairs.
AccessList = tuple[tuple[bytes, tuple[bytes, ...]], ...]


@dataclass(frozen=True)
class StandardTx:
    """A decoded standard transaction (ledger kind 0x03); build it with :func:`parse_standard_tx`
    or :func:`decode_standard_tx`.

    Attributes:
        raw: the signed transaction as the wallet sent it (``txHash = keccak256(raw)``).
        tx_type: 0 legacy, 1 EIP-2930, 2 EIP-1559.
        chain_id: the envelope's chain id (None for a pre-EIP-155 legacy transaction).
        nonce, gas_limit, value, data: the envelope fields.
        max_fee_per_gas: ``gasPrice`` (types 0, 1) or ``maxFeePerGas`` (type 2).
        max_priority_fee_per_gas: ``gasPrice`` (types 0, 1) or ``maxPriorityFeePerGas``.
        to: 20 bytes, or None for a contract creation.
        access_list: the access list (types 1, 2; empty for legacy) as ``(address,
            storage keys)`` pairs, None when it names more than ``MAX_ACCESS_LIST_ADDRESSES``
            addresses or ``MAX_ACCESS_LIST_STORAGE_KEYS`` keys (``unsupported``).
        sender: the recovered signer (checksummed), None if the signature is invalid.
        action: what it does, None if it is not one of the four kinds (``unsupported``).
    """

    raw: bytes
    tx_type: int
    chain_id: int | None
    nonce: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    gas_limit: int
    to: bytes | None
    value: int
    data: bytes
    access_list: AccessList | None
    sender: str | None
    action: Action | None

    @cached_property
    def hash(self) -> bytes:
        """The Ethereum transaction hash ``keccak256(raw)`` (the ledger's txHash)."""
        return keccak(self.raw)

    def effective_gas_price(self, base_fee: int = L2_BASE_FEE) -> int:
        """``gasPrice`` (types 0, 1) or ``min(maxFeePerGas, baseFee + maxPriorityFeePerGas)``."""
        if self.tx_type != 2:
            return self.max_fee_per_gas
        return min(self.max_fee_per_gas, base_fee + self.max_priority_fee_per_gas)

    @property
    def fee(self) -> int:
        """``gasUsed × effectiveGasPrice`` (0 when unsupported)."""
        return self.action.gas * self.effective_gas_price() if self.action is not None else 0


def _uint(b: bytes, it: tuple[bool, int, int, int], what: str) -> int:
    is_list, _, ps, pe = it
    if is_list or pe - ps > 32 or (pe > ps and b[ps] == 0):
        raise TxRejected("malformed", f"{what} is not a canonical RLP integer of at most 32 bytes")
    return int.from_bytes(b[ps:pe], "big")


def _bytes(b: bytes, it: tuple[bool, int, int, int], what: str) -> bytes:
    if it[0]:
        raise TxRejected("malformed", f"{what} must be an RLP string, got a list")
    return b[it[2] : it[3]]


def _access_list(b: bytes, start: int, end: int) -> AccessList | None:
    """The access list payload ``[start, end)``: entries ``[address, [storageKey, ...]]``, an
    address a string of 20 bytes, a key a string of 32 (else ``malformed``). None (the walk
    stops there) at the first entry or key past the caps; what follows is not read.
    """
    out: list[tuple[bytes, tuple[bytes, ...]]] = []
    n_keys = 0
    pos = start
    while pos < end:
        if len(out) == MAX_ACCESS_LIST_ADDRESSES:
            return None
        is_list, es, ee = _item(b, pos, end)
        if not is_list:
            raise TxRejected("malformed", "an access list entry must be an RLP list")
        a_list, a_s, a_e = _item(b, es, ee)
        if a_list or a_e - a_s != 20:
            raise TxRejected("malformed", "an access list address must be a 20-byte string")
        k_list, ks, ke = _item(b, a_e, ee)
        if not k_list or ke != ee:
            raise TxRejected("malformed", "an access list entry is [address, [storageKey, ...]]")
        keys = []
        while ks < ke:
            if n_keys == MAX_ACCESS_LIST_STORAGE_KEYS:
                return None
            s_list, s_s, s_e = _item(b, ks, ke)
            if s_list or s_e - s_s != 32:
                raise TxRejected("malformed", "an access list storage key must be 32 bytes")
            keys.append(b[s_s:s_e])
            n_keys += 1
            ks = s_e
        out.append((b[a_s:a_e], tuple(keys)))
        pos = ee
    return tuple(out)


def _recover(digest: bytes, parity: int, r: int, s: int) -> str | None:
    """ecrecover with Ethereum's rules: ``0 < r < n``, ``0 < s <= n/2`` (EIP-2), parity 0/1."""
    if not (0 < r < _N and 0 < s <= _N // 2) or parity > 1:
        return None
    try:
        pub = PublicKey.from_signature_and_message(
            r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([parity]), digest, hasher=None
        )
    except Exception:  # coincurve raises a bare Exception when no point recovers
        return None
    return _checksum(keccak(pub.format(compressed=False)[1:])[12:])


def _clean_address(word: bytes) -> bytes | None:
    return word[12:] if word[:12] == _HIGH12 else None


def classify(to: bytes | None, value: int, data: bytes) -> Action | None:
    """The kind of a call by ``(to, value, data)``, None if it is not one of the four."""
    if to is None:
        return None
    if to == _WITHDRAW20:
        sel = data[:4]
        if sel == SELECTOR_WITHDRAW and len(data) == 36:
            rcpt = _clean_address(data[4:36])
            if rcpt is not None:
                return Action(
                    ETH_WITHDRAW, _checksum(_ZERO20), _checksum(rcpt), value, GAS_ETH_WITHDRAW
                )
        if sel == SELECTOR_WITHDRAW_TOKEN and len(data) == 100 and value == 0:
            token, rcpt = _clean_address(data[4:36]), _clean_address(data[68:100])
            if token is not None and rcpt is not None and token != _ZERO20:
                amount = int.from_bytes(data[36:68], "big")
                return Action(
                    TOKEN_WITHDRAW, _checksum(token), _checksum(rcpt), amount, GAS_TOKEN_WITHDRAW
                )
        return None
    if not data:
        return Action(ETH_TRANSFER, _checksum(_ZERO20), _checksum(to), value, GAS_ETH_TRANSFER)
    if len(data) == 68 and data[:4] == SELECTOR_TRANSFER and value == 0:
        rcpt = _clean_address(data[4:36])
        l1_token = l1_token_of(to)
        if rcpt is not None and int(l1_token, 16) != 0:
            amount = int.from_bytes(data[36:68], "big")
            return Action(TOKEN_TRANSFER, l1_token, _checksum(rcpt), amount, GAS_TOKEN_TRANSFER)
    return None


def parse_standard_tx(raw: bytes) -> StandardTx:
    """Decode a signed transaction and recover its sender (no validity checks beyond the form).

    Raises:
        TxRejected: ``malformed`` (not strict canonical RLP of a known envelope, wrong item
            count or field form), ``unsupported`` (an envelope type other than 0, 1, 2).
    """
    if not isinstance(raw, bytes | bytearray) or not raw:
        raise TxRejected("malformed", "empty transaction")
    raw = bytes(raw)
    first = raw[0]
    if first >= 0xC0:
        tx_type, body = 0, 0
    elif first in (1, 2):
        tx_type, body = first, 1
    elif first < 0x80:
        raise TxRejected("unsupported", f"transaction envelope type {first} is not supported")
    else:
        raise TxRejected("malformed", "a transaction is an RLP list or a typed envelope")
    is_list, ps, pe = _item(raw, body, len(raw))
    if not is_list or pe != len(raw):
        raise TxRejected("malformed", "transaction must be exactly one RLP list")
    items = _list_items(raw, ps, pe)
    want = (9, 11, 12)[tx_type]
    if len(items) != want:
        raise TxRejected(
            "malformed", f"type {tx_type} transaction has {want} fields, got {len(items)}"
        )
    f = 0 if tx_type == 0 else 1  # index of the nonce
    nonce = _uint(raw, items[f], "nonce")
    if tx_type == 2:
        prio = _uint(raw, items[2], "maxPriorityFeePerGas")
        max_fee = _uint(raw, items[3], "maxFeePerGas")
        f += 1
    else:
        max_fee = prio = _uint(raw, items[f + 1], "gasPrice")
    gas = _uint(raw, items[f + 2], "gasLimit")
    to_b = _bytes(raw, items[f + 3], "to")
    if len(to_b) not in (0, 20):
        raise TxRejected("malformed", f"to must be 0 or 20 bytes, got {len(to_b)}")
    value = _uint(raw, items[f + 4], "value")
    data = _bytes(raw, items[f + 5], "data")
    access_list: AccessList | None = ()
    if tx_type != 0:
        al = items[f + 6]
        if not al[0]:
            raise TxRejected("malformed", "accessList must be an RLP list")
        access_list = _access_list(raw, al[2], al[3])
    v = _uint(raw, items[-3], "v")
    r = _uint(raw, items[-2], "r")
    s = _uint(raw, items[-1], "s")
    span = raw[items[0][1] : items[-3][1]]  # the signed fields, as encoded
    chain_id: int | None
    if tx_type == 0:
        if v in (27, 28):
            chain_id, parity = None, -1  # pre-EIP-155: no chain id (wrong_chain)
        elif v >= 35:
            chain_id, parity = (v - 35) >> 1, (v - 35) & 1
        else:
            raise TxRejected("malformed", f"legacy v must be 27, 28 or >= 35, got {v}")
        if chain_id is not None:
            span = span[: items[6][1] - items[0][1]] + _rlp_uint(chain_id) + b"\x80\x80"
        prefix = b""
    else:
        chain_id = _uint(raw, items[0], "chainId")
        if v > 1:
            raise TxRejected("malformed", f"yParity must be 0 or 1, got {v}")
        parity = v
        prefix = bytes([tx_type])
    sender = None
    if parity >= 0:
        digest = keccak(prefix + _rlp_length(len(span), 0xC0) + span)
        sender = _recover(digest, parity, r, s)
    to = to_b if to_b else None
    return StandardTx(
        raw=raw,
        tx_type=tx_type,
        chain_id=chain_id,
        nonce=nonce,
        max_fee_per_gas=max_fee,
        max_priority_fee_per_gas=prio,
        gas_limit=gas,
        to=to,
        value=value,
        data=data,
        access_list=access_list,
        sender=sender,
        action=classify(to, value, data) if access_list is not None else None,
    )


def check_standard_tx(tx: StandardTx, chain_id: int) -> Action:
    """The checks of a standard transaction that need no state, in the order of docs/spec.md.

    Returns:
        Its action.

    Raises:
        TxRejected: ``wrong_chain``, ``unsupported``, ``zero_amount``, ``intrinsic_gas``,
            ``underpriced`` or ``bad_signature``.
    """
    if tx.chain_id != chain_id:
        got = "none (pre-EIP-155)" if tx.chain_id is None else str(tx.chain_id)
        raise TxRejected(
            "wrong_chain", f"transaction is for chain {got}, this L2 is chain {chain_id}"
        )
    a = tx.action
    if a is None:
        why = (
            f"an access list of more than {MAX_ACCESS_LIST_ADDRESSES} addresses or "
            f"{MAX_ACCESS_LIST_STORAGE_KEYS} storage keys"
            if tx.access_list is None
            else "this call"
        )
        raise TxRejected(
            "unsupported",
            f"{why} is not supported: the L2 runs ETH and token transfers and withdrawals "
            f"through {WITHDRAW_ADDRESS} only (no contract creation or other calldata)",
        )
    if a.is_withdrawal and a.amount == 0:
        raise TxRejected("zero_amount", "a withdrawal must move more than 0")
    if tx.gas_limit < a.gas:
        raise TxRejected(
            "intrinsic_gas", f"gas limit {tx.gas_limit} is below the {a.kind} gas {a.gas}"
        )
    if tx.max_fee_per_gas < L2_BASE_FEE:
        raise TxRejected(
            "underpriced",
            f"gas price {tx.max_fee_per_gas} is below the L2 base fee {L2_BASE_FEE}",
        )
    if tx.sender is None:
        raise TxRejected("bad_signature", "the signature does not recover (r, s, low-s, parity)")
    return a


def decode_standard_tx(raw: bytes, chain_id: int) -> StandardTx:
    """Decode ``raw`` (what ``eth_sendRawTransaction`` takes), recover the sender and run every
    check that needs no state (the state checks are the ledger's: nonce, balances).

    Raises:
        TxRejected: with the code of the first failing check (docs/spec.md).
    """
    tx = parse_standard_tx(raw)
    check_standard_tx(tx, chain_id)
    return tx
