"""Execution layer API: signatures, roles, L1 checks, illegal transitions, idempotency."""

from __future__ import annotations

import time
from typing import Any

import requests

from offchain.chain.accounts import dev_account
from offchain.emeth.execution.actions import sign_action
from offchain.emeth.requester import new_job_id, submit_job
from tests.emeth.offchain.conftest import EMETH, Env


def _post(env: Env, action: str, msg: dict, signer) -> requests.Response:  # type: ignore[no-untyped-def]
    sig = sign_action(env.client.domain(), action, msg, signer)
    return requests.post(
        f"{env.stack.url}/actions",
        json={"action": action, "message": msg, "signature": sig},
        timeout=10,
    )


def test_errors_and_idempotency(env: Env) -> None:
    alice, bob = env.requesters
    env.deposit(alice, 50 * EMETH)
    job = submit_job(env.client, env.blobs, alice, "wordcount/v1", b"a\n", 1 * EMETH)
    node = env.stack.node_accounts[0]
    proc = {"jobId": job["jobId"], "node": node.address, "attempt": 1}
    # Signed by someone else than the named node: 401.
    r = _post(env, "Process", proc, bob)
    assert r.status_code == 401 and r.json()["error"]["code"] == "bad_signature"
    # Unknown job: 404.
    r = _post(env, "Process", proc | {"jobId": new_job_id()}, node)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_job"
    # Missing field: 422.
    r = requests.post(
        f"{env.stack.url}/actions",
        json={"action": "Process", "message": {"jobId": job["jobId"]}, "signature": "0x00"},
        timeout=10,
    )
    assert r.status_code == 422
    # Not a node (no collateral): 403.
    stranger = dev_account(25)
    r = _post(env, "Process", proc | {"node": stranger.address}, stranger)
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_collateral"
    # Some collateral, but less than the minimum: still 403, with the amounts.
    minimum = env.l1.min_collateral()
    env.l1.deposit_collateral(env.devnet.chain.sender(bob), minimum - 1)  # type: ignore[union-attr]
    r = _post(env, "Process", proc | {"node": bob.address}, bob)
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_collateral"
    assert r.json()["error"]["details"] == {
        "collateral": minimum - 1,
        "pendingPenalties": 0,
        "reserved": 0,
        "jobPenalty": r.json()["error"]["details"]["jobPenalty"],
        "minimum": minimum,
    }
    assert r.json()["error"]["details"]["jobPenalty"] > 0
    # A verifier action from a non-verifier: 403.
    r = _post(env, "Verify", {"jobId": job["jobId"], "verifier": bob.address, "attempt": 1}, bob)
    assert r.status_code == 403
    # Illegal transition (verify a registered job): 409.
    verifier = dev_account(env.stack.config.verifier_account)
    r = _post(
        env, "Verify", {"jobId": job["jobId"], "verifier": verifier.address, "attempt": 1}, verifier
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"
    # Process, then the same signed action again: applied once, replay answered idempotently.
    r1 = _post(env, "Process", proc, node)
    r2 = _post(env, "Process", proc, node)
    assert r1.status_code == r2.status_code == 200
    assert (r1.json()["replayed"], r2.json()["replayed"]) == (False, True)
    assert [h["action"] for h in env.client.history(job["jobId"])] == ["RegisterJob", "Process"]
    # Another node cannot take it.
    other = env.stack.node_accounts[1]
    r = _post(env, "Process", proc | {"node": other.address}, other)
    assert r.status_code == 409
    # ... nor hand in a result for it: only the processing node submits (403 not_assigned).
    sub = {"jobId": job["jobId"], "node": other.address, "attempt": 1, "resultKey": "0x01"}
    r = _post(env, "Submit", sub | {"fuel": 1}, other)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_assigned", r.json()
    assert env.client.job(job["jobId"])["state"] == "processing"
    # Withdraw, then a replay of the old attempt's Process is stale.
    env.client.act("Withdraw", proc, node)
    r = _post(env, "Process", proc | {"node": other.address}, other)
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale_attempt"

    # Unknown program / unfunded requester.
    def register(requester: Any, program_id: str) -> requests.Response:
        msg = {
            "jobId": new_job_id(),
            "requester": requester.address,
            "programId": program_id,
            "datasetKey": env.blobs.put(b"a b\n"),
            "params": "{}",
            "fee": 10,  # pays for the dataset's 2 units of fuel
            "timeoutSeconds": 5,
            "expiresAt": int(time.time()) + 600,
            "splittable": False,
        }
        return _post(env, "RegisterJob", msg, requester)

    r = register(bob, "wordcount/v1")
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_deposit"
    r = register(alice, "wordcont/v1")  # misspelt on purpose
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_program"
    assert requests.get(f"{env.stack.url}/jobs/0x1234", timeout=10).status_code == 422
    assert requests.get(f"{env.stack.url}/tickets/7", timeout=10).status_code == 404
