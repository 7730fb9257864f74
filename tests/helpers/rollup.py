"""Rollup helpers shared by the test suites and the benchmarks (never used by the daemons).

- :func:`placeholder_header`: a well-formed batch header with made-up roots (for L1 contract
  tests that do not need real L2 blocks);
- :class:`BatchAppender`: append a header signed by the set as its current sequencer, and
  move L1 time (the production deployment's, :class:`tests.helpers.prod.ProdRollup`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_account.signers.local import LocalAccount

from offchain.chain.client import Chain
from offchain.common.hashing import keccak
from offchain.rollup.l1.bindings import RollupL1
from offchain.rollup.ledger.batch import BatchHeader

# Labels hashed (with the batch index) into the made-up roots, in BatchHeader field order:
# tx_root, state_roots_root, final_state_root, withdrawal_root, data_hash.
ROOT_LABELS = ("txs%d", "mtsr%d", "final%d", "w%d", "data%d")


def placeholder_header(
    index: int, labels: Sequence[str] = ROOT_LABELS, **fields: Any
) -> BatchHeader:
    """A batch header with distinct made-up roots, for L1 contract tests and benchmarks.

    Args:
        index: batch index.
        labels: the five ``%d`` patterns hashed into the roots (see :data:`ROOT_LABELS`).
        fields: BatchHeader fields to override (defaults: blocks ``10*index`` ..+9, 4 txs,
            no deposits).

    Returns:
        The header.
    """
    tx, mtsr, final, withdrawals, data = (keccak(label.encode() % index) for label in labels)
    values: dict[str, Any] = dict(
        index=index,
        first_block=index * 10,
        l2_blocks=10,
        tx_count=4,
        deposit_count=0,
        deposit_hash=b"\x00" * 32,
        tx_root=tx,
        state_roots_root=mtsr,
        final_state_root=final,
        withdrawal_root=withdrawals,
        data_hash=data,
    )
    values.update(fields)
    return BatchHeader(**values)


class BatchAppender:
    """``append`` and ``warp`` over a deployment's ``chain``, ``sc``, ``current`` and ``sign``."""

    chain: Chain

    def sc(self, acct: LocalAccount) -> RollupL1:
        raise NotImplementedError

    def current(self) -> LocalAccount:
        raise NotImplementedError

    def sign(self, header: BatchHeader) -> list[bytes]:
        raise NotImplementedError

    def append(self, header: BatchHeader, by: LocalAccount | None = None) -> Any:
        """Append ``header`` (sent by ``by``, default the current sequencer), signed by the set."""
        by = by or self.current()
        return self.sc(by).append_batch(header, self.sign(header))

    def warp(self, seconds: int) -> None:
        """Move L1 time forward ``seconds`` and mine a block."""
        self.chain.rpc("evm_increaseTime", seconds)
        self.chain.rpc("evm_mine")
