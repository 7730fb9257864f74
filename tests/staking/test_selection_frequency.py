"""1,000 real epoch rotations on Anvil: each sequencer is drawn within 5 points of its stake share.

Every epoch is a real ``SequencerSet.advanceEpoch`` transaction (epoch length set to 1 s, so
each new block may rotate), using the contract's own seed (committed future block hash) and
its ``selectIndex`` draw. The table of counts is printed.
"""

from __future__ import annotations

import time

import pytest
from web3.logs import DISCARD

from offchain.chain.tx import TxConfig

from .conftest import STAKES, Staking

# Slow lane (make test-all): 1,000 epochs. The default suite's draw checks: the forge attack
# tests of rotation grinding (tests/forge/attacks) and tests/staking/test_sequencer_set.py.
pytestmark = pytest.mark.slow

EPOCHS = 1_000


def test_thousand_epochs_follow_stake_share(st: Staking, seqs, capsys) -> None:
    st.gov.send(st.sset.functions.setTiming(1, 5))
    st.warp(31)  # end the epoch drawn at deployment
    sender = st.chain.sender(st.gov.account, TxConfig(poll_interval_s=0.005))
    counts = {a.address: 0 for a in seqs}
    epochs = set()
    st.chain.rpc("anvil_setBlockTimestampInterval", 1)  # every block 1 s after the previous
    try:
        t0 = time.perf_counter()
        for _ in range(EPOCHS):
            # One transaction per block (sequential), each block 1 s after the previous one.
            rcpt = sender.send(st.sset.functions.advanceEpoch(), gas=300_000)
            (ev,) = st.sset.events.SequencerRotated().process_receipt(rcpt, errors=DISCARD)
            counts[ev["args"]["next"]] += 1
            epochs.add(ev["args"]["epoch"])
        elapsed = time.perf_counter() - t0
    finally:
        st.chain.rpc("anvil_removeBlockTimestampInterval")
    assert len(epochs) == EPOCHS  # every transaction started a new epoch
    total = sum(STAKES)
    rows = []
    for acct, stake in zip(seqs, STAKES, strict=True):
        share = stake / total
        freq = counts[acct.address] / EPOCHS
        rows.append((acct.address, stake, share, counts[acct.address], freq))
    with capsys.disabled():
        print(f"\n{EPOCHS} epochs in {elapsed:.1f}s")
        print(f"{'sequencer':<44}{'stake':>8}{'share':>8}{'drawn':>7}{'freq':>8}")
        for addr, stake, share, n, freq in rows:
            print(f"{addr:<44}{stake:>8}{share:>8.3f}{n:>7}{freq:>8.3f}")
    for addr, _, share, _, freq in rows:
        assert abs(freq - share) < 0.05, f"{addr}: drawn {freq:.3f}, stake share {share:.3f}"
