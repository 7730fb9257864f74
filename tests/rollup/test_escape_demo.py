"""The escape-hatch demo scene runs end to end on a devnet, on its own production deployment
(``deploy_all``: LockingPool, SequencerSet, governance; the key keepers' DKG installs the key)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from offchain.demo.escape import run
from offchain.devnet import Devnet


@pytest.mark.slow
def test_escape_demo_scene() -> None:
    buf = io.StringIO()
    with Devnet(ephemeral=True, log=lambda *_: None) as d:
        assert d.chain and d.deployment
        sc = d.deployment.contract(d.chain, "state_commitment")
        run(d, Console(file=buf, width=200))
        assert sc.functions.frozenAt().call() == 0  # the devnet's own rollup is left alone
    text = buf.getvalue()
    assert "reported and rotated out; included" in text
    assert "anyone froze the rollup" in text
    assert "the bridge now holds 0 wei (everyone has left)" in text
