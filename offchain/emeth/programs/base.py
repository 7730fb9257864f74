"""The program plugin interface and its registry.

A *program* is what a job runs. It is identified by a ProgramId (a short string such as
``wordcount/v1``) and provides four operations:

- ``compute(dataset, params) -> (result, fuel)``: what a node runs;
- ``verify(dataset, result, params, fuel) -> Verdict``: what the L2 Verifier runs; it must
  reject any wrong result (it may be probabilistic, like Freivalds' check);
- ``split(dataset, parts, params) -> [datasets]``: what the Splitter runs (or ``[]`` when the
  dataset cannot be split further);
- ``aggregate(results, params) -> result``: what the Aggregator runs over the SubJobs'
  results, in SubJob order; ``aggregate(split results) == compute(whole)`` must hold.

``fuel`` is the deterministic amount of work a dataset costs (words, records,
multiply-adds); the verifier checks the node reported it exactly, and the Ticket adds it
to the node's total fuel on L1.
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from offchain.emeth.errors import UnknownProgram


@dataclass(frozen=True)
class Verdict:
    """Outcome of a verification: ``ok`` or a one-line ``reason`` why not."""

    ok: bool
    reason: str = ""


class Program(ABC):
    """A compute program. Subclass it, set :attr:`program_id`, and register an instance."""

    program_id: str = ""
    description: str = ""

    @abstractmethod
    def compute(self, dataset: bytes, params: dict[str, Any]) -> tuple[bytes, int]:
        """Run the job.

        Args:
            dataset: the job's input bytes.
            params: job parameters (JSON object given at registration).

        Returns:
            ``(result bytes, fuel used)``.

        Raises:
            ProgramError: the dataset or params are malformed.
        """

    @abstractmethod
    def fuel(self, dataset: bytes, params: dict[str, Any]) -> int:
        """The exact fuel ``compute`` reports for ``dataset`` (cheap to evaluate)."""

    @abstractmethod
    def verify(self, dataset: bytes, result: bytes, params: dict[str, Any], fuel: int) -> Verdict:
        """Check a node's ``result`` (and reported ``fuel``) for ``dataset``."""

    @abstractmethod
    def split(self, dataset: bytes, parts: int, params: dict[str, Any]) -> list[bytes]:
        """Divide ``dataset`` into at most ``parts`` non-empty datasets (``[]``: cannot split)."""

    @abstractmethod
    def aggregate(self, results: list[bytes], params: dict[str, Any]) -> bytes:
        """Merge SubJob results (in SubJob order) into the parent's result."""


@dataclass
class ProgramRegistry:
    """ProgramId -> :class:`Program`."""

    programs: dict[str, Program] = field(default_factory=dict)

    def register(self, program: Program) -> Program:
        """Add ``program`` (replacing one with the same id). Returns it, so it works as a helper."""
        if not program.program_id or len(program.program_id) > 64:
            raise ValueError("a program needs a program_id of 1..64 characters")
        self.programs[program.program_id] = program
        return program

    def get(self, program_id: str) -> Program:
        """The program registered as ``program_id``.

        Raises:
            UnknownProgram: none is, with the closest known ids as a hint.
        """
        try:
            return self.programs[program_id]
        except KeyError:
            close = difflib.get_close_matches(program_id, list(self.programs), n=3)
            hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(self)}"
            raise UnknownProgram(f"unknown program {program_id!r}", hint) from None

    def __contains__(self, program_id: object) -> bool:
        return program_id in self.programs

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(sorted(self.programs))
