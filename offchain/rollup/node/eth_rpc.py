"""The standard Ethereum JSON-RPC of a sequencer node (``eth_*``, ``net_*``, ``web3_*``).

What wallets and SDKs (MetaMask, web3.py, ethers, viem, ape) call, answered from the L2
ledger (docs/spec.md, "Standard JSON-RPC"). Quantities are 0x hex, as Ethereum nodes answer.
The L2 has no EVM: ``eth_call`` / ``eth_getCode`` answer the ERC-20 views of the bridged
tokens' L2 addresses, and ``eth_estimateGas`` the fixed gas of the transaction's kind.
State reads are of the node's pending state (every accepted transaction is executed at once);
``eth_getTransactionCount(addr, "latest")`` leaves out the sender's unsealed transactions.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from offchain import __version__
from offchain.common.hashing import keccak
from offchain.rollup.ledger.ethtx import (
    GAS_TOKEN_WITHDRAW,
    L2_BASE_FEE,
    TOKEN_TRANSFER,
    WITHDRAW_ADDRESS,
    classify,
    l1_token_of,
)
from offchain.rollup.node import eth_format as ef
from offchain.rollup.node.errors import INVALID_PARAMS, RollupNodeError

if TYPE_CHECKING:
    from offchain.rollup.node.block import Block
    from offchain.rollup.node.node import SequencerNode

Handler = Callable[[list[Any]], Any]

SUGGESTED_PRIORITY_FEE = 0  # no tip is needed: the whole fee goes to the block's sequencer
#: The block gas limit reported to clients (max_block_txs x the largest kind's gas).
BLOCK_GAS_LIMIT = 2_000 * GAS_TOKEN_WITHDRAW
#: What ``eth_getCode`` returns for an L2 token address and the withdraw address (no EVM
#: runs it: a single INVALID opcode, so clients see a contract).
SYSTEM_CODE = "0xfe"
#: Most blocks one ``eth_getLogs`` scans.
MAX_LOG_BLOCKS = 10_000

SEL_BALANCE_OF = keccak(b"balanceOf(address)")[:4]
SEL_DECIMALS = keccak(b"decimals()")[:4]
SEL_SYMBOL = keccak(b"symbol()")[:4]
SEL_NAME = keccak(b"name()")[:4]
SEL_TOTAL_SUPPLY = keccak(b"totalSupply()")[:4]

EMPTY_UNCLES = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"
ZERO_BLOOM = "0x" + "00" * 256
ZERO_HASH = "0x" + "00" * 32
TAGS = ("latest", "pending", "safe", "finalized")
# Execution errors, as geth answers them.
EXECUTION_ERROR = -32000
REVERTED = 3
LIMIT_EXCEEDED = -32005


@dataclass(frozen=True)
class TokenInfo:
    """ERC-20 metadata of a bridged token (read from the L1 token)."""

    name: str
    symbol: str
    decimals: int


# What wallets match in a refused transaction's message (geth's wording), by ledger reason.
_WALLET_MESSAGES = {
    "insufficient_balance": "insufficient funds for gas * price + value",
    "underpriced": "transaction underpriced",
    "intrinsic_gas": "intrinsic gas too low",
    "wrong_chain": "invalid chain id for signer",
    "bad_signature": "invalid sender",
    "unsupported": "transaction type not supported",
    "zero_amount": "invalid withdrawal amount",
    "overflow": "balance or nonce overflow",
}
_EXPECTED_NONCE = re.compile(r"nonce (\d+) is wrong .*expected (\d+)")


def wallet_error(reason: str, message: str) -> RollupNodeError:
    """The ``eth_sendRawTransaction`` error of a transaction the ledger refuses: ``-32602``
    for an undecodable one, else ``-32000`` with geth's message first (``nonce too low``,
    ``insufficient funds for gas * price + value``, ...) and ``data.reason`` = the ledger code.
    """
    data = {"reason": reason}
    if reason == "malformed":
        return RollupNodeError(INVALID_PARAMS, f"invalid params: malformed transaction: {message}",
                               data)  # fmt: skip
    if reason == "wrong_nonce":
        m = _EXPECTED_NONCE.search(message)
        low = m is not None and int(m.group(1)) < int(m.group(2))
        return RollupNodeError(
            EXECUTION_ERROR, f"nonce too {'low' if low else 'high'}: {message}", data
        )
    prefix = _WALLET_MESSAGES.get(reason, "transaction rejected")
    return RollupNodeError(EXECUTION_ERROR, f"{prefix}: {message}", data)


def params_error(msg: str) -> RollupNodeError:
    return RollupNodeError(INVALID_PARAMS, f"invalid params: {msg}")


def arg(params: list[Any], i: int, what: str, default: Any = ...) -> Any:
    if i < len(params):
        return params[i]
    if default is ...:
        raise params_error(f"missing parameter {i} ({what})")
    return default


def _data(v: Any, what: str, size: int | None = None) -> bytes:
    if not isinstance(v, str) or v[:2] not in ("0x", "0X"):
        raise params_error(f"{what} must be a 0x-prefixed hex string")
    s = v[2:]
    try:
        b = bytes.fromhex(s if len(s) % 2 == 0 else "0" + s)
    except ValueError:
        raise params_error(f"{what} is not valid hex") from None
    if size is not None and len(b) != size:
        raise params_error(f"{what} must be {size} bytes, got {len(b)}")
    return b


def _addr(v: Any, what: str = "address") -> str:
    return "0x" + _data(v, what, 20).hex()


def _quantity(v: Any, what: str, bits: int = 256) -> int:
    """A JSON-RPC quantity (``0x`` hex; a plain non-negative integer is tolerated)."""
    if isinstance(v, int) and not isinstance(v, bool):
        n = v
    elif isinstance(v, str) and v[:2] in ("0x", "0X") and 2 < len(v) <= 2 + (bits + 3) // 4:
        try:
            n = int(v[2:], 16)
        except ValueError:
            raise params_error(f"{what} is not a hex quantity") from None
    else:
        raise params_error(f"{what} must be a 0x hex quantity")
    if not 0 <= n < 1 << bits:
        raise params_error(f"{what} is out of range")
    return n


def q(n: int) -> str:
    """A JSON-RPC quantity."""
    return hex(n)


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _word(n: int) -> bytes:
    return n.to_bytes(32, "big")


def _abi_string(s: str) -> bytes:
    raw = s.encode()
    return _word(32) + _word(len(raw)) + raw + b"\x00" * (-len(raw) % 32)


class EthApi:
    """The ``eth_*`` / ``net_*`` / ``web3_*`` method table of one node.

    Args:
        node: the node answering.
        token_info: ERC-20 metadata of an L1 token (lower-case address); None: read nothing
            (``name``/``symbol``/``decimals`` calls then fail with an execution error).
    """

    def __init__(
        self, node: SequencerNode, token_info: Callable[[str], TokenInfo] | None = None
    ) -> None:
        self.node = node
        self._token_info = token_info
        self._info_cache: dict[str, TokenInfo] = {}
        self._decoded_cache: dict[bytes, list[Any]] = {}
        self._forwarded_nonce: dict[str, int] = {}  # sender -> next nonce, after forwarding
        self.methods: dict[str, Handler] = {
            "eth_chainId": lambda p: q(self.chain_id),
            "net_version": lambda p: str(self.chain_id),
            "net_listening": lambda p: True,
            "net_peerCount": lambda p: q(len(node.peers.stats())),
            "web3_clientVersion": lambda p: f"l2kit/v{__version__}/python",
            "eth_blockNumber": lambda p: q(node.head),
            "eth_getBlockByNumber": self.get_block_by_number,
            "eth_getBlockByHash": self.get_block_by_hash,
            "eth_getBlockTransactionCountByNumber": self.block_tx_count,
            "eth_getBalance": self.get_balance,
            "eth_getTransactionCount": self.get_transaction_count,
            "eth_gasPrice": lambda p: q(L2_BASE_FEE + SUGGESTED_PRIORITY_FEE),
            "eth_maxPriorityFeePerGas": lambda p: q(SUGGESTED_PRIORITY_FEE),
            "eth_feeHistory": self.fee_history,
            "eth_syncing": lambda p: False,
            "eth_mining": lambda p: False,
            "eth_accounts": lambda p: [],
            "eth_getCode": self.get_code,
            "eth_call": self.call,
            "eth_estimateGas": self.estimate_gas,
            "eth_getTransactionByHash": self.get_transaction_by_hash,
            "eth_getTransactionReceipt": self.get_transaction_receipt,
            "eth_getLogs": self.get_logs,
        }

    @property
    def chain_id(self) -> int:
        return int(self.node.executor.domain.chain_id)

    # ------------------------------------------------------------------ blocks
    def _block_number(self, v: Any) -> int:
        """A block tag or number; ``earliest`` is 0, the other tags the head."""
        if v in TAGS:
            return self.node.head
        if v == "earliest":
            return 0
        if isinstance(v, dict) and "blockNumber" in v:  # EIP-1898
            return self._block_number(v["blockNumber"])
        return _quantity(v, "block number", 63)

    def _state_block(self, params: list[Any], i: int) -> None:
        """The state is kept only at the head: an older block is refused."""
        v = arg(params, i, "block", "latest")
        if isinstance(v, dict) and "blockHash" in v:
            b = self.node.store.block_by_hash(_data(v["blockHash"], "block hash", 32))
            if b is None:
                raise RollupNodeError(EXECUTION_ERROR, "header not found")
            n = b.number
        else:
            n = self._block_number(v)
        if n > self.node.head:
            raise RollupNodeError(EXECUTION_ERROR, "header not found")
        if n != self.node.head and not (n == 0 and self.node.head == 0):
            raise RollupNodeError(
                EXECUTION_ERROR,
                f"missing trie node: this node keeps the state of the head block "
                f"({self.node.head}) only, not of block {n}",
            )

    def get_block_by_number(self, params: list[Any]) -> Any:
        n = self._block_number(arg(params, 0, "block number"))
        full = arg(params, 1, "full transactions", False)
        if not isinstance(full, bool):
            raise params_error("full transactions must be a boolean")
        return self._block_json(n, full)

    def get_block_by_hash(self, params: list[Any]) -> Any:
        h = _data(arg(params, 0, "block hash"), "block hash", 32)
        full = arg(params, 1, "full transactions", False)
        if not isinstance(full, bool):
            raise params_error("full transactions must be a boolean")
        b = self.node.store.block_by_hash(h)
        return None if b is None else self._block_json(b.number, full, b)

    def block_tx_count(self, params: list[Any]) -> Any:
        n = self._block_number(arg(params, 0, "block number"))
        b = self.node.store.block(n) if n else None
        return None if n and b is None else q(len(b.txs) if b else 0)

    def _block_json(self, n: int, full: bool, b: Block | None = None) -> dict[str, Any] | None:
        if n == 0:
            return self._genesis_json()
        b = b or self.node.store.block(n)
        if b is None:
            return None
        h = b.hash()
        hdr = b.header
        decoded = self._decoded(b)
        rows = zip(decoded, b.txs, b.tx_hashes, strict=True)
        txs = [self.tx_json(t, raw, b, i) if full else _hex(th)
               for i, (t, raw, th) in enumerate(rows)]  # fmt: skip
        out = self._header_json(
            number=n, hash_=h, parent=hdr.parent_hash, timestamp=hdr.timestamp_ms // 1000,
            state_root=hdr.state_root, tx_root=hdr.tx_root, miner=hdr.producer,
            gas_used=sum(ef.gas_used(t) for t in decoded), txs=txs,
            size=sum(len(t) for t in b.txs) + 400,
        )  # fmt: skip
        out["logsBloom"] = ef.bloom(self._block_logs(b))
        return out

    def _genesis_json(self) -> dict[str, Any]:
        z = b"\x00" * 32
        return self._header_json(
            number=0, hash_=z, parent=z, timestamp=0, state_root=z, tx_root=z,
            miner="0x" + "00" * 20, gas_used=0, txs=[], size=0,
        )  # fmt: skip

    @staticmethod
    def _header_json(
        *,
        number: int,
        hash_: bytes,
        parent: bytes,
        timestamp: int,
        state_root: bytes,
        tx_root: bytes,
        miner: str,
        gas_used: int,
        txs: list[Any],
        size: int,
    ) -> dict[str, Any]:
        return {
            "number": q(number),
            "hash": _hex(hash_),
            "parentHash": _hex(parent),
            "nonce": "0x0000000000000000",
            "sha3Uncles": EMPTY_UNCLES,
            "logsBloom": ZERO_BLOOM,
            "transactionsRoot": _hex(tx_root),
            "stateRoot": _hex(state_root),
            "receiptsRoot": _hex(tx_root),
            "miner": miner,
            "difficulty": "0x0",
            "totalDifficulty": "0x0",
            "extraData": "0x",
            "size": q(size),
            "gasLimit": q(BLOCK_GAS_LIMIT),
            "gasUsed": q(gas_used),
            "timestamp": q(timestamp),
            "baseFeePerGas": q(L2_BASE_FEE),
            "mixHash": ZERO_HASH,
            "transactions": txs,
            "uncles": [],
        }

    # ------------------------------------------------------------ transactions
    def _decoded(self, b: Block) -> list[Any]:
        """The block's transactions, decoded (cached for the last blocks asked)."""
        h = b.hash()
        out = self._decoded_cache.get(h)
        if out is None:
            out = [self.node.executor.decode(raw) for raw in b.txs]
            self._decoded_cache[h] = out
            while len(self._decoded_cache) > 64:
                self._decoded_cache.pop(next(iter(self._decoded_cache)))
        return out

    @staticmethod
    def _position(block: Block | None, index: int | None) -> dict[str, Any]:
        return {
            "blockHash": ef.hx(block.hash()) if block is not None else None,
            "blockNumber": q(block.number) if block is not None else None,
            "transactionIndex": q(index) if index is not None else None,
        }

    def tx_json(self, t: Any, raw: bytes, block: Block | None, index: int | None) -> Any:
        return ef.tx_object(
            t, raw, self.node.executor.tx_hash(raw), self.chain_id, self._position(block, index)
        )

    def _block_logs(self, b: Block) -> list[dict[str, Any]]:
        """Every log of block ``b`` with its positions (``logIndex`` counts in the block)."""
        out: list[dict[str, Any]] = []
        bh = ef.hx(b.hash())
        for i, (t, th) in enumerate(zip(self._decoded(b), b.tx_hashes, strict=True)):
            for lg in ef.logs_of(t):
                out.append({**lg, "blockHash": bh, "blockNumber": q(b.number),
                            "transactionHash": ef.hx(th), "transactionIndex": q(i),
                            "logIndex": q(len(out)), "removed": False})  # fmt: skip
        return out

    def _located(self, h: bytes) -> tuple[Block, int] | None:
        """The stored block and index of transaction ``h`` (None: not in a block)."""
        row = self.node.store.receipt(h)
        if row is None or row.block is None or row.index is None or row.status != "success":
            return None
        b = self.node.store.block(row.block)
        return None if b is None else (b, row.index)

    def get_transaction_by_hash(self, params: list[Any]) -> Any:
        h = _data(arg(params, 0, "transaction hash"), "transaction hash", 32)
        at = self._located(h)
        if at is not None:
            b, i = at
            return self.tx_json(self._decoded(b)[i], b.txs[i], b, i)
        with self.node._lock:
            p = self.node.mempool.get(h)
        if p is not None:
            return self.tx_json(self.node.executor.decode(p.raw), p.raw, None, None)
        return self._relay_forwarded("eth_getTransactionByHash", h)

    def get_transaction_receipt(self, params: list[Any]) -> Any:
        h = _data(arg(params, 0, "transaction hash"), "transaction hash", 32)
        at = self._located(h) or self._wait_located(h)
        if at is None:
            return None  # dropped or unknown (or not sealed in time): no receipt, as on Ethereum
        b, i = at
        txs = self._decoded(b)
        t = txs[i]
        logs = [lg for lg in self._block_logs(b) if lg["transactionIndex"] == q(i)]
        obj = self.tx_json(t, b.txs[i], b, i)
        return {
            "transactionHash": ef.hx(h),
            "transactionIndex": q(i),
            "blockHash": ef.hx(b.hash()),
            "blockNumber": q(b.number),
            "from": obj["from"],
            "to": obj["to"],
            "cumulativeGasUsed": q(sum(ef.gas_used(x) for x in txs[: i + 1])),
            "gasUsed": q(ef.gas_used(t)),
            "effectiveGasPrice": q(ef.effective_gas_price(t)),
            "contractAddress": None,
            "logs": logs,
            "logsBloom": ef.bloom(logs),
            "type": obj["type"],
            "status": "0x1",  # an invalid transaction never enters a block
        }

    def _wait_located(self, h: bytes) -> tuple[Block, int] | None:
        """Where transaction ``h`` is sealed, waiting (at most 2 block times) when it is
        pending here or was forwarded from here: None at once for any other hash.

        ethers and viem ask for the receipt once right after sending, then wait for a new
        block. A transaction sent into a non-empty mempool is answered before its seal; if
        its block came between those two steps and no other followed (the L2 makes no empty
        blocks), the wallet would wait forever. Waiting for the seal here (a block is due
        within one block time) gives the receipt at the first ask.
        """
        node = self.node
        with node._lock:
            pending = h in node.mempool
        if not pending and node.forwarded_to(h) is None:
            return self._located(h)  # sealed since the caller looked, or unknown
        deadline = time.monotonic() + 2 * node.config.block_time_ms / 1000
        while True:
            head = node.head  # read before the store: a block stored later raises the head
            at = self._located(h)
            left = deadline - time.monotonic()
            if at is not None or left <= 0:
                return at
            node.wait_for_block(head + 1, left)

    def _relay_forwarded(self, method: str, h: bytes) -> Any:
        """Ask the node a transaction was forwarded to (it may still be pending there)."""
        to = self.node.forwarded_to(h)
        if to is None:
            return None
        try:
            ans = self.node.peers.forward(
                to, {"jsonrpc": "2.0", "id": 1, "method": method, "params": [ef.hx(h)]}
            )
        except Exception:  # noqa: BLE001 - unreachable: unknown here
            return None
        r = ans.get("result")
        return r if isinstance(r, dict) else None

    def get_logs(self, params: list[Any]) -> Any:
        f = arg(params, 0, "filter", {})
        if not isinstance(f, dict):
            raise params_error("filter must be a JSON object")
        if f.get("blockHash") is not None:
            if "fromBlock" in f or "toBlock" in f:
                raise params_error("blockHash excludes fromBlock/toBlock")
            b = self.node.store.block_by_hash(_data(f["blockHash"], "blockHash", 32))
            if b is None:
                raise RollupNodeError(EXECUTION_ERROR, "unknown block")
            blocks = [b]
        else:
            first = self._block_number(f.get("fromBlock", "latest"))
            last = min(self._block_number(f.get("toBlock", "latest")), self.node.head)
            if last - first + 1 > MAX_LOG_BLOCKS:
                raise RollupNodeError(
                    LIMIT_EXCEEDED,
                    f"query exceeds the max block range {MAX_LOG_BLOCKS} ({first}..{last})",
                )
            blocks = list(self.node.store.blocks(max(first, 1), last)) if last >= first else []
        addrs = f.get("address")
        wanted = (
            None
            if addrs is None
            else {_addr(a, "address") for a in (addrs if isinstance(addrs, list) else [addrs])}
        )
        topics = f.get("topics") or []
        if not isinstance(topics, list) or len(topics) > 4:
            raise params_error("topics must be a list of at most 4 entries")
        want_topics: list[set[str] | None] = []
        for t in topics:
            if t is None:
                want_topics.append(None)
            else:
                opts = t if isinstance(t, list) else [t]
                want_topics.append({ef.hx(_data(x, "topic", 32)) for x in opts})
        out = []
        for b in blocks:
            for lg in self._block_logs(b):
                if wanted is not None and lg["address"] not in wanted:
                    continue
                tps = lg["topics"]
                if all(
                    w is None or (k < len(tps) and tps[k] in w) for k, w in enumerate(want_topics)
                ):
                    out.append(lg)
        return out

    # ------------------------------------------------------------------ state
    def get_balance(self, params: list[Any]) -> Any:
        acct = _addr(arg(params, 0, "address"))
        self._state_block(params, 1)
        with self.node._lock:
            return q(self.node.executor.balance(acct, "0x" + "00" * 20))

    def get_transaction_count(self, params: list[Any]) -> Any:
        acct = _addr(arg(params, 0, "address"))
        tag = arg(params, 1, "block", "latest")
        if tag != "pending":
            self._state_block(params, 1)
        with self.node._lock:
            n = self.node.executor.nonce(acct)
            if tag != "pending":
                n -= self.node.mempool.pending_of(acct)
        if tag == "pending":  # a follower: what it forwarded may not be in its blocks yet
            n = max(n, self._forwarded_nonce.get(acct, 0))
        return q(n)

    def note_forwarded_nonce(self, sender: str, nonce: int) -> None:
        """A transaction of ``sender`` with ``nonce`` was forwarded to the current sequencer:
        ``pending`` counts it until this node's state catches up (a wallet sending its next
        transaction through this node then gets the next nonce)."""
        if len(self._forwarded_nonce) > 65_536:
            self._forwarded_nonce.clear()
        self._forwarded_nonce[sender] = max(self._forwarded_nonce.get(sender, 0), nonce + 1)

    def get_code(self, params: list[Any]) -> Any:
        a = _addr(arg(params, 0, "address"))
        self._state_block(params, 1)
        return SYSTEM_CODE if a == WITHDRAW_ADDRESS or self._token_at(a) else "0x"

    def _token_at(self, l2_address: str) -> str | None:
        """The L1 token bridged at ``l2_address`` (None: no such token on this L2)."""
        t = l1_token_of(l2_address).lower()
        return t if self.node.executor.has_token(t) else None

    def _info(self, token: str) -> TokenInfo:
        info = self._info_cache.get(token)
        if info is None:
            if self._token_info is None:
                raise RollupNodeError(EXECUTION_ERROR, "token metadata unavailable on this node")
            try:
                info = self._token_info(token)
            except Exception as e:  # noqa: BLE001 - an L1 hiccup: the client retries
                raise RollupNodeError(
                    EXECUTION_ERROR, f"token metadata unavailable (L1: {type(e).__name__})"
                ) from None
            self._info_cache[token] = info
        return info

    def call(self, params: list[Any]) -> Any:
        call = arg(params, 0, "call object")
        if not isinstance(call, dict):
            raise params_error("call object must be a JSON object")
        self._state_block(params, 1)
        to = call.get("to")
        if to is None:
            raise RollupNodeError(EXECUTION_ERROR, "contract creation is not supported on l2kit")
        to = _addr(to, "to")
        data = _data(call.get("data", call.get("input", "0x")) or "0x", "data")
        token = self._token_at(to)
        if token is None:
            if to == WITHDRAW_ADDRESS and data:
                raise RollupNodeError(REVERTED, "execution reverted", "0x")
            return "0x"  # an account without code: an empty result, as on Ethereum
        sel, args = data[:4], data[4:]
        ex = self.node.executor
        if sel == SEL_BALANCE_OF and len(args) == 32:
            if args[:12] != b"\x00" * 12:
                raise RollupNodeError(REVERTED, "execution reverted", "0x")
            with self.node._lock:
                return _hex(_word(ex.balance("0x" + args[12:].hex(), token)))
        if sel == SEL_TOTAL_SUPPLY and not args:
            with self.node._lock:
                return _hex(_word(ex.total_supply(token)))
        if sel == SEL_DECIMALS and not args:
            return _hex(_word(self._info(token).decimals))
        if sel == SEL_SYMBOL and not args:
            return _hex(_abi_string(self._info(token).symbol))
        if sel == SEL_NAME and not args:
            return _hex(_abi_string(self._info(token).name))
        raise RollupNodeError(
            REVERTED,
            "execution reverted: l2kit token addresses answer balanceOf, totalSupply, "
            "decimals, symbol, name and transfer only",
            "0x",
        )

    def estimate_gas(self, params: list[Any]) -> Any:
        call = arg(params, 0, "transaction object")
        if not isinstance(call, dict):
            raise params_error("transaction object must be a JSON object")
        to = call.get("to")
        value = _quantity(call.get("value", "0x0") or "0x0", "value")
        data = _data(call.get("data", call.get("input", "0x")) or "0x", "data")
        gas = self.classify_gas(None if to is None else _addr(to, "to"), value, data)
        frm = call.get("from")
        if frm is not None and value:
            with self.node._lock:
                bal = self.node.executor.balance(_addr(frm, "from"), "0x" + "00" * 20)
            if bal < value:
                raise RollupNodeError(EXECUTION_ERROR, "insufficient funds for transfer")
        return q(gas)

    def classify_gas(self, to: str | None, value: int, data: bytes) -> int:
        """Fixed gas of the standard transaction ``(to, value, data)`` (docs/spec.md).

        Raises:
            RollupNodeError: -32000 for a transaction the L2 does not run, a token transfer
                on the L2 address of a token never bridged, or a withdrawal of 0 (refused
                when sent: ``invalid withdrawal amount``, ``data.reason`` ``zero_amount``).
        """
        action = classify(None if to is None else bytes.fromhex(to[2:]), value, data)
        if action is None:
            what = "contract creation" if to is None else f"this call to {to}"
            raise RollupNodeError(
                EXECUTION_ERROR,
                f"unsupported: {what} (l2kit runs ETH transfers, ERC-20 transfer on a bridged "
                f"token's L2 address, and withdraw/withdrawToken on {WITHDRAW_ADDRESS})",
            )
        if action.kind == TOKEN_TRANSFER and to is not None and not self._token_at(to):
            raise RollupNodeError(EXECUTION_ERROR, f"unsupported: no token is bridged at {to}")
        if action.is_withdrawal and action.amount == 0:
            raise wallet_error("zero_amount", "a withdrawal must move more than 0")
        return action.gas

    def fee_history(self, params: list[Any]) -> Any:
        count = _quantity(arg(params, 0, "block count"), "block count", 16)
        newest = self._block_number(arg(params, 1, "newest block", "latest"))
        pcts = arg(params, 2, "reward percentiles", [])
        if not isinstance(pcts, list) or not all(
            isinstance(p, int | float) and not isinstance(p, bool) and 0 <= p <= 100 for p in pcts
        ):
            raise params_error("reward percentiles must be a list of numbers in [0, 100]")
        if pcts != sorted(pcts):
            raise params_error("reward percentiles must be increasing")
        newest = min(newest, self.node.head)
        count = min(count, 1024, newest + 1)
        oldest = newest - count + 1
        out: dict[str, Any] = {
            "oldestBlock": q(oldest),
            "baseFeePerGas": [q(L2_BASE_FEE)] * (count + 1),
            "gasUsedRatio": [0.0] * count,
        }
        if pcts:
            out["reward"] = [[q(SUGGESTED_PRIORITY_FEE)] * len(pcts) for _ in range(count)]
        return out
