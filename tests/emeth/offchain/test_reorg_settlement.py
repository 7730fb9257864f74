"""Attack: an L1 reorg removes a Ticket settlement after the execution layer recorded it as
settled. The node's Billing agent must settle it again (L1 holds it afterwards), and the
requester pays once."""

from __future__ import annotations

from offchain.emeth.requester import submit_job, wait_for
from offchain.emeth.runtime import wait_until
from tests.emeth.offchain.conftest import EMETH, Env


def test_settlementRemovedByReorgIsSettledAgain(env: Env) -> None:
    alice = env.requesters[0]
    env.deposit(alice, 100 * EMETH)
    chain = env.devnet.chain
    assert chain is not None
    for _ in range(6):  # the deposit is deeper than the reorg
        chain.rpc("evm_mine")
    env.stack.start_agents()
    job = submit_job(env.client, env.blobs, alice, "sortdedupe/v1", b"b\na\n", 2 * EMETH)
    wait_for(env.client, job["jobId"], ("billed",), timeout_s=40)
    env.wait_settled(30)  # posted, then finalized after the dispute window
    (t,) = [t for t in env.client.tickets() if job["jobId"] in t["jobIds"]]
    tid = int(t["ticketId"])
    assert env.l1.is_settled(tid)
    # The finalizing transaction, from L1 (the execution layer may have learned of the
    # settlement from its L1 watcher first, without the transaction hash).
    (ev,) = [
        e
        for e in env.l1.core.events.TicketSettled().get_logs(from_block=0)
        if int(e["args"]["ticketId"]) == tid
    ]
    rcpt = chain.w3.eth.get_transaction_receipt(ev["transactionHash"])
    depth = int(chain.w3.eth.block_number) - int(rcpt["blockNumber"]) + 1
    chain.rpc("anvil_reorg", depth, [])
    assert not env.l1.is_settled(tid)  # L1 no longer holds it; the EL still says settled
    wait_until(lambda: env.l1.is_settled(tid), 15, "the Ticket settled again on L1")
    assert env.paid_balance(alice) == 98 * EMETH  # paid once


def test_cancelRemovedByReorgWithinConfirmationsIsNeverApplied(env: Env) -> None:
    """A ``JobCancelled`` that a reorg shallower than the L1 watcher's confirmations removes
    was never applied: the job is processed and billed as if nobody had cancelled it."""
    from offchain.config import load_config
    from offchain.emeth.agents.l1watch import CURSOR

    alice = env.requesters[0]
    env.deposit(alice, 100 * EMETH)
    chain = env.devnet.chain
    assert chain is not None and env.stack.service is not None
    service = env.stack.service
    confirmations = load_config().emeth_agents.confirmations_on(chain.chain_id)
    assert confirmations >= 2  # the default on a local devnet
    for _ in range(6):  # the deposit is deeper than the reorg
        chain.rpc("evm_mine")
    job = submit_job(env.client, env.blobs, alice, "sortdedupe/v1", b"b\na\n", 2 * EMETH)

    def watched(block: int) -> bool:
        return int(service.get_cursor(CURSOR) or -1) >= block

    env.l1.cancel(chain.sender(alice), bytes.fromhex(job["jobId"][2:]))
    chain.rpc("evm_mine")  # the cancel is 2 blocks deep: not yet past the confirmations
    head = int(chain.w3.eth.block_number)
    wait_until(lambda: watched(head - confirmations), 10, "the watcher at the confirmed head")
    assert env.client.job(job["jobId"])["state"] != "cancelled"
    chain.rpc("anvil_reorg", 2, [])  # the cancel's block is gone
    for _ in range(confirmations + 1):
        chain.rpc("evm_mine")
    wait_until(lambda: watched(head), 10, "the watcher past the reorged blocks")
    assert env.client.job(job["jobId"])["state"] != "cancelled"
    env.stack.start_agents()
    wait_for(env.client, job["jobId"], ("billed",), timeout_s=40)
