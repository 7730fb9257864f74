"""Ethereum-shaped JSON of ledger transactions: transaction objects, receipts, logs, blooms.

Used by :mod:`offchain.rollup.node.eth_rpc`; formats are docs/spec.md ("Standard Ethereum
JSON-RPC"). A standard transaction (kind 0x03) is shown as the wallet signed it; the EIP-712
kinds and deposits with ``type`` ``0x70`` + kind byte, their ledger encoding as ``input``.
"""

from __future__ import annotations

from typing import Any

import rlp

from offchain.common.hashing import keccak
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.ledger.ethtx import (
    ETH_TRANSFER,
    TOKEN_TRANSFER,
    TOKEN_WITHDRAW,
    WITHDRAW_ADDRESS,
    StandardTx,
    l2_token_address,
)

ZERO_ADDRESS = "0x" + "00" * 20
#: ERC-20 ``Transfer(address indexed from, address indexed to, uint256 value)``.
TRANSFER_TOPIC = keccak(b"Transfer(address,address,uint256)")
#: ``WithdrawalInitiated(address indexed from, address indexed l1Recipient, address token,
#: uint256 amount)`` emitted by ``WITHDRAW_ADDRESS`` (docs/spec.md, "Standard transactions").
WITHDRAWAL_TOPIC = keccak(b"WithdrawalInitiated(address,address,address,uint256)")


def q(n: int) -> str:
    """A JSON-RPC quantity."""
    return hex(n)


def hx(b: bytes) -> str:
    return "0x" + b.hex()


def _word_of(addr: str) -> bytes:
    return b"\x00" * 12 + bytes.fromhex(addr[2:])


def _int(b: bytes) -> int:
    return int.from_bytes(b, "big")


def envelope_fields(tx: StandardTx) -> dict[str, Any]:
    """``v``, ``r``, ``s`` (and ``yParity``, ``accessList``) of an accepted standard tx."""
    raw = tx.raw
    if tx.tx_type == 0:
        items = rlp.decode(raw)
        v, r, s = _int(items[6]), _int(items[7]), _int(items[8])
        return {"v": q(v), "r": q(r), "s": q(s)}
    items = rlp.decode(raw[1:])
    y, r, s = _int(items[-3]), _int(items[-2]), _int(items[-1])
    al = [{"address": hx(a), "storageKeys": [hx(k) for k in keys]}
          for a, keys in tx.access_list or ()]  # fmt: skip
    return {"v": q(y), "yParity": q(y), "r": q(r), "s": q(s), "accessList": al}


def tx_object(
    t: Any, raw: bytes, h: bytes, chain_id: int, position: dict[str, Any]
) -> dict[str, Any]:
    """The Ethereum transaction object of ledger transaction ``t`` (encoding ``raw``)."""
    base = {"hash": hx(h), **position}
    if isinstance(t, StandardTx):
        out = {
            **base,
            "type": q(t.tx_type),
            "from": (t.sender or ZERO_ADDRESS).lower(),
            "to": hx(t.to) if t.to is not None else None,
            "value": q(t.value),
            "nonce": q(t.nonce),
            "gas": q(t.gas_limit),
            "input": hx(t.data),
            **envelope_fields(t),
        }
        if t.chain_id is not None:
            out["chainId"] = q(t.chain_id)
        if t.tx_type == 2:
            out["maxFeePerGas"] = q(t.max_fee_per_gas)
            out["maxPriorityFeePerGas"] = q(t.max_priority_fee_per_gas)
            out["gasPrice"] = q(t.effective_gas_price())
        else:
            out["gasPrice"] = q(t.max_fee_per_gas)
        return out
    extra: dict[str, Any] = {}
    if isinstance(t, ltx.Deposit):
        # A system transaction: from address(0), so its deposit id never reads as a user's
        # nonce (wallets scan blocks for a "replacement" with their from and nonce).
        sender, extra = ZERO_ADDRESS, {"l1Sender": t.l1_sender.lower()}
    else:
        sender = str(t.sender)
    if isinstance(t, ltx.Transfer):
        to = t.to if t.token == ltx.ETH else l2_token_address(t.token)
    elif isinstance(t, ltx.Withdraw):
        to = WITHDRAW_ADDRESS
    else:
        to = t.recipient
    value = t.amount if t.token == ltx.ETH else 0
    return {
        **base,
        "type": q(0x70 + raw[0]),
        "from": sender.lower(),
        "to": to.lower(),
        "value": q(value),
        "nonce": q(getattr(t, "nonce", getattr(t, "deposit_id", 0))),
        "gas": "0x0",
        "gasPrice": "0x0",
        "input": hx(raw),
        "chainId": q(chain_id),
        "v": "0x0",
        "r": "0x0",
        "s": "0x0",
        **extra,
    }


