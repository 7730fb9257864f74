"""The shared EIP-712 Ticket test vector (tests/vectors/ticket.json).

Python (this file) and Solidity (tests/forge/emeth/TicketVector.t.sol) must both reproduce it.
Regenerate after a deliberate format change with ``python -m tests.emeth.l1.test_vector``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

from offchain.common.hashing import keccak
from offchain.emeth.ticket import (
    TICKET_TYPE,
    build_ticket,
    job_leaf,
    recover_ticket_signer,
    sign_ticket,
    ticket_digest,
    typed_data,
)

VECTOR = Path(__file__).resolve().parents[2] / "vectors" / "ticket.json"
SIGNER_KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
CHAIN_ID = 31337
CORE = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
NODE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
REQ_A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
REQ_B = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
JOBS = [  # job id, requester, fuel, fee
    (bytes.fromhex("0102030405060708090a0b0c0d0e0f10"), REQ_A, 1_000, 3 * 10**18),
    (bytes.fromhex("a1a2a3a4a5a6a7a8a9aaabacadaeafb0"), REQ_B, 250, 10**18 // 4),
    (bytes.fromhex("ffeeddccbbaa99887766554433221100"), REQ_A, 7, 12_345),
]

PRIOR = {REQ_A: (7 * 10**17, 12)}  # REQ_A was debited before, last in Ticket 12


def build_vector() -> dict[str, Any]:
    """Compute the vector from its fixed inputs."""
    ticket = build_ticket(
        77, NODE, JOBS, penalty=5 * 10**17, prior=PRIOR, valid_until=1_700_003_600
    )
    signer = Account.from_key(SIGNER_KEY)
    signable = encode_typed_data(full_message=typed_data(CHAIN_ID, CORE, ticket))
    sig = sign_ticket(signer, CHAIN_ID, CORE, ticket)
    return {
        "description": "EMETH Ticket EIP-712 vector (docs/spec.md, EMETH Ticket). Integers are "
        "decimal strings.",
        "domain": {
            "name": "EmethCore",
            "version": "1",
            "chainId": str(CHAIN_ID),
            "verifyingContract": CORE,
        },
        "ticketTypehash": "0x" + keccak(TICKET_TYPE.encode()).hex(),
        "domainSeparator": "0x" + bytes(signable.header).hex(),
        "jobs": [
            {
                "jobId": "0x" + j.hex(),
                "requester": r,
                "node": NODE,
                "fuel": str(f),
                "fee": str(fee),
                "leaf": "0x" + job_leaf(j, r, NODE, f, fee).hex(),
            }
            for j, r, f, fee in JOBS
        ],
        "ticket": ticket.to_dict(),
        "debitLeaves": [
            {
                "leaf": "0x" + d.leaf.hex(),
                "proof": ticket.debit_proof(d.requester).to_dict(),
            }
            for d in ticket.debits
        ],
        "hashStruct": "0x" + bytes(signable.body).hex(),
        "digest": "0x" + ticket_digest(CHAIN_ID, CORE, ticket).hex(),
        "signerKey": SIGNER_KEY,
        "signer": signer.address,
        "signature": "0x" + sig.hex(),
    }


def test_vector_file_matches_python() -> None:
    assert json.loads(VECTOR.read_text()) == build_vector()


def test_vector_signature_recovers_signer() -> None:
    from offchain.emeth.ticket import Ticket

    v = json.loads(VECTOR.read_text())
    t = Ticket.from_dict(v["ticket"])
    sig = bytes.fromhex(v["signature"][2:])
    assert recover_ticket_signer(CHAIN_ID, CORE, t, sig) == v["signer"]
    # The digest by hand: keccak(0x1901 ‖ domainSeparator ‖ hashStruct).
    manual = keccak(
        b"\x19\x01" + bytes.fromhex(v["domainSeparator"][2:]) + bytes.fromhex(v["hashStruct"][2:])
    )
    assert manual.hex() == v["digest"][2:]


def test_vector_matches_solidity_on_anvil(emeth) -> None:  # type: ignore[no-untyped-def]
    """EmethCore's hashStruct and type hashes equal the vector's (they do not depend on the
    deployment address; the digest does and is covered by test_onchain_digest_matches_python)."""
    from offchain.emeth.ticket import Ticket

    v = json.loads(VECTOR.read_text())
    core = emeth.l1.core
    t = Ticket.from_dict(v["ticket"])
    assert "0x" + bytes(core.functions.hashTicket(t.as_abi()).call()).hex() == v["hashStruct"]
    assert "0x" + bytes(core.functions.TICKET_TYPEHASH().call()).hex() == v["ticketTypehash"]
    for j in v["jobs"]:
        leaf = core.functions.jobLeaf(
            bytes.fromhex(j["jobId"][2:]), j["requester"], j["node"], int(j["fuel"]), int(j["fee"])
        ).call()
        assert "0x" + bytes(leaf).hex() == j["leaf"]
    for d, dl in zip(v["ticket"]["debits"], v["debitLeaves"], strict=True):
        leaf = core.functions.debitLeaf(
            d["requester"], int(d["cumulative"]), int(d["prevTicketId"])
        ).call()
        assert "0x" + bytes(leaf).hex() == dl["leaf"]


if __name__ == "__main__":
    VECTOR.parent.mkdir(parents=True, exist_ok=True)
    VECTOR.write_text(json.dumps(build_vector(), indent=2) + "\n")
    print(f"wrote {VECTOR}")
