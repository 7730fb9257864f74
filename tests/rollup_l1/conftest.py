"""Fixtures for the rollup L1 contracts on the production deployment (``deploy_all``: the real
LockingPool, SequencerSet and governance) with 4 sequencers (and, slow-marked, the configured
maximum of 21), a dealt FROST group key installed by the set with its members' approvals
(:func:`tests.helpers.prod.deploy_prod`), deployed once per module (each test runs between an
evm_snapshot and an evm_revert).

The staking contracts stay under the Timelock. The rollup contracts' admin (StateCommitment,
DataAvailabilityChallenge, FraudProver) is handed by the Timelock (a governance action,
impersonated on Anvil) to ``env.owner``, so that the admin-function tests call them directly.
The windows are the ones these tests were written for (:func:`rollup_l1_config`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from offchain.chain.accounts import dev_account
from offchain.chain.client import Chain
from offchain.config import L2KitConfig
from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.ledger.state import State
from tests.helpers.frost import as_timelock
from tests.helpers.prod import BPS, WINDOWED_DA_FEE_WEI, ProdRollup, deploy_prod, windowed_config
from tests.helpers.rollup import placeholder_header

WINDOW_S = 100
DA_WINDOW_S = 30
DA_FEE = WINDOWED_DA_FEE_WEI
FORCE_WINDOW_S = 30
FREEZE_AFTER_S = 200
GENESIS = State().root  # the ledger's genesis state root
# Handed from the Timelock to ``Env.owner``.
ADMIN_KEYS = ("state_commitment", "da_challenge", "fraud_prover")


def rollup_l1_config(n: int) -> L2KitConfig:
    """:func:`tests.helpers.prod.windowed_config` of ``n`` with these tests' windows (the bond
    tests set their own ``da_fee_per_tx_wei``)."""
    return windowed_config(
        n,
        challenge_s=WINDOW_S,
        da_s=DA_WINDOW_S,
        force_s=FORCE_WINDOW_S,
        freeze_after_s=FREEZE_AFTER_S,
    )


_CFG = rollup_l1_config(4).rollup.effective(31337)
SLASH = _CFG.da_slash_amount  # the DA challenge's slash (tokens of the LockingPool)
FRAUD_SLASH = _CFG.fraud_slash_amount
L2_CHAIN_ID = _CFG.l2_chain_id


@dataclass
class Env(ProdRollup):
    """The production deployment (:class:`ProdRollup`) with an owner of the rollup contracts.

    Attributes:
        owner: the rollup contracts' admin (dev account 0, also the deployer).
    """

    owner: LocalAccount = field(default_factory=lambda: dev_account(0))

    @property
    def signers(self) -> list[LocalAccount]:
        """The sequencers: the current one first, then the others by address."""
        cur = self.current()
        rest = sorted(
            (a for a in self.keys.values() if a.address != cur.address),
            key=lambda a: int(a.address, 16),
        )
        return [cur, *rest]

    def header(self, index: int, **kw: Any) -> BatchHeader:
        return placeholder_header(index, **kw)

    def stake_at_deploy(self, signer: str) -> int:
        """``signer``'s stake right after the deployment (wei of the staking token)."""
        pool = self.c("locking_pool").functions
        return int(pool.sequencer(signer).call(block_identifier=self.dep.block)[2])

    def paid(self, slashed: int) -> int:
        """The beneficiary's share of ``slashed`` (``slashBeneficiaryBps``; in the pool)."""
        return slashed * self.config.staking.slash_beneficiary_bps // BPS

    def govern(self, call: Any) -> None:
        """Send ``call`` from the Timelock (a governance action; impersonated on Anvil)."""
        as_timelock(self.chain, self.dep, call)


def deploy_env(chain: Chain, n: int = 4) -> Env:
    """``deploy_all`` with ``n`` sequencers and a group key; the rollup contracts' admin handed
    to dev account 0; a fee-on-transfer token (``fee_token``) for the bridge tests."""
    p = deploy_prod(chain, n, rollup_l1_config(n))
    env = Env(p.chain, p.dep, p.config, p.shares, p.keys)
    for key in ADMIN_KEYS:
        env.govern(env.c(key).functions.transferOwnership(env.owner.address))
    fee_token = chain.sender(env.owner).deploy("FeeOnTransferToken")
    env.dep.addresses["fee_token"] = fee_token.address
    env.dep.contracts["fee_token"] = "FeeOnTransferToken"
    return env


@pytest.fixture(
    scope="module", params=[4, pytest.param(21, marks=pytest.mark.slow)], ids=lambda n: f"{n}seq"
)
def env(chain: Chain, request: pytest.FixtureRequest) -> Env:
    return deploy_env(chain, int(request.param))


@pytest.fixture
def expect_revert() -> Callable[..., Any]:
    """``expect_revert("ErrorName", fn, *args)``: calls fn and asserts the decoded custom error."""
    from offchain.errors import TxReverted

    def check(name: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> TxReverted:
        with pytest.raises(TxReverted) as ei:
            fn(*args, **kw)
        assert ei.value.error_name == name, str(ei.value)
        return ei.value

    return check


@pytest.fixture
def expect_call_revert(chain: Chain) -> Callable[..., Any]:
    """``expect_call_revert("ErrorName", c.functions.f(...))``: an eth_call reverts with it."""
    from web3.exceptions import ContractCustomError

    def check(name: str, call: Any, tx: dict[str, Any] | None = None) -> tuple[Any, ...]:
        with pytest.raises(ContractCustomError) as ei:
            call.call(tx or {})
        data = ei.value.data if isinstance(ei.value.data, str) else str(ei.value.args[0])
        got, args, _ = chain.artifacts.decode_error(data)
        assert got == name, f"{got} != {name}"
        return args

    return check
