"""The rollup-L1 demo scene runs end to end on a devnet and leaves the chain as it found it."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from offchain.demo.rollup_l1 import run
from offchain.devnet import Devnet


@pytest.mark.slow
def test_l1_demo_scene() -> None:
    buf = io.StringIO()
    with Devnet(ephemeral=True, log=lambda *_: None) as d:
        assert d.chain and d.deployment
        seqset = d.deployment.contract(d.chain, "sequencer_set")
        before = seqset.functions.activeSigners().call()
        run(d, Console(file=buf, width=200))
        assert seqset.functions.activeSigners().call() == before
    text = buf.getvalue()
    assert "bob +1.0000 ETH" in text
    assert text.count("kicked") == 2 and "batch 2 is invalid" in text
    # The challenger's slash reward is credited by the punishment and claimed by the scene.
    assert text.count("tokens credited, claimed") == 2 and "credited, claimed 0 " not in text
    # Issue #10: the withholder moves its stake to a fresh key; it is slashed and kicked anyway.
    assert "attack:" in text and "refused: the slash follows the staker" in text
