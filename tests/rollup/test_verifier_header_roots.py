"""A header whose MTTBR matches the published data but whose other claimed roots do not.

The data is honest (every step re-executes), so a fraud proof has nothing to prove: only the
verifier's comparison of the data's MTSR / withdrawal root / final state root with the
header's stands between such a batch and finality. The verifier must request the data on L1
(where DataAvailabilityChallenge checks the same roots), not mark the batch verified; a wrong
final state root alone (MTSR honest) it proves itself with proveBadSummary.
"""

from __future__ import annotations

import random

import pytest

from offchain.bridge.types import ETH
from offchain.chain.accounts import dev_account
from offchain.common.hashing import keccak
from offchain.rollup.l1.bindings import RequestStatus
from offchain.rollup.ledger.batch_builder import BatchBuilder
from offchain.rollup.ledger.tx import Deposit, sign_transfer
from offchain.storage.client import BlobClient
from tests.rollup.conftest import RollupEnv

ALICE, BOB = dev_account(10), dev_account(11)


@pytest.mark.parametrize("field", ["state_roots_root", "withdrawal_root", "final_state_root"])
def test_header_root_not_the_datas_is_challenged(rollup_env: RollupEnv, field: str) -> None:
    env = rollup_env
    bridge = env.chain.contract("L1Bridge", env.addresses["l1_bridge"])
    d = env.bridge(ALICE).deposit_eth(ALICE.address, 10**18 + random.randrange(10**9))
    b = BatchBuilder(
        env.domain,
        lambda i: bytes(bridge.functions.depositHash(i).call()),
        lambda c: bytes(bridge.functions.depositHashAt(c).call()),
    )
    t = sign_transfer(ALICE, env.domain, BOB.address, ETH, random.randrange(1, 10**6), 0, 0)
    data, _ = b.build(
        [
            (Deposit(d.deposit_id, d.sender, d.l2_recipient, ETH, d.amount), ETH, True),
            (t, ETH, True),
        ]
    )
    honest = b.header(data, first_block=1, l2_blocks=1)
    header = b.header(
        data, first_block=1, l2_blocks=1, **{field: keccak(b"not it" + honest.hash())}
    )
    blob = data.encode()
    BlobClient(env.storage_url).put(blob)  # published: the data is available and decodes
    l1 = env.l1()
    current = env.seqset().functions.currentSequencer().call()
    seq = next(s for s in env.signers if s.address == current)
    env.l1(seq).append_batch(header, env.sign(header))
    v = env.start_verifier(dev_account(36))
    out = v.tick()[0]
    if field == "final_state_root":
        # Every step and every committed root is honest: the summary is provable on L1 and
        # the verifier proves it itself (proveBadSummary), no data request needed.
        assert (out.index, out.result) == (0, "fraud_proven"), out
        assert out.detail.startswith("summary"), out
        assert l1.data_request(0).status == RequestStatus.NONE and l1.next_index() == 0
        return
    assert (out.index, out.result, out.detail) == (
        0,
        "requested",
        "claimed roots do not match the header",
    ), out
    assert v.verified_index == -1, "the batch was not accepted"
    req = l1.data_request(0)
    assert req.status == RequestStatus.OPEN and req.header_hash == header.hash()
