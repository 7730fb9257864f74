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


def host_platform() -> str:
    """The Foundry npm platform suffix of this host: ``linux-amd64``, ``darwin-arm64``, ..."""
    import platform
    import sys

    system = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, "linux")
    machine = platform.machine().lower()
    arch = "arm64" if machine in ("arm64", "aarch64") else "amd64"
    return f"{system}-{arch}"


def foundry_binary(tool: str) -> Path | None:
    """Path of the native ``anvil``/``forge``/``cast`` binary from npm, or ``None``.

    npm installs only the package of the host platform (``@foundry-rs/<tool>-<os>-<arch>``,
    an optional dependency of ``@foundry-rs/<tool>``).
    """
    env = os.environ.get(f"L2KIT_{tool.upper()}")
    if env:
        return Path(env)
    exe = f"{tool}.exe" if host_platform().startswith("win32") else tool
    p = node_modules() / "@foundry-rs" / f"{tool}-{host_platform()}" / "bin" / exe
    return p if p.exists() else None
