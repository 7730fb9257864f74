"""Parameters of the EMETH L1 contracts (EmethCore, EmethToken) and their devnet funding.

The defaults are the devnet's (delays of seconds); :meth:`EmethParams.production` gives the
values for a public network.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EMETH = 10**18  # base units per EMETH (18 decimals)


@dataclass
class EmethParams:
    """EmethCore constructor arguments and who the deploy step authorises and funds.

    Attributes:
        withdrawal_delay_s: requester deposit withdrawal delay. Must exceed the longest time
            between the execution layer accepting a job and its Ticket settling on L1.
        collateral_withdrawal_delay_s: node collateral withdrawal delay (same rule for penalties).
        min_collateral_wei: collateral (not pending withdrawal) a node needs to take jobs.
        signer_address: Ticket signer to authorise; empty: dev account ``signer_account``.
        signer_account: dev account index of the devnet signer.
        requester_accounts: dev accounts funded as requesters on a devnet.
        node_accounts: dev accounts funded as nodes on a devnet.
        faucet_wei: EMETH minted to each of them (0: mint nothing, e.g. on a testnet).
    """

    withdrawal_delay_s: int = 20
    collateral_withdrawal_delay_s: int = 20
    min_collateral_wei: int = 100 * EMETH
    signer_address: str = ""
    signer_account: int = 30
    requester_accounts: list[int] = field(default_factory=lambda: [31, 32])
    node_accounts: list[int] = field(default_factory=lambda: [33, 34, 35, 36])
    faucet_wei: int = 1_000_000 * EMETH

    @classmethod
    def production(cls, signer_address: str) -> EmethParams:
        """Public-network values: day-long delays, no faucet, an explicit signer."""
        return cls(
            withdrawal_delay_s=3 * 86_400,
            collateral_withdrawal_delay_s=7 * 86_400,
            min_collateral_wei=10_000 * EMETH,
            signer_address=signer_address,
            requester_accounts=[],
            node_accounts=[],
            faucet_wei=0,
        )
