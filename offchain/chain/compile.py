"""Compile every contract under ``contracts/`` in one standard-JSON call through the solc shim.

Artifacts are written to ``build/artifacts/<Contract>.json`` and cached by a hash of the
sources, the compiler settings and the OpenZeppelin version, so an unchanged tree
"compiles" by reading one small file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offchain.errors import CompileError, ToolchainError
from offchain.paths import build_dir, contracts_dir, node_modules, repo_root, solc_shim

SOLC_VERSION = "0.8.28"
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "outputSelection": {
        "*": {
            "*": [
                "abi",
                "evm.bytecode.object",
                "evm.deployedBytecode.object",
                "evm.methodIdentifiers",
            ]
        }
    },
}


@dataclass(frozen=True)
class CompileResult:
    """What :func:`compile_contracts` did."""

    cached: bool
    seconds: float
    contracts: int
    artifacts_dir: Path


def source_files(root: Path | None = None) -> list[Path]:
    """All ``.sol`` files under ``contracts/`` (sorted, so the hash is stable)."""
    base = root or contracts_dir()
    return sorted(p for p in base.rglob("*.sol") if p.is_file())


def _source_hash(files: list[Path]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(SETTINGS, sort_keys=True).encode())
    h.update(SOLC_VERSION.encode())
    oz = node_modules() / "@openzeppelin" / "contracts" / "package.json"
    if oz.exists():
        h.update(oz.read_bytes())
    for f in files:
        h.update(str(f.relative_to(repo_root())).encode())
        h.update(b"\0")
        h.update(f.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def _run_solc(input_json: dict[str, Any]) -> dict[str, Any]:
    shim = solc_shim()
    if shutil.which("node") is None:
        raise ToolchainError("node is not installed", "install Node.js 20+ and run `make setup`")
    if not (node_modules() / "solc").exists():
        raise ToolchainError("solc-js is not installed", "run `make setup`")
    proc = subprocess.run(
        [str(shim), "--standard-json"],
        input=json.dumps(input_json).encode(),
        capture_output=True,
        cwd=repo_root(),
        check=False,
    )
    if proc.returncode != 0:
        raise ToolchainError(
            f"solc shim failed: {proc.stderr.decode().strip()}", "run `make setup`"
        )
    try:
        out: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        raise ToolchainError(f"solc shim printed invalid JSON: {e}") from e
    return out


def compile_contracts(
    force: bool = False, out_dir: Path | None = None, log: Callable[[str], None] | None = None
) -> CompileResult:
    """Compile all of ``contracts/`` (one solc call), unless the cache is current.

    Args:
        force: ignore the cache.
        out_dir: build directory (default ``build/``).
        log: told before a real (uncached) compile starts, which can take a minute.

    Returns:
        A :class:`CompileResult`.

    Raises:
        CompileError: with every solc error message, if the sources do not compile.
        ToolchainError: if node/solc-js is missing.
    """
    start = time.perf_counter()
    build = out_dir or build_dir()
    art_dir = build / "artifacts"
    stamp = build / "compile-cache.json"
    files = source_files()
    digest = _source_hash(files)
    if not force and stamp.exists() and art_dir.exists():
        try:
            cached = json.loads(stamp.read_text())
            if cached.get("hash") == digest:
                return CompileResult(True, time.perf_counter() - start, cached["count"], art_dir)
        except (json.JSONDecodeError, KeyError):
            pass
    root = repo_root()
    if log is not None:
        log(f"compiling {len(files)} Solidity files (a cold compile can take a minute)...")
    sources = {str(f.relative_to(root)): {"content": f.read_text()} for f in files}
    out = _run_solc({"language": "Solidity", "sources": sources, "settings": SETTINGS})
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        msgs = "\n".join(e.get("formattedMessage", e.get("message", "")).strip() for e in errors)
        raise CompileError(f"Solidity compilation failed:\n{msgs}")
    if art_dir.exists():
        shutil.rmtree(art_dir)
    art_dir.mkdir(parents=True)
    count = 0
    # Our own contracts win over same-named library contracts.
    ordered = sorted(
        out.get("contracts", {}).items(), key=lambda kv: kv[0].startswith("contracts/")
    )
    for src, contracts in ordered:
        for name, c in contracts.items():
            artifact = {
                "contractName": name,
                "sourceName": src,
                "abi": c["abi"],
                "bytecode": "0x" + c["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + c["evm"]["deployedBytecode"]["object"],
                "methodIdentifiers": c["evm"].get("methodIdentifiers", {}),
            }
            (art_dir / f"{name}.json").write_text(json.dumps(artifact))
            count += 1
    stamp.write_text(json.dumps({"hash": digest, "count": count, "solc": SOLC_VERSION}))
    return CompileResult(False, time.perf_counter() - start, count, art_dir)
