"""What a requester does: deposit on L1, register jobs (dataset to the blob store), cancel,
follow status and fetch results. Used by ``l2kit emeth`` and by the tests and demo."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from offchain.emeth.errors import EmethError
from offchain.emeth.execution.client import ExecutionClient
from offchain.storage.client import BlobClient

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
