"""Parameters of the EMETH L1 contracts (EmethCore, EmethToken) and their devnet funding.

Field defaults are the public-network values (day-long delays, no faucet, a signer that
must be configured); on a local Anvil chain (chain id 31337) :meth:`EmethParams.effective`
swaps in the ``devnet_*`` values (delays of seconds, dev account #30 as the signer, a faucet).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

EMETH = 10**18  # base units per EMETH (18 decimals)
ANVIL_CHAIN_ID = 31337


@dataclass
class EmethParams:
    """EmethCore constructor arguments and who the deploy step authorises and funds.

    Attributes:
        withdrawal_delay_s: requester deposit withdrawal delay. Must exceed the longest time
            between the execution layer accepting a job and its Ticket settling on L1.
        collateral_withdrawal_delay_s: node collateral withdrawal delay (same rule for penalties).
        min_collateral_wei: collateral (not pending withdrawal) a node needs to take jobs.
        signer_address: Ticket signer to authorise (required off a devnet; on a devnet,
            empty means dev account ``signer_account``).
        signer_account: dev account index of the devnet signer.
        requester_accounts: dev accounts funded as requesters on a devnet.
        node_accounts: dev accounts funded as nodes on a devnet.
        faucet_wei: EMETH minted to each of them on a devnet (0: mint nothing).
        settle_margin_s: how long a Ticket stays valid after it is signed (EmethCore
            ``settleMargin``; strictly below both delays: docs/spec.md, "Ticket validity").
        ticket_dispute_window_s: how long a posted Ticket can be disputed before it is final
            (EmethCore ``ticketDisputeWindow``; ``settle_margin_s`` plus it stays strictly
            below both delays: docs/spec.md, "Disputes and the bonded Signer set").
        signer_threshold: signatures of distinct bonded signers a posted Ticket needs (k).
        signer_bond_wei: bond each signer needs for its signature to count.
        disputer_share_bps: share of slashed bonds paid to the disputer (the rest is burned).
        devnet_short_timings: apply the ``devnet_*`` values on chain 31337.
        devnet_withdrawal_delay_s / devnet_collateral_withdrawal_delay_s /
            devnet_settle_margin_s / devnet_min_collateral_wei /
            devnet_ticket_dispute_window_s / devnet_signer_bond_wei: their values on a devnet
            (where the deploy step also bonds the dev signer).
    """

    withdrawal_delay_s: int = 3 * 86_400
    collateral_withdrawal_delay_s: int = 7 * 86_400
    settle_margin_s: int = 3600
    min_collateral_wei: int = 10_000 * EMETH
    ticket_dispute_window_s: int = 86_400
    signer_threshold: int = 1
    signer_bond_wei: int = 100_000 * EMETH
    disputer_share_bps: int = 5000
    signer_address: str = ""
    signer_account: int = 30
    requester_accounts: list[int] = field(default_factory=lambda: [31, 32])
    node_accounts: list[int] = field(default_factory=lambda: [33, 34, 35, 36])
    faucet_wei: int = 1_000_000 * EMETH
    devnet_short_timings: bool = True
    devnet_withdrawal_delay_s: int = 300
    devnet_collateral_withdrawal_delay_s: int = 300
    devnet_settle_margin_s: int = 30
    devnet_min_collateral_wei: int = 100 * EMETH
    devnet_ticket_dispute_window_s: int = 10
    devnet_signer_bond_wei: int = 1_000 * EMETH

    def effective(self, chain_id: int) -> EmethParams:
        """These parameters as deployed on ``chain_id``.

        On chain 31337 the devnet delays and minimum collateral apply (unless
        ``devnet_short_timings`` is off); anywhere else nobody is funded
        (``faucet_wei`` = 0, no requester or node accounts).
        """
        if chain_id != ANVIL_CHAIN_ID:
            return replace(self, faucet_wei=0, requester_accounts=[], node_accounts=[])
        if not self.devnet_short_timings:
            return replace(self)
        return replace(
            self,
            withdrawal_delay_s=self.devnet_withdrawal_delay_s,
            collateral_withdrawal_delay_s=self.devnet_collateral_withdrawal_delay_s,
            settle_margin_s=self.devnet_settle_margin_s,
            min_collateral_wei=self.devnet_min_collateral_wei,
            ticket_dispute_window_s=self.devnet_ticket_dispute_window_s,
            signer_bond_wei=self.devnet_signer_bond_wei,
        )


@dataclass
class EmethAgentsConfig:
    """Off-chain EMETH settings (units in names). Dev account indices name devnet keys.

    Attributes:
        db_url: execution layer database (empty: SQLite file ``emeth.db`` in the data dir).
        el_port: execution layer HTTP port (0: a free one).
        poll_interval_ms / jitter_pct / max_failures: agent loops (see ``agents.base``).
        confirmations: L1 blocks the execution layer's L1 watcher trails the head by: a
            ``JobCancelled`` is applied only this deep, so a reorg within them never applies
            a cancellation L1 then drops (``None``: the L1 network's default,
            ``offchain.chain.networks``: 6 on mainnet, 4 on public testnets, 2 on a local
            Anvil devnet).
        signer_interval_s: time between Ticket rounds.
        split_parts: SubJobs per split job.
        split_grace_s: how long nodes leave a fresh splittable job to the Splitter.
        penalty_bps: penalty as basis points of a job's fee (timeout, withdrawal, rejection).
        verifier_account / splitter_account / aggregator_account: operator dev keys.
        node_collateral_wei: collateral each devnet node deposits (0: twice the minimum).
        penalty_enforce_after_s: the operator settles penalty Tickets a node left unsettled
            this long (with the signer's key; negative: never).
        settle_margin_s: longest time from a job's processing deadline to its Ticket settling
            on L1; a job's ``timeoutSeconds`` plus this must stay below both EmethCore
            withdrawal delays (``None``: 30 s on a local Anvil devnet, 1 hour elsewhere).
        program_modules: extra program modules (each with ``register(registry)``).
    """

    db_url: str = ""
    el_port: int = 0
    poll_interval_ms: int = 100
    jitter_pct: int = 25
    max_failures: int = 5
    confirmations: int | None = None
    signer_interval_s: float = 1.0
    split_parts: int = 4
    split_grace_s: float = 3.0
    penalty_bps: int = 2500
    verifier_account: int = 37
    splitter_account: int = 38
    aggregator_account: int = 39
    node_collateral_wei: int = 0
    penalty_enforce_after_s: float = 10.0
    settle_margin_s: int | None = None
    program_modules: list[str] = field(default_factory=list)

    def settle_margin_on(self, chain_id: int) -> int:
        """``settle_margin_s``, or the default of chain ``chain_id`` when unset."""
        if self.settle_margin_s is not None:
            return self.settle_margin_s
        return 30 if chain_id == ANVIL_CHAIN_ID else 3600

    def confirmations_on(self, chain_id: int) -> int:
        """``confirmations``, or the default of chain ``chain_id`` when unset."""
        from offchain.chain.networks import default_confirmations

        if self.confirmations is not None:
            return self.confirmations
        return default_confirmations(chain_id)
