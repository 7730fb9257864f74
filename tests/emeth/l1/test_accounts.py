"""EmethCore deposits, collateral, cancellations, signers and params on Anvil."""

from __future__ import annotations

import pytest
from web3.logs import DISCARD

from offchain.emeth.ticket import TicketError
from offchain.errors import TxReverted
from tests.emeth.l1.conftest import EMETH


def _event(contract, name, rcpt):  # type: ignore[no-untyped-def]
    return getattr(contract.events, name)().process_receipt(rcpt, errors=DISCARD)[0]["args"]


def test_deploy_step_authorises_signer_and_funds_roles(emeth) -> None:
    l1, p = emeth.l1, emeth.config.emeth.effective(31337)
    assert l1.is_signer(emeth.signer.address)
    assert not l1.is_signer(emeth.owner.address)
    assert l1.withdrawal_delay_s() == p.withdrawal_delay_s
    assert l1.collateral_withdrawal_delay_s() == p.collateral_withdrawal_delay_s
    assert l1.min_collateral() == p.min_collateral_wei
    for acct in [*emeth.requesters, *emeth.nodes]:
        assert l1.token_balance(acct.address) == p.faucet_wei


def test_deposit_credits_balance_and_emits(emeth, tx) -> None:
    l1, req = emeth.l1, emeth.requesters[0]
    before = l1.token_balance(req.address)
    held = l1.token_balance(l1.core_address)  # the devnet signer's bond
    assert held == l1.bonded_signer(emeth.signer.address).bond
    rcpt = l1.deposit(tx(req), 500 * EMETH)
    ev = _event(l1.core, "Deposited", rcpt)
    assert (ev["requester"], ev["amount"], ev["balance"]) == (req.address, 500 * EMETH, 500 * EMETH)
    assert l1.deposit_of(req.address).balance == 500 * EMETH
    assert l1.available_deposit(req.address) == 500 * EMETH
    assert l1.token_balance(req.address) == before - 500 * EMETH
    assert l1.token_balance(l1.core_address) == held + 500 * EMETH


def test_zero_deposit_rejected(emeth, tx) -> None:
    with pytest.raises(TxReverted) as e:
        emeth.l1.deposit(tx(emeth.requesters[0]), 0)
    assert e.value.error_name == "EmethCoreZeroAmount"


def test_withdrawal_waits_for_the_delay(emeth, tx) -> None:
    l1, req = emeth.l1, emeth.requesters[0]
    s = tx(req)
    l1.deposit(s, 100 * EMETH)
    rcpt = l1.request_withdrawal(s, 40 * EMETH)
    ev = _event(l1.core, "WithdrawalRequested", rcpt)
    state = l1.deposit_of(req.address)
    assert state.pending == 40 * EMETH and ev["readyAt"] == state.ready_at
    assert l1.available_deposit(req.address) == 60 * EMETH
    with pytest.raises(TxReverted) as e:
        l1.withdraw(s)
    assert e.value.error_name == "EmethCoreWithdrawalNotReady"
    assert e.value.error_args[0] == req.address and e.value.error_args[1] == state.ready_at
    assert l1.deposit_of(req.address) == state  # nothing changed
    emeth.advance(l1.withdrawal_delay_s())
    wallet = l1.token_balance(req.address)
    rcpt = l1.withdraw(s)
    assert _event(l1.core, "Withdrawn", rcpt)["amount"] == 40 * EMETH
    assert l1.token_balance(req.address) == wallet + 40 * EMETH
    assert l1.deposit_of(req.address).balance == 60 * EMETH
    assert l1.deposit_of(req.address).pending == 0


def test_cannot_request_more_than_available(emeth, tx) -> None:
    l1, req = emeth.l1, emeth.requesters[0]
    s = tx(req)
    l1.deposit(s, 100 * EMETH)
    l1.request_withdrawal(s, 70 * EMETH)
    with pytest.raises(TxReverted) as e:
        l1.request_withdrawal(s, 31 * EMETH)  # only 30 left outside the pending 70
    assert e.value.error_name == "EmethCoreWithdrawalExceedsBalance"
    assert e.value.error_args == (req.address, 31 * EMETH, 30 * EMETH)
    with pytest.raises(TxReverted) as e:
        l1.request_withdrawal(tx(emeth.requesters[1]), 1)  # no deposit at all
    assert e.value.error_name == "EmethCoreWithdrawalExceedsBalance"
    with pytest.raises(TxReverted) as e:
        l1.request_withdrawal(s, 0)
    assert e.value.error_name == "EmethCoreZeroAmount"


