"""Fixtures of the L2 ledger tests: the shared vectors and the Solidity harness on Anvil."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from web3.contract import Contract

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "ledger.json"


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    return json.loads(VECTORS.read_text())  # type: ignore[no-any-return]


@pytest.fixture
def harness(chain, sender, owner, vectors) -> Contract:
    """L2StateTransitionHarness with the vectors' L1 deposit queue and forced items recorded."""
    s = sender(owner)
    h = s.deploy("L2StateTransitionHarness")
    for d in vectors["l1Deposits"]:
        s.send(h.functions.setDepositHash(d["depositId"], bytes.fromhex(d["hash"][2:])))
    for f in vectors["l1Forced"]:
        s.send(h.functions.setQueueItem(f["queueId"], bytes.fromhex(f["item"][2:])))
    return h
