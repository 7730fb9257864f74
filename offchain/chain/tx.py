"""A transaction sender that owns its account's nonces.

It estimates gas (so a revert is reported before any nonce is used), signs, sends,
waits for the receipt, decodes custom errors / revert reasons into
:class:`~offchain.errors.TxReverted`, and replaces a transaction that has not been
mined after ``stuck_after_s`` with the same nonce and higher fees.

Nonces follow the chain, not a local counter alone: with no transaction of its own in flight
the sender re-reads the account's pending nonce before each send, so an L1 reorg that
removed its transactions (or another user of the key) never leaves it sending with a stale
nonce. While waiting it checks every ``drop_check_s`` that the transaction can still be mined:
dropped from the pool, its nonce taken by another transaction, or stuck behind a nonce gap
(a reorg removed an earlier one) raises :class:`TxDropped` after re-reading the nonce, so the
caller re-plans from what L1 holds now (the batcher rebuilds the batch at ``nextIndex``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, overload, runtime_checkable

import requests
import rlp
import structlog
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    TransactionNotFound,
    Web3RPCError,
)
from web3.types import RPCEndpoint

from offchain.chain.artifacts import Artifacts
from offchain.errors import RpcError, TxError, TxReverted

log = structlog.get_logger("chain.tx")

if TYPE_CHECKING:
    from web3.contract import Contract
    from web3.types import TxParams, TxReceipt

GWEI = 10**9


@runtime_checkable
class Signer(Protocol):
    """What :class:`TxSender` signs with.

    An ``eth_account`` ``LocalAccount`` is one (its ``sign_transaction`` returns an object
    with ``raw_transaction``); so is any object with an ``address`` and a
    ``sign_transaction(tx_dict)`` returning the raw signed bytes (e.g. an adapter over an
    ape account, see ``scripts/deploy.py``).
    """

    @property
    def address(self) -> Any: ...

    def sign_transaction(self, transaction_dict: dict[str, Any]) -> Any: ...


class BlobCarrier(Protocol):
    """The EIP-4844 sidecar of a type-3 transaction (``rollup.ledger.blobs.BlobSidecar``)."""

    @property
    def blobs(self) -> list[bytes]: ...

    @property
    def commitments(self) -> list[bytes]: ...

    @property
    def proofs(self) -> list[bytes]: ...

    @property
    def versioned_hashes(self) -> list[bytes]: ...


#: Key under which a transaction dict carries its blob sidecar (removed before signing).
SIDECAR_KEY = "_blobSidecar"


def raw_signed(signed: Any) -> bytes:
    """The raw bytes of what a :class:`Signer` returned (bytes, hex or a SignedTransaction)."""
    raw = getattr(signed, "raw_transaction", signed)
    if isinstance(raw, str):
        return bytes(HexBytes(raw))
    return bytes(raw)


@dataclass
class TxConfig:
    """Knobs of :class:`TxSender` (units in the names)."""

    receipt_timeout_s: float = 120.0
    stuck_after_s: float = 20.0
    fee_bump_pct: int = 25  # nodes require >= 10% to replace
    max_bumps: int = 6
    priority_fee_wei: int = 1 * GWEI
    gas_multiplier: float = 1.25
    poll_interval_s: float = 0.02
    drop_check_s: float = 1.0


class TxDropped(TxError):
    """A sent transaction can no longer be mined (dropped, replaced, or behind a nonce gap
    after a reorg). The sender has re-read its nonce; build the transaction again from what
    the chain holds now."""


@dataclass
class SentTx:
    """A transaction in flight (all hashes ever sent for its nonce)."""

    nonce: int
    params: dict[str, Any]
    hashes: list[HexBytes]
    sent_at: float
    label: str


class TxSender:
    """Signs and sends transactions for one account; thread-safe.

    Args:
        w3: connected Web3.
        account: the signing key (a ``LocalAccount`` or any :class:`Signer`).
        artifacts: used to decode custom errors from every known contract.
        config: timeouts and fee policy.
    """

    def __init__(
        self, w3: Web3, account: Signer, artifacts: Artifacts, config: TxConfig | None = None
    ) -> None:
        self.w3 = w3
        self.account = account
        self.artifacts = artifacts
        self.config = config or TxConfig()
        self._lock = threading.Lock()
        self._nonce: int | None = None
        self._inflight: set[int] = set()  # nonces sent and not yet mined or given up
        self.resyncs = 0  # times the chain's nonce differed from ours (for health/metrics)
        self.bumps = 0  # replacements sent so far (for health/metrics)
        self._address = Web3.to_checksum_address(str(account.address))
        try:
            self._chain_id = int(w3.eth.chain_id)
        except requests.RequestException as e:
            raise RpcError(
                f"cannot reach the L1 RPC at {self.rpc_url} ({type(e).__name__})",
                "is the node running? check the RPC URL",
            ) from e

    @property
    def address(self) -> ChecksumAddress:
        return self._address

    # ----------------------------------------------------------------- nonces
    def resync_nonce(self) -> int:
        """Re-read the pending nonce from the node (after an external tx or a drop)."""
        with self._lock:
            self._nonce = int(self.w3.eth.get_transaction_count(self.address, "pending"))
            return self._nonce

    def _take_nonce(self) -> int:
        """The next nonce: the chain's pending nonce when nothing of ours is in flight."""
        with self._lock:
            if self._nonce is None or not self._inflight:
                chain = int(self.w3.eth.get_transaction_count(self.address, "pending"))
                if self._nonce is not None and chain != self._nonce:
                    self.resyncs += 1
                    log.warning("nonce_resynced", address=self.address, local=self._nonce,
                                chain=chain)  # fmt: skip
                self._nonce = chain
            n = self._nonce
            self._nonce += 1
            self._inflight.add(n)
            return n

    def _done(self, nonce: int) -> None:
        with self._lock:
            self._inflight.discard(nonce)

    # ------------------------------------------------------------------ fees
    def next_base_fee(self) -> int:
        """Base fee of the next block (``eth_feeHistory``'s last entry; covers fee spikes)."""
        hist = self.w3.eth.fee_history(1, "latest")
        fees = [int(x) for x in hist.get("baseFeePerGas", [])]
        return max(fees) if fees else 0

    def next_blob_base_fee(self) -> int:
        """Blob base fee of the next block (``eth_blobBaseFee``)."""
        return int(self.w3.provider.make_request(RPCEndpoint("eth_blobBaseFee"), [])["result"], 16)

    def _fees(self) -> tuple[int, int]:
        """(maxFeePerGas, maxPriorityFeePerGas): twice the next base fee plus the tip."""
        prio = self.config.priority_fee_wei
        return 2 * self.next_base_fee() + prio, prio

    # ---------------------------------------------------------------- errors
    def _revert(self, label: str, exc: Exception, receipt: Any = None) -> TxReverted:
        data: str | None = None
        if isinstance(exc, ContractCustomError | ContractLogicError):
            raw = exc.data
            data = raw if isinstance(raw, str) else None
            if data is None and isinstance(exc.message, str) and "0x" in exc.message:
                data = exc.message[exc.message.index("0x") :].split()[0]
        name, args, text = self.artifacts.decode_error(data)
        if name is None and data is None:
            text = str(exc)
        return TxReverted(
            f"{label} reverted: {text}",
            error_name=name,
            error_args=args,
            data=data,
            receipt=receipt,
        )

    # ------------------------------------------------------------------ send
    @overload
    def send(
        self,
        call: ContractFunction | TxParams | dict[str, Any],
        *,
        value: int = 0,
        gas: int | None = None,
        wait: Literal[True] = True,
        label: str | None = None,
        blobs: BlobCarrier | None = None,
        gas_margin: int = 0,
    ) -> TxReceipt: ...

    @overload
    def send(
        self,
        call: ContractFunction | TxParams | dict[str, Any],
        *,
        value: int = 0,
        gas: int | None = None,
        wait: Literal[False],
        label: str | None = None,
        blobs: BlobCarrier | None = None,
        gas_margin: int = 0,
    ) -> SentTx: ...

    def send(
        self,
        call: ContractFunction | TxParams | dict[str, Any],
        *,
        value: int = 0,
        gas: int | None = None,
        wait: bool = True,
        label: str | None = None,
        blobs: BlobCarrier | None = None,
        gas_margin: int = 0,
    ) -> TxReceipt | SentTx:
        """Send a contract call (``contract.functions.f(args)``) or a raw tx dict.

        Args:
            call: the contract function call, or a dict with ``to``/``data``/``value``.
            value: wei to send with a contract call.
            gas: gas limit (default: estimate × ``gas_multiplier``).
            wait: wait for the receipt (default) or return the in-flight :class:`SentTx`.
            label: name used in error messages (default: the function name).
            blobs: EIP-4844 blobs to carry (a type-3 transaction; ``blobhash(i)`` sees them).
            gas_margin: gas added to the estimate (a path the estimate's block cannot take).

        Returns:
            The receipt (status 1), or a :class:`SentTx` when ``wait`` is false.

        Raises:
            TxReverted: the call reverts (decoded custom error or reason).
            TxError: not mined within ``receipt_timeout_s``.
            RpcError: the node cannot be reached.
        """
        if label is None:
            label = call.fn_name if isinstance(call, ContractFunction) else "transaction"
        try:
            return self._send(
                call,
                value=value,
                gas=gas,
                wait=wait,
                label=label,
                blobs=blobs,
                gas_margin=gas_margin,
            )
        except requests.RequestException as e:
            raise RpcError(
                f"cannot reach the L1 RPC at {self.rpc_url} while sending {label} "
                f"({type(e).__name__})",
                "is the node running? check the RPC URL",
            ) from e

    @property
    def rpc_url(self) -> str:
        """The endpoint this sender talks to (for messages)."""
        return str(getattr(self.w3.provider, "endpoint_uri", "") or "?")

    def _send(
        self,
        call: ContractFunction | TxParams | dict[str, Any],
        *,
        value: int,
        gas: int | None,
        wait: bool,
        label: str | None,
        blobs: BlobCarrier | None = None,
        gas_margin: int = 0,
    ) -> TxReceipt | SentTx:
        if isinstance(call, ContractFunction):
            label = label or call.fn_name
            params: TxParams = {"from": self.address, "value": value, "gas": 0}  # type: ignore[typeddict-item]
            tx: dict[str, Any] = dict(call.build_transaction(params))
            tx.pop("gas", None)
            for k in ("maxFeePerGas", "maxPriorityFeePerGas", "gasPrice", "nonce"):
                tx.pop(k, None)
        else:
            tx = dict(call)
            label = label or "transaction"
            tx.setdefault("from", self.address)
        tx["chainId"] = self._chain_id
        if blobs is not None:
            tx["blobVersionedHashes"] = [HexBytes(h) for h in blobs.versioned_hashes]
        try:
            if gas is None:
                est = int(self.w3.eth.estimate_gas(tx))  # type: ignore[arg-type]
                gas = int(est * self.config.gas_multiplier) + 10_000 + gas_margin
        except (ContractCustomError, ContractLogicError) as e:
            raise self._revert(label, e) from None
        except Web3RPCError as e:
            raise self._refused(label, e) from None
        tx["gas"] = gas
        max_fee, prio = self._fees()
        tx["maxFeePerGas"] = max_fee
        tx["maxPriorityFeePerGas"] = prio
        tx.pop("gasPrice", None)
        tx["type"] = 2
        if blobs is not None:
            tx["type"] = 3
            tx["maxFeePerBlobGas"] = 2 * self.next_blob_base_fee() + 1
            tx[SIDECAR_KEY] = blobs
        nonce = self._take_nonce()
        tx["nonce"] = nonce
        try:
            h = self._broadcast(tx)
        except Web3RPCError as e:
            self._done(nonce)
            msg = str(e).lower()
            if "nonce too low" in msg or "nonce too high" in msg:
                # Someone else used this key, or a tx was dropped: resync once and retry.
                tx["nonce"] = self._retake_after_resync()
                try:
                    h = self._broadcast(tx)
                except BaseException:
                    self._done(tx["nonce"])
                    raise
            else:
                self.resync_nonce()
                raise self._refused(label, e) from None
        except BaseException:
            self._done(nonce)
            raise
        sent = SentTx(tx["nonce"], tx, [h], time.monotonic(), label)
        if not wait:
            return sent
        return self._wait(sent)

    def _refused(self, label: str, e: Web3RPCError) -> TxError:
        """One line for a node's refusal (the raw JSON-RPC error is kept on the exception)."""
        resp = e.rpc_response or {}
        err = resp.get("error") if isinstance(resp, dict) else None
        msg = str(err.get("message")) if isinstance(err, dict) else str(e.message or e)
        hint = None
        if "insufficient funds" in msg.lower():
            balance = int(self.w3.eth.get_balance(self.address))
            msg = f"{msg} (balance of {self.address}: {balance} wei)"
            hint = f"send ETH to {self.address}"
        out = TxError(f"{label}: node refused the transaction: {msg}", hint)
        out.rpc_response = resp
        return out

    def _retake_after_resync(self) -> int:
        self.resync_nonce()
        return self._take_nonce()

    def _broadcast(self, tx: dict[str, Any]) -> HexBytes:
        to_sign = {k: v for k, v in tx.items() if k not in ("from", SIDECAR_KEY)}
        raw = signed_raw = raw_signed(self.account.sign_transaction(to_sign))
        sidecar = tx.get(SIDECAR_KEY)
        if sidecar is not None:
            # Network form of a blob tx (EIP-4844): 0x03 ‖ rlp([tx_payload_body, blobs,
            # commitments, proofs]); the signed payload only commits the versioned hashes.
            body = rlp.decode(raw[1:])
            raw = b"\x03" + rlp.encode(
                [body, list(sidecar.blobs), list(sidecar.commitments), list(sidecar.proofs)]
            )
        try:
            return HexBytes(self.w3.eth.send_raw_transaction(raw))
        except Web3RPCError as e:
            # The node has this very transaction already (an HTTP-level retry of the send under
            # load): it is sent; wait for it like any other.
            if any(m in str(e).lower() for m in ("already imported", "already known")):
                return HexBytes(Web3.keccak(signed_raw))  # the hash of the signed form
            raise
        except requests.RequestException as e:
            raise RpcError(
                f"cannot reach the L1 RPC at {self.rpc_url} ({type(e).__name__})",
                "is the node running? check the RPC URL",
            ) from e

    def _bump(self, sent: SentTx) -> bool:
        """Re-send ``sent`` with the same nonce and fees raised by ``fee_bump_pct`` (≥ 10%).

        The new max fee also covers twice the next block's base fee, so a base-fee spike
        is outbid. Returns True when the node accepted the replacement.
        """
        tx = dict(sent.params)
        pct = 100 + max(self.config.fee_bump_pct, 11)
        tx["maxPriorityFeePerGas"] = tx["maxPriorityFeePerGas"] * pct // 100 + 1
        floor = 2 * self.next_base_fee() + tx["maxPriorityFeePerGas"]
        tx["maxFeePerGas"] = max(tx["maxFeePerGas"] * pct // 100 + 1, floor)
        if "maxFeePerBlobGas" in tx:  # blob replacements need the blob fee doubled
            tx["maxFeePerBlobGas"] = max(2 * tx["maxFeePerBlobGas"], 2 * self.next_blob_base_fee())
        sent.params = tx  # even if refused, the next bump starts from these fees
        sent.sent_at = time.monotonic()
        try:
            h = self._broadcast(tx)
        except Web3RPCError as e:
            msg = str(e).lower()
            # Refused because it is a duplicate, too cheap, or the original was just mined.
            if "already known" in msg or "underpriced" in msg or "nonce too low" in msg:
                return False
            raise TxError(f"{sent.label}: node refused the replacement: {e}") from e
        sent.hashes.append(h)
        return True

    def receipt(self, sent: SentTx) -> TxReceipt | None:
        """The receipt of whichever of ``sent``'s hashes was mined, if any."""
        for h in reversed(sent.hashes):
            try:
                return self.w3.eth.get_transaction_receipt(h)
            except TransactionNotFound:
                continue
        return None

    def wait(self, sent: SentTx) -> TxReceipt:
        """Wait for ``sent`` to be mined, replacing it with higher fees while it is stuck.

        Raises:
            TxReverted: mined with status 0 (reason decoded by replaying the call).
            TxError: not mined within ``receipt_timeout_s`` after ``max_bumps`` replacements.
            RpcError: the node cannot be reached.
        """
        try:
            return self._wait(sent)
        except requests.RequestException as e:
            raise RpcError(
                f"cannot reach the L1 RPC at {self.rpc_url} while waiting for {sent.label} "
                f"({type(e).__name__})",
                "is the node running? check the RPC URL",
            ) from e

    def _unminable(self, sent: SentTx) -> str | None:
        """Why ``sent`` can no longer be mined as it is, or None while it still can."""
        latest = int(self.w3.eth.get_transaction_count(self.address, "latest"))
        if latest > sent.nonce:
            return f"nonce {sent.nonce} was used by another transaction"
        with self._lock:
            earlier = any(n < sent.nonce for n in self._inflight)
        if latest < sent.nonce and not earlier:
            return f"nonce gap: the chain is at nonce {latest}, this one is {sent.nonce}"
        for h in sent.hashes:
            try:
                self.w3.eth.get_transaction(h)
                return None
            except TransactionNotFound:
                continue
        return "dropped from the node's pool"

    def _wait(self, sent: SentTx) -> TxReceipt:
        try:
            return self._wait_mined(sent)
        finally:
            self._done(sent.nonce)

    def _wait_mined(self, sent: SentTx) -> TxReceipt:
        deadline = time.monotonic() + self.config.receipt_timeout_s
        bumps = 0
        next_check = time.monotonic() + self.config.drop_check_s
        while True:
            rcpt = self.receipt(sent)
            if rcpt is not None:
                if rcpt["status"] != 1:
                    raise self._explain_failure(sent, rcpt)
                return rcpt
            now = time.monotonic()
            if now >= next_check:
                next_check = now + self.config.drop_check_s
                why = self._unminable(sent)
                if why is not None and self.receipt(sent) is None:
                    self._done(sent.nonce)
                    self.resync_nonce()
                    log.warning("tx_dropped", label=sent.label, nonce=sent.nonce, reason=why)
                    raise TxDropped(
                        f"{sent.label} (nonce {sent.nonce}) cannot be mined: {why}",
                        "re-read the chain and send it again",
                    )
            if now > deadline:
                raise TxError(
                    f"{sent.label} (nonce {sent.nonce}) not mined after "
                    f"{self.config.receipt_timeout_s:.0f}s",
                    "check the node; the sender will resync its nonce",
                )
            if now - sent.sent_at > self.config.stuck_after_s and bumps < self.config.max_bumps:
                self._bump(sent)
                bumps += 1
                self.bumps += 1
            time.sleep(self.config.poll_interval_s)

    def _explain_failure(self, sent: SentTx, rcpt: TxReceipt) -> TxReverted:
        keys = ("from", "to", "data", "value", "blobVersionedHashes")  # blobhash(i) as mined
        call = {k: sent.params[k] for k in keys if k in sent.params}
        try:
            self.w3.eth.call(call, rcpt["blockNumber"] - 1)  # type: ignore[arg-type]
        except (ContractCustomError, ContractLogicError) as e:
            err = self._revert(sent.label, e, receipt=rcpt)
            return err
        except Exception:  # noqa: BLE001 - fall through to the generic message
            pass
        return TxReverted(f"{sent.label} reverted (out of gas or state changed)", receipt=rcpt)

    # --------------------------------------------------------------- deploy
    def deploy(self, name: str, *args: Any, value: int = 0) -> Contract:
        """Deploy contract ``name`` (from the artifacts) with constructor ``args``."""
        art = self.artifacts.get(name)
        factory = self.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        data = factory.constructor(*args).data_in_transaction
        params: dict[str, Any] = {"from": self.address, "data": data, "value": value}
        rcpt = self.send(params, label=f"deploy {name}")
        addr = rcpt["contractAddress"]
        return self.w3.eth.contract(address=addr, abi=art.abi)  # type: ignore[return-value]
