"""Client of L1Bridge.sol: deposit ETH/ERC20, list deposits, finalize withdrawals, force an L2
transaction through the L1 queue, and leave through the escape hatch (refunds included)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from web3.logs import DISCARD

from offchain.bridge.types import ETH, Deposit, Withdrawal
from offchain.common.hashing import keccak
from offchain.errors import ConfigError

if TYPE_CHECKING:
    from web3.contract import Contract
    from web3.types import TxReceipt

    from offchain.chain.client import Chain
    from offchain.chain.tx import TxSender
    from offchain.rollup.ledger.batch import BatchHeader


class BridgeClient:
    """L1Bridge for one account.

    Args:
        chain: the L1 connection.
        bridge: L1Bridge address.
        sender: signs writes (reads work without one).
        from_block: first L1 block scanned for events.
    """

    def __init__(
        self, chain: Chain, bridge: str, sender: TxSender | None = None, from_block: int = 0
    ) -> None:
        self.chain = chain
        self.bridge: Contract = chain.contract("L1Bridge", bridge)
        self.sender = sender
        self.from_block = from_block

    def _send(self, call: Any, value: int = 0) -> TxReceipt:
        if self.sender is None:
            raise ConfigError(
                "this BridgeClient has no sender", "pass sender=chain.sender(account)"
            )
        return self.sender.send(call, value=value)  # type: ignore[return-value]

    # --------------------------------------------------------------- deposits
    def deposit_eth(self, l2_recipient: str, amount_wei: int) -> Deposit:
        """Deposit ``amount_wei`` for ``l2_recipient``; returns the queued deposit.

        Raises:
            TxReverted: ``L1BridgeBadDeposit`` (zero amount or recipient).
        """
        rcpt = self._send(self.bridge.functions.depositETH(l2_recipient), value=amount_wei)
        return self._deposit_from(rcpt)

    def deposit_erc20(
        self, token: str, l2_recipient: str, amount: int, approve: bool = True
    ) -> Deposit:
        """Approve (unless ``approve`` is false) and deposit ``amount`` of ``token``.

        Raises:
            TxReverted: ``L1BridgeFeeOnTransfer`` for tokens that do not move exactly ``amount``,
                ``L1BridgeBadDeposit``, ``L1BridgeBadToken``, or the token's own errors.
        """
        if approve:
            erc20 = self.chain.contract("TestToken", token)
            self._send(erc20.functions.approve(self.bridge.address, amount))
        rcpt = self._send(self.bridge.functions.depositERC20(token, l2_recipient, amount))
        return self._deposit_from(rcpt)

    def _deposit_from(self, rcpt: TxReceipt) -> Deposit:
        # L1Bridge.sol: event DepositQueued(uint256 indexed depositId, ...)
        evs = self.bridge.events.DepositQueued().process_receipt(rcpt, errors=DISCARD)
        return self._deposit(evs[0])

    @staticmethod
    def _deposit(ev: Any) -> Deposit:
        a = ev["args"]
        return Deposit(
            deposit_id=int(a["depositId"]),
            sender=str(a["sender"]),
            l2_recipient=str(a["l2Recipient"]),
            token=str(a["token"]),
            amount=int(a["amount"]),
            rolling_hash=bytes(a["rollingHash"]),
            block_number=int(ev["blockNumber"]),
        )

    def deposits(
        self, from_block: int | None = None, to_block: int | str = "latest"
    ) -> list[Deposit]:
        """``DepositQueued`` events (L1Bridge.sol) in the block range, in queue order."""
        logs = self.bridge.events.DepositQueued.get_logs(
            from_block=self.from_block if from_block is None else from_block, to_block=to_block
        )
        return sorted((self._deposit(lg) for lg in logs), key=lambda d: d.deposit_id)

    def deposit_count(self) -> int:
        return int(self.bridge.functions.depositCount().call())

    def deposit_hash_at(self, count: int) -> bytes:
        """Rolling hash after ``count`` deposits."""
        return bytes(self.bridge.functions.depositHashAt(count).call())

    # ------------------------------------------------------------ withdrawals
    def finalize_withdrawal(
        self, header: BatchHeader, tx_index: int, withdrawal: Withdrawal, proof: list[bytes]
    ) -> TxReceipt:
        """Pay ``withdrawal`` (leaf ``tx_index`` of ``header.withdrawal_root``).

        Raises:
            TxReverted: ``L1BridgeBatchNotFinalized``, ``L1BridgeAlreadyFinalized``,
                ``L1BridgeBadProof``, ``StateCommitmentHeaderMismatch``/``UnknownBatch``.
        """
        return self._send(
            self.bridge.functions.finalizeWithdrawal(
                header.as_tuple(), tx_index, withdrawal.as_tuple(), proof
            )
        )

    def is_withdrawal_finalized(self, withdrawal: Withdrawal) -> bool:
        """True once ``withdrawal`` was paid on L1 (from whichever batch)."""
        return bool(self.bridge.functions.finalized(withdrawal.replay_key()).call())

    def locked(self, token: str = ETH) -> int:
        """What the bridge holds for the L2 in ``token`` (queued minus paid)."""
        return int(self.bridge.functions.locked(token).call())

    # -------------------------------------------------------- forced inclusion
    def force_tx(self, l2_tx: bytes) -> tuple[int, int, bytes]:
        """Queue the signed Transfer/Withdraw encoding ``l2_tx`` (``L1Bridge.forceTx``).

        Returns:
            ``(queueId, deadline, l2TxHash)``: its queue position, the time by which a batch
            must include it, and the hash of its L2 receipt (``keccak256(0x04 ‖ queueId ‖ l2Tx)``).

        Raises:
            TxReverted: ``L1BridgeMalformedForcedTx``, ``L1BridgeZeroForcedFee``.
        """
        rcpt = self._send(self.bridge.functions.forceTx(l2_tx))
        # L1Bridge.sol: event ForcedTxQueued(uint256 indexed queueId, address indexed sender,
        #     uint256 deadline, bytes l2Tx)
        (ev,) = self.bridge.events.ForcedTxQueued().process_receipt(rcpt, errors=DISCARD)
        qid, deadline = int(ev["args"]["queueId"]), int(ev["args"]["deadline"])
        return qid, deadline, keccak(b"\x04" + qid.to_bytes(32, "big") + l2_tx)

    # ----------------------------------------------------------- escape hatch
    def escape(self, account: str, token: str, balance: int, proof: tuple[Any, ...]) -> TxReceipt:
        """``L1Bridge.escape``: pay ``account`` its proven ``balance`` (after the freeze).

        Raises:
            TxReverted: ``L1BridgeNotFrozen``, ``L1BridgeNotLastFinal``,
                ``L1BridgeBadEscapeProof``, ``L1BridgeAlreadyEscaped``, ``StateTreeInvalidProof``.
        """
        return self._send(self.bridge.functions.escape(account, token, balance, proof))

    def refund_deposit(self, last_final: tuple[Any, ...], d: Deposit) -> TxReceipt:
        """``L1Bridge.refundDeposit``: return a deposit the last final batch had not consumed.

        Raises:
            TxReverted: ``L1BridgeNotFrozen``, ``L1BridgeNotRefundable``,
                ``L1BridgeAlreadyRefunded``, ``L1BridgeNotLastFinal``.
        """
        return self._send(
            self.bridge.functions.refundDeposit(
                last_final, d.deposit_id, d.sender, d.l2_recipient, d.token, d.amount
            )
        )

    def escaped(self, account: str, token: str = ETH) -> bool:
        """True once ``account``'s ``token`` balance was paid by ``escape``."""
        from offchain.rollup.ledger.state import balance_key

        return bool(self.bridge.functions.escaped(balance_key(account, token)).call())

    def refunded(self, deposit_id: int) -> bool:
        return bool(self.bridge.functions.refunded(deposit_id).call())
