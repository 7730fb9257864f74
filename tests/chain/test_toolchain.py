"""Compile pipeline, artifact loading and Anvil lifecycle."""

from __future__ import annotations

import json
import time

import pytest

from offchain.chain.anvil import Anvil
from offchain.chain.artifacts import Artifacts
from offchain.chain.compile import compile_contracts
from offchain.errors import ArtifactError, ConfigError


def test_compile_is_cached(artifacts: Artifacts) -> None:
    t0 = time.perf_counter()
    res = compile_contracts()
    assert res.cached
    assert time.perf_counter() - t0 < 1.0
    assert "Reverter" in artifacts.names()


def test_unknown_artifact_suggests_close_match(artifacts: Artifacts) -> None:
    with pytest.raises(ArtifactError) as e:
        artifacts.get("Revertr")
    assert "Reverter" in str(e.value)


def test_malformed_artifact_is_a_clear_error(tmp_path: object) -> None:
    from pathlib import Path

    d = Path(str(tmp_path))
    (d / "Broken.json").write_text(json.dumps({"abi": []}))
    with pytest.raises(ArtifactError, match="malformed artifact"):
        Artifacts(d).get("Broken")


def test_anvil_starts_answers_and_stops() -> None:
    a = Anvil()
    a.start()
    try:
        assert a.ready_s < 10
        from offchain.chain.client import connect

        assert connect(a.url).eth.chain_id == 31337
    finally:
        a.stop()
    assert a.proc is None


def test_anvil_port_taken_is_a_clear_error(anvil: Anvil) -> None:
    with pytest.raises(ConfigError, match=f"port {anvil.port} is already in use"):
        Anvil(port=anvil.port).start()