def gas_used(t: Any) -> int:
    """Gas of a ledger transaction: the kind's fixed gas for a standard one, else 0."""
    if isinstance(t, StandardTx) and t.action is not None:
        return t.action.gas
    return 0


def effective_gas_price(t: Any) -> int:
    return t.effective_gas_price() if isinstance(t, StandardTx) else 0


def _log(address: str, topics: list[bytes], data: bytes) -> dict[str, Any]:
    return {"address": address.lower(), "topics": [hx(x) for x in topics], "data": hx(data)}


def _transfer(token: str, frm: str, to: str, amount: int) -> dict[str, Any]:
    return _log(
        l2_token_address(token),
        [TRANSFER_TOPIC, _word_of(frm), _word_of(to)],
        amount.to_bytes(32, "big"),
    )


def _withdrawal(frm: str, l1_recipient: str, token: str, amount: int) -> list[dict[str, Any]]:
    out = [
        _log(
            WITHDRAW_ADDRESS,
            [WITHDRAWAL_TOPIC, _word_of(frm), _word_of(l1_recipient)],
            _word_of(token) + amount.to_bytes(32, "big"),
        )
    ]
    if token != ZERO_ADDRESS:
        out.append(_transfer(token, frm, ZERO_ADDRESS, amount))  # a burn
    return out


def logs_of(t: Any) -> list[dict[str, Any]]:
    """The logs of one executed ledger transaction (without block positions).

    Standard transactions as docs/spec.md says; the EIP-712 kinds the same as their standard
    twins (a token Transfer, a withdrawal); a token deposit an ERC-20 ``Transfer`` from
    ``address(0)`` (a mint) by the token's L2 address.
    """
    if isinstance(t, StandardTx):
        a, frm = t.action, (t.sender or ZERO_ADDRESS).lower()
        if a is None or a.kind == ETH_TRANSFER:
            return []
        if a.kind == TOKEN_TRANSFER:
            return [_transfer(a.token.lower(), frm, a.recipient.lower(), a.amount)]
        token = a.token.lower() if a.kind == TOKEN_WITHDRAW else ZERO_ADDRESS
        return _withdrawal(frm, a.recipient.lower(), token, a.amount)
    token = str(t.token).lower()
    if isinstance(t, ltx.Transfer):
        return [] if token == ZERO_ADDRESS else [_transfer(token, t.sender, t.to, t.amount)]
    if isinstance(t, ltx.Withdraw):
        return _withdrawal(t.sender.lower(), t.l1_recipient.lower(), token, t.amount)
    if token != ZERO_ADDRESS and t.amount > 0:
        return [_transfer(token, ZERO_ADDRESS, t.recipient, t.amount)]
    return []


def bloom(logs: list[dict[str, Any]]) -> str:
    """The 2048-bit logs bloom (Ethereum yellow paper, M3:2048) of ``logs``."""
    bits = 0
    for lg in logs:
        for item in [bytes.fromhex(lg["address"][2:])] + [
            bytes.fromhex(x[2:]) for x in lg["topics"]
        ]:
            h = keccak(item)
            for i in (0, 2, 4):
                bits |= 1 << (int.from_bytes(h[i : i + 2], "big") & 2047)
    return "0x" + bits.to_bytes(256, "big").hex()
