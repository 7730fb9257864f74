"""A user-defined program, loaded by module name (the README's example)."""

from __future__ import annotations

from typing import Any

from offchain.emeth.programs import Program, ProgramRegistry, Verdict


class Reverse(Program):
    program_id = "reverse/v1"

    def compute(self, dataset: bytes, params: dict[str, Any]) -> tuple[bytes, int]:
        return dataset[::-1], len(dataset)

    def fuel(self, dataset: bytes, params: dict[str, Any]) -> int:
        return len(dataset)

    def verify(self, dataset: bytes, result: bytes, params: dict[str, Any], fuel: int) -> Verdict:
        ok = result == dataset[::-1] and fuel == len(dataset)
        return Verdict(ok, "" if ok else "not the reversed dataset")

    def split(self, dataset: bytes, parts: int, params: dict[str, Any]) -> list[bytes]:
        return []

    def aggregate(self, results: list[bytes], params: dict[str, Any]) -> bytes:
        return b"".join(reversed(results))


def register(registry: ProgramRegistry) -> None:
    registry.register(Reverse())
