"""The shared job-backing vector of posted Tickets (tests/vectors/job_backing.json).

Python (this file) and Solidity (tests/forge/emeth/JobBackingVector.t.sol) must both reproduce
it: the requester's RegisterJob digest in the execution layer's domain and its signature, the
``JobBacking`` leaves (a job and a SubJob of another), their ``jobsRoot`` and leaf proofs.
Regenerate after a deliberate format change with ``python -m tests.emeth.l1.test_backing_vector``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_account import Account

from offchain.common.hashing import keccak
from offchain.emeth.backing import (
    JobBacking,
    backed_jobs_root,
    leaf_proof,
    register_digest,
    signed_job,
)
from offchain.emeth.execution.actions import Domain, recover_actor

VECTOR = Path(__file__).resolve().parents[2] / "vectors" / "job_backing.json"
REQUESTER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
CHAIN_ID = 31337
CORE = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
EL_ID = 1234567
PROCESSED_AT = 1_700_000_100


def _jobs() -> list[JobBacking]:
    key = Account.from_key(REQUESTER_KEY)
    domain = Domain(CHAIN_ID, CORE, EL_ID)
    plain = signed_job(
        domain, key, bytes.fromhex("0102030405060708090a0b0c0d0e0f10"), 3 * 10**18, PROCESSED_AT
    )
    sub = signed_job(
        domain,
        key,
        bytes.fromhex("2122232425262728292a2b2c2d2e2f30"),
        10**18 // 4,
        PROCESSED_AT + 7,
        max_fee=10**18,
        fuel=250,
        part=3,  # SubJob 2 of the registered job
        expires_at=1_700_086_400,
    )
    return [plain, sub]


def build_vector() -> dict[str, Any]:
    """Compute the vector from its fixed inputs."""
    jobs = _jobs()
    domain = Domain(CHAIN_ID, CORE, EL_ID)
    return {
        "description": "EMETH posted-Ticket job leaves (docs/spec.md, Disputes and the bonded "
        "Signer set). Integers are decimal strings; string fields of RegisterJob also given "
        "as their keccak256.",
        "domain": domain.as_dict(),
        "elId": str(EL_ID),
        "requester": Account.from_key(REQUESTER_KEY).address,
        "requesterKey": REQUESTER_KEY,
        "jobs": [
            j.to_dict()
            | {
                "programIdHash": "0x" + keccak(j.register["programId"].encode()).hex(),
                "datasetKeyHash": "0x" + keccak(j.register["datasetKey"].encode()).hex(),
                "paramsHash": "0x" + keccak(j.register["params"].encode()).hex(),
                "registerDigest": "0x" + register_digest(domain, j.register).hex(),
                "leaf": "0x" + j.leaf.hex(),
                "proof": ["0x" + p.hex() for p in leaf_proof(jobs, i).proof],
            }
            for i, j in enumerate(jobs)
        ],
        "jobsRoot": "0x" + backed_jobs_root(jobs).hex(),
    }


def test_vector_file_matches_python() -> None:
    assert json.loads(VECTOR.read_text()) == build_vector()


def test_vector_signatures_recover_the_requester() -> None:
    v = json.loads(VECTOR.read_text())
    domain = Domain.from_dict(v["domain"])
    for j in v["jobs"]:
        assert (
            recover_actor(domain, "RegisterJob", j["register"], j["registerSignature"])
            == (v["requester"])
        )
        assert JobBacking.from_dict(j).leaf.hex() == j["leaf"][2:]


def test_vector_matches_solidity_on_anvil(emeth) -> None:  # type: ignore[no-untyped-def]
    """EmethCore's leaf and SubJob id equal the vector's (its digest depends on the deployment
    address and is covered by tests/emeth/l1/test_disputes.py)."""
    v = json.loads(VECTOR.read_text())
    core = emeth.l1.core.functions
    for j in v["jobs"]:
        b = JobBacking.from_dict(j)
        assert "0x" + bytes(core.jobBackingLeaf(b.as_abi()).call()).hex() == j["leaf"]
        if b.part:
            assert bytes(core.subJobId(b.register["jobId"], b.part - 1).call()) == b.job_id


if __name__ == "__main__":
    VECTOR.parent.mkdir(parents=True, exist_ok=True)
    VECTOR.write_text(json.dumps(build_vector(), indent=2) + "\n")
    print(f"wrote {VECTOR}")
