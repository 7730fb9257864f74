"""What a requester does: deposit on L1, register jobs (dataset to the blob store), cancel,
follow status and fetch results. Used by ``l2kit emeth`` and by the tests and demo."""

from __future__ import annotations

import json
import secrets
import time
from typing import TYPE_CHECKING, Any

from offchain.emeth.errors import EmethError, ExecutionLayerError
from offchain.emeth.execution.client import ExecutionClient
from offchain.emeth.ticket import DebitProof
from offchain.storage.client import BlobClient

if TYPE_CHECKING:
    from offchain.chain.tx import TxSender
    from offchain.emeth.l1 import EmethL1

FINAL_STATES = (
    "verified",
    "confirmed",
    "billed",
    "rejected",
    "timed_out",
    "cancelled",
    "expired",
)


def new_job_id() -> str:
    """A fresh random bytes16 job id (0x-hex), top bit clear (set ones are SubJob ids)."""
    raw = bytearray(secrets.token_bytes(16))
    raw[0] &= 0x7F
    return "0x" + raw.hex()


def submit_job(
    client: ExecutionClient,
    blobs: BlobClient,
    account: Any,
    program_id: str,
    dataset: bytes,
    fee_wei: int,
    *,
    timeout_s: int = 30,
    expires_in_s: int = 3600,
    splittable: bool = False,
    params: dict[str, Any] | None = None,
    job_id: str | None = None,
) -> dict[str, Any]:
    """Store ``dataset`` and register a job for it (signed by ``account``).

    Returns:
        The registered job (as the execution layer returns it).

    Raises:
        ExecutionLayerError: refused (e.g. ``insufficient_deposit``) or unreachable.
        StorageError: the blob store is unreachable.
    """
    key = blobs.put(dataset)
    msg = {
        "jobId": job_id or new_job_id(),
        "requester": account.address,
        "programId": program_id,
        "datasetKey": key,
        "params": json.dumps(params or {}, sort_keys=True),
        "fee": fee_wei,
        "timeoutSeconds": timeout_s,
        "expiresAt": int(time.time()) + expires_in_s,
        "splittable": splittable,
    }
    return client.act("RegisterJob", msg, account)["job"]  # type: ignore[no-any-return]


def wait_for(
    client: ExecutionClient, job_id: str, states: tuple[str, ...], timeout_s: float = 60.0
) -> dict[str, Any]:
    """Poll until job ``job_id`` is in one of ``states``.

    Raises:
        EmethError: not reached within ``timeout_s`` (the message names the last state).
    """
    deadline = time.monotonic() + timeout_s
    job = client.job(job_id)
    while job["state"] not in states:
        if time.monotonic() > deadline:
            raise EmethError(f"job {job_id} still {job['state']} after {timeout_s:.0f}s")
        time.sleep(0.05)
        job = client.job(job_id)
    return job


def fetch_result(client: ExecutionClient, blobs: BlobClient, job_id: str) -> bytes:
    """The result of a finished job (a parent's aggregated result).

    Raises:
        EmethError: the job has no accepted result yet.
    """
    job = client.job(job_id)
    ok = ("verified", "confirmed", "billed")
    if job["state"] not in ok or not job["resultKey"]:
        raise EmethError(f"job {job_id} has no result (state {job['state']})")
    return blobs.get(job["resultKey"])


def newest_debit_proof(client: ExecutionClient, l1: EmethL1, requester: str) -> DebitProof | None:
    """The requester's newest debit leaf in a Ticket of this execution layer settled on L1
    (``None`` when no settled Ticket debits it): what ``requestWithdrawal`` / ``withdraw`` /
    ``proveDebit`` take to bring its lazy balance up to date.

    Raises:
        ExecutionLayerError: the execution layer is unreachable or answered another error.
    """
    for settled in (False, True):  # the newest leaf, else the newest the EL knows settled
        try:
            d = client.debit(requester, settled=settled)
        except ExecutionLayerError as e:
            if e.status == 404:
                return None
            raise
        if l1.is_settled(int(d["ticketId"])):
            return DebitProof.from_dict(d)
    return None


def own_debit_proofs(client: ExecutionClient, l1: EmethL1, requester: str) -> list[DebitProof]:
    """:func:`newest_debit_proof` as the list ``requestWithdrawal`` / ``withdraw`` take."""
    p = newest_debit_proof(client, l1, requester)
    return [p] if p is not None else []


def prove_own_debit(client: ExecutionClient, l1: EmethL1, sender: TxSender, requester: str) -> int:
    """Prove the requester's newest settled debit on L1 if it is newer than the proven one
    (anyone may send it); returns ``spendableDeposit`` afterwards."""
    p = newest_debit_proof(client, l1, requester)
    if p is not None and p.ticket_id > l1.debit_mark(requester, l1.el_of(p.ticket_id))[0]:
        l1.prove_debit(sender, requester, p)
    return l1.spendable_deposit(requester)