def test_withdraw_without_request_rejected(emeth, tx) -> None:
    l1, req = emeth.l1, emeth.requesters[0]
    l1.deposit(tx(req), 10 * EMETH)
    with pytest.raises(TxReverted) as e:
        l1.withdraw(tx(req))
    assert e.value.error_name == "EmethCoreNoPendingWithdrawal"
    assert e.value.error_args == (req.address,)


def test_second_request_adds_and_restarts_delay(emeth, tx) -> None:
    l1, req = emeth.l1, emeth.requesters[0]
    s = tx(req)
    l1.deposit(s, 100 * EMETH)
    l1.request_withdrawal(s, 10 * EMETH)
    first = l1.deposit_of(req.address).ready_at
    emeth.advance(5)
    l1.request_withdrawal(s, 15 * EMETH)
    st = l1.deposit_of(req.address)
    assert st.pending == 25 * EMETH and st.ready_at > first


def test_collateral_eligibility_and_delayed_withdrawal(emeth, tx) -> None:
    l1, node = emeth.l1, emeth.nodes[0]
    s = tx(node)
    minimum = l1.min_collateral()
    assert not l1.is_eligible_node(node.address)
    rcpt = l1.deposit_collateral(s, minimum)
    ev = _event(l1.core, "CollateralDeposited", rcpt)
    assert (ev["node"], ev["amount"], ev["balance"]) == (node.address, minimum, minimum)
    assert l1.is_eligible_node(node.address)
    rcpt = l1.request_collateral_withdrawal(s, 1)
    assert _event(l1.core, "CollateralWithdrawalRequested", rcpt)["pending"] == 1
    assert not l1.is_eligible_node(node.address)  # pending collateral does not count
    with pytest.raises(TxReverted) as e:
        l1.withdraw_collateral(s)
    assert e.value.error_name == "EmethCoreWithdrawalNotReady"
    with pytest.raises(TxReverted) as e:
        l1.request_collateral_withdrawal(s, minimum)
    assert e.value.error_name == "EmethCoreWithdrawalExceedsBalance"
    emeth.advance(l1.collateral_withdrawal_delay_s())
    rcpt = l1.withdraw_collateral(s)
    assert _event(l1.core, "CollateralWithdrawn", rcpt)["amount"] == 1
    assert l1.collateral_of(node.address) == type(l1.collateral_of(node.address))(minimum - 1, 0, 0)
    with pytest.raises(TxReverted) as e:
        l1.withdraw_collateral(s)
    assert e.value.error_name == "EmethCoreNoPendingWithdrawal"


def test_cancel_records_time_and_emits(emeth, tx) -> None:
    l1, req, other = emeth.l1, emeth.requesters[0], emeth.requesters[1]
    job = bytes.fromhex("00112233445566778899aabbccddeeff")
    start = emeth.chain.w3.eth.block_number
    rcpt = l1.cancel(tx(req), job)
    ev = _event(l1.core, "JobCancelled", rcpt)
    ts = emeth.chain.w3.eth.get_block(rcpt["blockNumber"])["timestamp"]
    assert (bytes(ev["jobId"]), ev["requester"], ev["at"]) == (job, req.address, ts)
    assert l1.cancelled_at(job, req.address) == ts
    assert l1.cancelled_at(job, other.address) == 0  # keyed by requester: nobody cancels for you
    with pytest.raises(TxReverted) as e:
        l1.cancel(tx(req), job)
    assert e.value.error_name == "EmethCoreJobAlreadyCancelled"
    assert e.value.error_args == (job, req.address, ts)
    (c,) = l1.cancellations(start + 1)
    assert (c.job_id, c.requester, c.at) == (job, req.address, ts)


