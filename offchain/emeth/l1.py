"""Typed Python bindings for the EMETH L1 contracts (``contracts/emeth/``).

:class:`EmethL1` wraps EmethCore and EmethToken: views return plain ints/dataclasses, writes go
through a :class:`~offchain.chain.tx.TxSender` (which decodes custom errors into
:class:`~offchain.errors.TxReverted`, e.g. ``error_name == "EmethCoreTicketAlreadySettled"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address
from web3.contract import Contract
from web3.logs import DISCARD

from offchain.emeth.backing import DISPUTE_REASONS, LeafProof
from offchain.emeth.ticket import EL_SHIFT, DebitProof, Ticket, TicketError
from offchain.errors import ConfigError

if TYPE_CHECKING:
    from web3.types import TxReceipt

    from offchain.chain.client import Chain
    from offchain.chain.tx import TxSender
    from offchain.deploy import Deployment

EMETH_TOKEN_KEY = "emeth_token"
EMETH_CORE_KEY = "emeth_core"


@dataclass(frozen=True)
class AccountState:
    """A requester deposit or a node's collateral held by EmethCore.

    Attributes:
        balance: held by EmethCore, pending withdrawal included (for a requester: before its
            proven debits, ``provenDebits``).
        pending: requested for withdrawal (lowered by debit proofs until withdrawn).
        ready_at: unix time from which ``pending`` can be withdrawn (0: none pending).
    """

    balance: int
    pending: int
    ready_at: int

    @property
    def available(self) -> int:
        """Balance not pending withdrawal."""
        return self.balance - self.pending


@dataclass(frozen=True)
class Settlement:
    """What ``settleTicket`` did (from its ``TicketSettled`` event)."""

    ticket_id: int
    node: str
    paid: int
    burned: int
    fuel: int
    job_count: int
    gas_used: int
    tx_hash: str
    block_number: int


#: ``EmethCore.TicketStatus`` by number.
TICKET_STATUSES = ("none", "posted", "finalized", "reversed")


@dataclass(frozen=True)
class Posting:
    """What ``postTicket`` did (from its ``TicketPosted`` event)."""

    ticket_id: int
    node: str
    total_debit: int
    signers: int  # bitmap of the signer slots that signed
    final_at: int
    gas_used: int
    tx_hash: str
    block_number: int


@dataclass(frozen=True)
class PostedTicket:
    """``EmethCore.postedTickets(id)``: ``status`` is one of :data:`TICKET_STATUSES`."""

    ticket_hash: bytes
    posted_at: int
    final_at: int
    signers: int
    status: str


@dataclass(frozen=True)
class Dispute:
    """What a dispute did (from its ``TicketDisputed`` event)."""

    ticket_id: int
    disputer: str
    reason: str  # one of offchain.emeth.backing.DISPUTE_REASONS
    job_id: bytes
    slashed: int
    reward: int
    gas_used: int
    tx_hash: str


@dataclass(frozen=True)
class BondedSigner:
    """``EmethCore.bondedSigners(address)``."""

    bond: int
    unlock_at: int
    slot: int
    active: bool


@dataclass(frozen=True)
class Cancellation:
    """A ``JobCancelled(bytes16 indexed jobId, address indexed requester, uint256 at)`` event."""

    job_id: bytes
    requester: str
    at: int
    block_number: int
    log_index: int


@dataclass(frozen=True)
class PendingReduction:
    """A ``PendingWithdrawalReduced(address indexed account, uint256 pending)`` event: a
    Ticket's debit or burn lowered ``account``'s pending withdrawal to ``pending``."""

    account: str
    pending: int
    block_number: int
    log_index: int


def _job_id(job_id: bytes) -> bytes:
    if not isinstance(job_id, bytes | bytearray) or len(job_id) != 16:
        raise TicketError(f"job id must be 16 bytes, got {job_id!r}")
    return bytes(job_id)


class EmethL1:
    """EmethCore + EmethToken at known addresses.

    Args:
        chain: the L1 connection (with artifacts).
        core_address: EmethCore address.
        token_address: EmethToken address (default: read from ``EmethCore.token()``).
    """

    def __init__(self, chain: Chain, core_address: str, token_address: str | None = None) -> None:
        self.chain = chain
        self.core: Contract = chain.contract("EmethCore", core_address)
        token = token_address or self.core.functions.token().call()
        self.token: Contract = chain.contract("EmethToken", token)

    @classmethod
    def from_deployment(cls, chain: Chain, deployment: Deployment) -> EmethL1:
        """Bind to the ``emeth_core``/``emeth_token`` entries of a deployment.

        Raises:
            ConfigError: the deployment has no EMETH contracts.
        """
        addrs = deployment.addresses
        if EMETH_CORE_KEY not in addrs:
            raise ConfigError("this deployment has no EmethCore", "deploy with the emeth step")
        return cls(chain, addrs[EMETH_CORE_KEY], addrs.get(EMETH_TOKEN_KEY))

    @property
    def core_address(self) -> str:
        return str(self.core.address)

    @property
    def chain_id(self) -> int:
        return self.chain.chain_id

    # ------------------------------------------------------------------ token
    def token_balance(self, who: str) -> int:
        """EMETH held by ``who`` in its wallet."""
        return int(self.token.functions.balanceOf(to_checksum_address(who)).call())

    def total_supply(self) -> int:
        return int(self.token.functions.totalSupply().call())

    def mint(self, owner: TxSender, to: str, amount: int) -> TxReceipt:
        """Mint EMETH (token owner only: the devnet faucet)."""
        return self._send(owner, self.token.functions.mint(to_checksum_address(to), amount))

    def _approve_if_needed(self, sender: TxSender, amount: int) -> None:
        allowance = self.token.functions.allowance(sender.address, self.core.address).call()
        if int(allowance) < amount:
            self._send(sender, self.token.functions.approve(self.core.address, 2**256 - 1))

    # ------------------------------------------------------------------ requesters
    def deposit(self, sender: TxSender, amount: int) -> TxReceipt:
        """Approve (if needed) and deposit ``amount`` as a requester."""
        self._approve_if_needed(sender, amount)
        return self._send(sender, self.core.functions.deposit(amount))

    def request_withdrawal(
        self, sender: TxSender, amount: int, proofs: Sequence[DebitProof] = ()
    ) -> TxReceipt:
        """Request a delayed withdrawal of ``amount``, first proving ``proofs`` (the sender's
        newest debit leaves; older ones are skipped on L1)."""
        fn = self.core.functions.requestWithdrawal(amount, [p.as_abi() for p in proofs])
        return self._send(sender, fn)

    def withdraw(self, sender: TxSender, proofs: Sequence[DebitProof] = ()) -> TxReceipt:
        """Take a ready withdrawal, first proving ``proofs``."""
        return self._send(sender, self.core.functions.withdraw([p.as_abi() for p in proofs]))

    def prove_debit(self, sender: TxSender, requester: str, proof: DebitProof) -> TxReceipt:
        """Prove ``requester``'s newer debit leaf (anyone may send it).

        Raises:
            TxReverted: ``EmethCoreStaleDebitProof``, ``EmethCoreInvalidDebitProof``,
                ``EmethCoreTicketNotSettled``, ``EmethCoreDebitChainBroken``.
        """
        fn = self.core.functions.proveDebit(to_checksum_address(requester), proof.as_abi())
        return self._send(sender, fn)

    def proven_debits(self, requester: str) -> int:
        """``provenDebits[requester]``: its debits proven on L1, summed over execution layers."""
        return int(self.core.functions.provenDebits(to_checksum_address(requester)).call())

    def debit_mark(self, requester: str, el_id: int) -> tuple[int, int]:
        """``(ticket id, cumulative debit)`` of ``requester``'s newest proven leaf in execution
        layer ``el_id`` (``(0, 0)``: none)."""
        tid, cum = self.core.functions.debitMarkOf(to_checksum_address(requester), el_id).call()
        return int(tid), int(cum)

    def spendable_deposit(self, requester: str) -> int:
        """``balance - provenDebits`` (0 if the proven debits exceed the balance)."""
        return int(self.core.functions.spendableDeposit(to_checksum_address(requester)).call())

    def unpaid_debits(self, requester: str) -> int:
        """Proven debits above ``requester``'s balance."""
        return int(self.core.functions.unpaidDebits(to_checksum_address(requester)).call())

    def cancel(self, sender: TxSender, job_id: bytes) -> TxReceipt:
        """Declare ``job_id`` (16 bytes) cancelled on L1."""
        return self._send(sender, self.core.functions.cancel(_job_id(job_id)))

    def deposit_of(self, requester: str) -> AccountState:
        b, p, r, _debited = self.core.functions.deposits(to_checksum_address(requester)).call()
        return AccountState(int(b), int(p), int(r))

    def available_deposit(self, requester: str) -> int:
        """``spendableDeposit`` not pending withdrawal (debits not yet proven not counted)."""
        return int(self.core.functions.availableDeposit(to_checksum_address(requester)).call())

    def cancelled_at(self, job_id: bytes, requester: str) -> int:
        """Unix time ``requester`` cancelled ``job_id`` on L1 (0: not cancelled)."""
        fn = self.core.functions.cancelledAt(_job_id(job_id), to_checksum_address(requester))
        return int(fn.call())

    def cancellations(self, from_block: int, to_block: int | str = "latest") -> list[Cancellation]:
        """``JobCancelled`` events in a block range (EmethCore.sol ``event JobCancelled``)."""
        logs = self.core.events.JobCancelled().get_logs(from_block=from_block, to_block=to_block)
        return [
            Cancellation(
                job_id=bytes(lg["args"]["jobId"]),
                requester=str(lg["args"]["requester"]),
                at=int(lg["args"]["at"]),
                block_number=int(lg["blockNumber"]),
                log_index=int(lg["logIndex"]),
            )
            for lg in logs
        ]

    def pending_reductions(
        self, from_block: int, to_block: int | str = "latest"
    ) -> list[PendingReduction]:
        """``PendingWithdrawalReduced`` events in a block range (EmethCore.sol ``event
        PendingWithdrawalReduced``)."""
        ev = self.core.events.PendingWithdrawalReduced()
        return [
            PendingReduction(
                account=str(lg["args"]["account"]),
                pending=int(lg["args"]["pending"]),
                block_number=int(lg["blockNumber"]),
                log_index=int(lg["logIndex"]),
            )
            for lg in ev.get_logs(from_block=from_block, to_block=to_block)
        ]

    def withdrawal_requesters(self, from_block: int, to_block: int) -> list[str]:
        """Requesters with a ``WithdrawalRequested`` event in ``[from_block, to_block]``, in order
        of first request (each once)."""
        logs = self.core.events.WithdrawalRequested().get_logs(
            from_block=from_block, to_block=to_block
        )
        return list(dict.fromkeys(str(lg["args"]["requester"]) for lg in logs))

    # ------------------------------------------------------------------ nodes
    def deposit_collateral(self, sender: TxSender, amount: int) -> TxReceipt:
        """Approve (if needed) and add ``amount`` to the sender's node collateral."""
        self._approve_if_needed(sender, amount)
        return self._send(sender, self.core.functions.depositCollateral(amount))

    def request_collateral_withdrawal(self, sender: TxSender, amount: int) -> TxReceipt:
        return self._send(sender, self.core.functions.requestCollateralWithdrawal(amount))

    def withdraw_collateral(self, sender: TxSender) -> TxReceipt:
        return self._send(sender, self.core.functions.withdrawCollateral())

    def collateral_of(self, node: str) -> AccountState:
        b, p, r, _ = self.core.functions.collaterals(to_checksum_address(node)).call()
        return AccountState(int(b), int(p), int(r))

    def is_eligible_node(self, node: str) -> bool:
        """True when ``node`` holds at least ``min_collateral`` outside pending withdrawals."""
        return bool(self.core.functions.isEligibleNode(to_checksum_address(node)).call())

    def total_fuel(self, node: str) -> int:
        return int(self.core.functions.totalFuel(to_checksum_address(node)).call())

    def penalty_shortfall(self, node: str) -> int:
        return int(self.core.functions.penaltyShortfall(to_checksum_address(node)).call())

    # ------------------------------------------------------------------ params / governance
    def min_collateral(self) -> int:
        return int(self.core.functions.minCollateral().call())

    def withdrawal_delay_s(self) -> int:
        return int(self.core.functions.withdrawalDelay().call())

    def collateral_withdrawal_delay_s(self) -> int:
        return int(self.core.functions.collateralWithdrawalDelay().call())

    def settle_margin_s(self) -> int:
        """``settleMargin``: the longest a Ticket stays valid after it is signed."""
        return int(self.core.functions.settleMargin().call())

    def ticket_valid_until(self) -> int:
        """``validUntil`` for a Ticket signed now: the L1 clock (the next block's timestamp,
        about: :class:`~offchain.chain.clock.L1Clock`) + ``settleMargin``."""
        from offchain.chain.clock import L1Clock

        return L1Clock(self.chain.w3).now() + self.settle_margin_s()

    def total_burned(self) -> int:
        return int(self.core.functions.totalBurned().call())

    def is_signer(self, who: str) -> bool:
        return bool(self.core.functions.isSigner(to_checksum_address(who)).call())

    def set_signer(self, owner: TxSender, signer: str, authorised: bool = True) -> TxReceipt:
        """Authorise or revoke a Ticket signer (EmethCore owner only)."""
        fn = self.core.functions.setSigner(to_checksum_address(signer), authorised)
        return self._send(owner, fn)

    def set_params(
        self,
        owner: TxSender,
        withdrawal_delay_s: int,
        collateral_withdrawal_delay_s: int,
        min_collateral: int,
        settle_margin_s: int | None = None,
    ) -> TxReceipt:
        """``setParams`` (``settle_margin_s`` None: keep the current ``settleMargin``)."""
        margin = self.settle_margin_s() if settle_margin_s is None else settle_margin_s
        fn = self.core.functions.setParams(
            withdrawal_delay_s, collateral_withdrawal_delay_s, margin, min_collateral
        )
        return self._send(owner, fn)

    # ------------------------------------------------------------------ Tickets
    def settle_ticket(self, sender: TxSender, ticket: Ticket, signature: bytes) -> Settlement:
        """Submit a signed Ticket; anyone may send it, ``ticket.node`` is paid.

        Raises:
            TxReverted: e.g. ``EmethCoreTicketAlreadySettled``, ``EmethCoreTicketExpired``,
                ``EmethCoreUnauthorizedSigner``,
                ``EmethCoreInvalidSignature`` (requesters are debited lazily, by proofs).
        """
        rcpt = self._send(sender, self.core.functions.settleTicket(ticket.as_abi(), signature))
        return self._settlement(rcpt)

    def post_ticket(self, sender: TxSender, ticket: Ticket, signatures: Sequence[bytes]) -> Posting:
        """Post a Ticket signed by ``signerThreshold`` bonded signers (``signatures`` by
        ascending slot: :meth:`order_signatures`); it pays nothing until
        :meth:`finalize_ticket` after the dispute window.

        Raises:
            TxReverted: e.g. ``EmethCoreNotEnoughSignatures``, ``EmethCoreSignaturesNotOrdered``,
                ``EmethCoreUnauthorizedSigner``, ``EmethCoreTicketAlreadyPosted``,
                ``EmethCoreTicketExpired``.
        """
        fn = self.core.functions.postTicket(ticket.as_abi(), list(signatures))
        rcpt = self._send(sender, fn)
        ev = self.core.events.TicketPosted().process_receipt(rcpt, errors=DISCARD)[0]["args"]
        return Posting(
            ticket_id=int(ev["ticketId"]),
            node=str(ev["node"]),
            total_debit=int(ev["totalDebit"]),
            signers=int(ev["signers"]),
            final_at=int(ev["finalAt"]),
            gas_used=int(rcpt["gasUsed"]),
            tx_hash="0x" + bytes(rcpt["transactionHash"]).hex(),
            block_number=int(rcpt["blockNumber"]),
        )

    def order_signatures(self, signed: dict[str, bytes]) -> list[bytes]:
        """``{signer address: signature}`` as ``postTicket`` takes them: by ascending slot."""
        return [
            sig for _, sig in sorted((self.bonded_signer(a).slot, s) for a, s in signed.items())
        ]

    def finalize_ticket(
        self, sender: TxSender, ticket: Ticket, gas: int | None = None
    ) -> Settlement:
        """Finalize a posted Ticket once its dispute window has closed (anyone may).

        Args:
            gas: a gas limit to send without estimating (``None``: estimate), for an idle L1
                whose latest block still sees the window open (``L1Clock.stale_for``).

        Raises:
            TxReverted: ``EmethCoreDisputeWindowOpen``, ``EmethCoreTicketReversed``,
                ``EmethCoreTicketNotPosted``, ``EmethCoreTicketMismatch``.
        """
        return self._settlement(
            sender.send(self.core.functions.finalizeTicket(ticket.as_abi()), gas=gas)
        )

    def dispute_job(self, sender: TxSender, ticket: Ticket, leaf: LeafProof) -> Dispute:
        """Prove job leaf ``leaf`` of posted Ticket ``ticket`` unbacked (unsigned, fee above
        the signed maximum, cancelled before Process).

        Raises:
            TxReverted: ``EmethCoreJobBacked``, ``EmethCoreInvalidJobProof``,
                ``EmethCoreDisputeWindowClosed``, ``EmethCoreTicketReversed``, ...
        """
        fn = self.core.functions.disputeJob(ticket.as_abi(), leaf.as_abi())
        return self._dispute(self._send(sender, fn))

    def dispute_double_billing(
        self,
        sender: TxSender,
        ticket: Ticket,
        leaf: LeafProof,
        other: Ticket,
        other_leaf: LeafProof,
    ) -> Dispute:
        """Prove ``ticket`` bills the job of ``leaf`` already billed in earlier ``other``.

        Raises:
            TxReverted: ``EmethCoreNotDoubleBilled``, ``EmethCoreInvalidJobProof``, ...
        """
        fn = self.core.functions.disputeDoubleBilling(
            ticket.as_abi(), leaf.as_abi(), other.as_abi(), other_leaf.as_abi()
        )
        return self._dispute(self._send(sender, fn))

    def posted_ticket(self, ticket_id: int) -> PostedTicket:
        """``postedTickets(id)`` with its status from ``ticketStatus(id)`` (finality is read
        from the settled bitmap)."""
        h, posted_at, final_at, signers, _ = self.core.functions.postedTickets(ticket_id).call()
        status = TICKET_STATUSES[int(self.core.functions.ticketStatus(ticket_id).call())]
        return PostedTicket(bytes(h), int(posted_at), int(final_at), int(signers), status)

    def postings(
        self, from_block: int, to_block: int | str = "latest"
    ) -> list[tuple[int, str, int]]:
        """``(ticketId, node, block)`` of each ``TicketPosted`` event in a block range
        (EmethCore.sol ``event TicketPosted``)."""
        logs = self.core.events.TicketPosted().get_logs(from_block=from_block, to_block=to_block)
        return [
            (int(lg["args"]["ticketId"]), str(lg["args"]["node"]), int(lg["blockNumber"]))
            for lg in logs
        ]

    def _settlement(self, rcpt: TxReceipt) -> Settlement:
        ev = self.core.events.TicketSettled().process_receipt(rcpt, errors=DISCARD)[0]["args"]
        return Settlement(
            ticket_id=int(ev["ticketId"]),
            node=str(ev["node"]),
            paid=int(ev["paid"]),
            burned=int(ev["burned"]),
            fuel=int(ev["fuel"]),
            job_count=int(ev["jobCount"]),
            gas_used=int(rcpt["gasUsed"]),
            tx_hash="0x" + bytes(rcpt["transactionHash"]).hex(),
            block_number=int(rcpt["blockNumber"]),
        )

    def _dispute(self, rcpt: TxReceipt) -> Dispute:
        ev = self.core.events.TicketDisputed().process_receipt(rcpt, errors=DISCARD)[0]["args"]
        return Dispute(
            ticket_id=int(ev["ticketId"]),
            disputer=str(ev["disputer"]),
            reason=DISPUTE_REASONS[int(ev["reason"])],
            job_id=bytes(ev["jobId"]),
            slashed=int(ev["slashed"]),
            reward=int(ev["reward"]),
            gas_used=int(rcpt["gasUsed"]),
            tx_hash="0x" + bytes(rcpt["transactionHash"]).hex(),
        )

    # ------------------------------------------------------------------ bonded Signer set
    def bonded_signer(self, who: str) -> BondedSigner:
        bond, unlock_at, slot, active, _ = self.core.functions.bondedSigners(
            to_checksum_address(who)
        ).call()
        return BondedSigner(int(bond), int(unlock_at), int(slot), bool(active))

    def deposit_signer_bond(self, sender: TxSender, amount: int) -> TxReceipt:
        """Approve (if needed) and add ``amount`` to the sender's Signer bond."""
        self._approve_if_needed(sender, amount)
        return self._send(sender, self.core.functions.depositSignerBond(amount))

    def add_signer(self, owner: TxSender, signer: str) -> TxReceipt:
        """Admit ``signer`` to the bonded set (EmethCore owner only)."""
        return self._send(owner, self.core.functions.addSigner(to_checksum_address(signer)))

    def remove_signer(self, owner: TxSender, signer: str) -> TxReceipt:
        return self._send(owner, self.core.functions.removeSigner(to_checksum_address(signer)))

    def withdraw_signer_bond(self, sender: TxSender) -> TxReceipt:
        return self._send(sender, self.core.functions.withdrawSignerBond())

    def set_signer_set_params(
        self, owner: TxSender, threshold: int, bond_min: int, disputer_share_bps: int
    ) -> TxReceipt:
        fn = self.core.functions.setSignerSetParams(threshold, bond_min, disputer_share_bps)
        return self._send(owner, fn)

    def set_ticket_dispute_window(self, owner: TxSender, window_s: int) -> TxReceipt:
        return self._send(owner, self.core.functions.setTicketDisputeWindow(window_s))

    def ticket_dispute_window_s(self) -> int:
        return int(self.core.functions.ticketDisputeWindow().call())

    def signer_threshold(self) -> int:
        return int(self.core.functions.signerThreshold().call())

    def is_settled(self, ticket_id: int) -> bool:
        return bool(self.core.functions.isSettled(ticket_id).call())

    def jobs_root_of(self, ticket_id: int) -> bytes:
        """jobsRoot stored when Ticket ``ticket_id`` settled (zero bytes if it did not)."""
        return bytes(self.core.functions.jobsRootOf(ticket_id).call())

    def debits_root_of(self, ticket_id: int) -> bytes:
        """debitsRoot stored when Ticket ``ticket_id`` settled (zero bytes if it did not)."""
        return bytes(self.core.functions.debitsRootOf(ticket_id).call())

    @staticmethod
    def el_of(ticket_id: int) -> int:
        """The execution layer id in a Ticket id (``ticket_id >> EL_SHIFT``)."""
        return ticket_id >> EL_SHIFT

    def hash_ticket(self, ticket: Ticket) -> bytes:
        """``EmethCore.hashTicket(ticket)``: what ``postedTickets(id).ticketHash`` holds."""
        return bytes(self.core.functions.hashTicket(ticket.as_abi()).call())

    def ticket_digest(self, ticket: Ticket) -> bytes:
        """EmethCore's own digest of ``ticket`` (equals ``ticket.ticket_digest``)."""
        return bytes(self.core.functions.ticketDigest(ticket.as_abi()).call())

    def verify_job_in_ticket(
        self, ticket_id: int, jobs_root: bytes, index: int, leaf_item: bytes, proof: list[bytes]
    ) -> bool:
        """Audit: True when ``leaf_item`` is job ``index`` of settled Ticket ``ticket_id``."""
        fn = self.core.functions.verifyJobInTicket(ticket_id, jobs_root, index, leaf_item, proof)
        return bool(fn.call())

    # ------------------------------------------------------------------ plumbing
    @staticmethod
    def _send(sender: TxSender, call: Any) -> TxReceipt:
        return sender.send(call)  # type: ignore[return-value]
