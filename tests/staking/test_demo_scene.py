"""The staking demo scene end to end on a fresh deployment (slow: waits for an epoch end)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from rich.console import Console

from offchain.chain.accounts import dev_account
from offchain.chain.anvil import Anvil
from offchain.chain.client import Chain, connect
from offchain.config import L2KitConfig
from offchain.demo.staking import run
from offchain.deploy import deploy_all


@pytest.mark.slow
def test_demo_scene_plays(tmp_path) -> None:
    with Anvil() as a:
        chain = Chain(connect(a.url))
        dep = deploy_all(chain, chain.sender(dev_account(0)), L2KitConfig(), log=lambda *_: None)
        console = Console(record=True, width=200)
        run(SimpleNamespace(chain=chain, deployment=dep, data_dir=tmp_path), console)  # type: ignore[arg-type]
        text = console.export_text()
        assert "sequencers locked at deployment" in text
        assert "rotation: epoch 2" in text
        assert "replaced after" in text and "HeartbeatMissed" in text
        assert "kicked by governance" in text and "is Kicked" in text
        assert dep.contract(chain, "locking_pool").functions.activeCount().call() == 3
