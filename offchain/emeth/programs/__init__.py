"""Programs: plugins keyed by ProgramId (compute / verify / split / aggregate).

To add one, subclass :class:`~offchain.emeth.programs.base.Program` and register it::

    from offchain.emeth.programs import Program, Verdict, default_registry

    class Reverse(Program):
        program_id = "reverse/v1"
        ...

    registry = default_registry()
    registry.register(Reverse())

Agents take the registry they run with; ``l2kit emeth`` loads extra programs from the
modules named in ``EmethConfig.program_modules`` (each module's ``register(registry)``).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from offchain.emeth.errors import ConfigError
from offchain.emeth.programs.base import Program, ProgramRegistry, Verdict
from offchain.emeth.programs.matmul import MatMul
from offchain.emeth.programs.sortdedupe import SortDedupe
from offchain.emeth.programs.wordcount import WordCount


def default_registry(extra_modules: Iterable[str] = ()) -> ProgramRegistry:
    """The three built-in programs, plus those registered by ``extra_modules``.

    Args:
        extra_modules: importable module names, each with ``register(registry)``.

    Raises:
        ConfigError: a module cannot be imported or has no ``register``.
    """
    reg = ProgramRegistry()
    for p in (WordCount(), SortDedupe(), MatMul()):
        reg.register(p)
    for name in extra_modules:
        try:
            mod = importlib.import_module(name)
            mod.register(reg)
        except (ImportError, AttributeError) as e:
            raise ConfigError(f"cannot load program module {name!r}: {e}") from e
    return reg


__all__ = [
    "MatMul",
    "Program",
    "ProgramRegistry",
    "SortDedupe",
    "Verdict",
    "WordCount",
    "default_registry",
]