def test_cancel_rejects_bad_job_ids(emeth, tx) -> None:
    with pytest.raises(TxReverted) as e:
        emeth.l1.cancel(tx(emeth.requesters[0]), b"\x00" * 16)
    assert e.value.error_name == "EmethCoreZeroJobId"
    with pytest.raises(TicketError):
        emeth.l1.cancel(tx(emeth.requesters[0]), b"\x01" * 15)


def test_set_signer_owner_only(emeth, tx) -> None:
    l1, new = emeth.l1, emeth.nodes[3]
    rcpt = l1.set_signer(tx(emeth.owner), new.address, True)
    ev = _event(l1.core, "SignerUpdated", rcpt)
    assert (ev["signer"], ev["authorised"]) == (new.address, True)
    assert l1.is_signer(new.address)
    l1.set_signer(tx(emeth.owner), new.address, False)
    assert not l1.is_signer(new.address)
    with pytest.raises(TxReverted) as e:
        l1.set_signer(tx(emeth.requesters[0]), new.address, True)
    assert e.value.error_name == "OwnableUnauthorizedAccount"
    with pytest.raises(TxReverted) as e:
        l1.set_signer(tx(emeth.owner), "0x" + "00" * 20, True)
    assert e.value.error_name == "EmethCoreZeroAddress"


def test_set_params_owner_only(emeth, tx) -> None:
    l1 = emeth.l1
    with pytest.raises(TxReverted) as e:  # settleMargin (30 s on a devnet) must stay below
        l1.set_params(tx(emeth.owner), 17, 18, 9)
    assert e.value.error_name == "EmethCoreSettleMarginTooLong"
    with pytest.raises(TxReverted) as e:  # ... and so must settleMargin + the dispute window
        l1.set_params(tx(emeth.owner), 16, 18, 9, settle_margin_s=6)
    assert e.value.error_name == "EmethCoreDisputeWindowTooLong"
    assert tuple(e.value.error_args) == (6, 10, 16, 18)  # margin, window, both delays
    rcpt = l1.set_params(tx(emeth.owner), 17, 18, 9, settle_margin_s=6)
    ev = _event(l1.core, "ParamsUpdated", rcpt)
    assert (ev["withdrawalDelay"], ev["collateralWithdrawalDelay"], ev["minCollateral"]) == (
        17,
        18,
        9,
    )
    assert ev["settleMargin"] == 6 == l1.settle_margin_s()
    assert (l1.withdrawal_delay_s(), l1.collateral_withdrawal_delay_s(), l1.min_collateral()) == (
        17,
        18,
        9,
    )
    with pytest.raises(TxReverted) as e:
        l1.set_params(tx(emeth.nodes[0]), 2, 2, 1, settle_margin_s=1)
    assert e.value.error_name == "OwnableUnauthorizedAccount"


def test_token_mint_owner_only(emeth, tx) -> None:
    l1, who = emeth.l1, emeth.requesters[0]
    before = l1.token_balance(who.address)
    l1.mint(tx(emeth.owner), who.address, 5)
    assert l1.token_balance(who.address) == before + 5
    with pytest.raises(TxReverted) as e:
        l1.mint(tx(who), who.address, 5)
    assert e.value.error_name == "OwnableUnauthorizedAccount"


def test_deploy_all_includes_emeth_step(chain) -> None:  # type: ignore[no-untyped-def]
    from offchain.chain.accounts import dev_account
    from offchain.config import L2KitConfig
    from offchain.deploy import STEPS, deploy_all
    from offchain.emeth.l1 import EmethL1

    assert ("emeth", "offchain.emeth.deploy:deploy") in STEPS
    dep = deploy_all(chain, chain.sender(dev_account(0)), L2KitConfig(), log=lambda *_: None)
    l1 = EmethL1.from_deployment(chain, dep)
    assert (
        dep.contracts["emeth_core"] == "EmethCore" and dep.contracts["emeth_token"] == "EmethToken"
    )
    assert l1.token.address == dep.addresses["emeth_token"]
    assert l1.is_signer(dev_account(30).address)
