"""The FROST demo scene end to end on a fresh deployment (slow: governance vote, reshares)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from rich.console import Console

from offchain.chain.accounts import dev_account
from offchain.chain.anvil import Anvil
from offchain.chain.client import Chain, connect
from offchain.config import L2KitConfig
from offchain.demo.frost import run
from offchain.deploy import deploy_all


@pytest.mark.slow
def test_frost_demo_scene_plays(tmp_path) -> None:
    with Anvil() as a:
        chain = Chain(connect(a.url))
        dep = deploy_all(chain, chain.sender(dev_account(0)), L2KitConfig(), log=lambda *_: None)
        console = Console(record=True, width=220)
        run(SimpleNamespace(chain=chain, deployment=dep, data_dir=tmp_path), console)  # type: ignore[arg-type]
        text = console.export_text()
        assert "group key on L1: none -> the daemons run a DKG" in text
        assert "DKG in" in text and "installed by" in text
        assert text.count("FROST signature") >= 3 and "accepted by verifyBatchSignatures" in text
        assert "(same; L1 groupKeyX unchanged: True)" in text
        assert "group key after the kick" in text and "(same: True)" in text
        assert "rejected on L1" in text
