"""Filesystem locations of the project (repository root, build output, toolchain)."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The l2kit checkout (overridable with ``L2KIT_ROOT``)."""
    env = os.environ.get("L2KIT_ROOT")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parent.parent


def contracts_dir() -> Path:
    return repo_root() / "contracts"


def build_dir() -> Path:
    return Path(os.environ.get("L2KIT_BUILD_DIR", repo_root() / "build"))


def node_modules() -> Path:
    return repo_root() / "node_modules"


def solc_shim() -> Path:
    return repo_root() / "tools" / "solc"


def foundry_binary(tool: str) -> Path | None:
    """Path of the native ``anvil``/``forge``/``cast`` binary from npm, or ``None``."""
    env = os.environ.get(f"L2KIT_{tool.upper()}")
    if env:
        return Path(env)
    p = node_modules() / "@foundry-rs" / f"{tool}-linux-amd64" / "bin" / tool
    return p if p.exists() else None
