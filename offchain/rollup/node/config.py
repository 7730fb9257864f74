"""Parameters of the rollup daemons (sequencer node, batcher, verifier); units in the names.

Devnet defaults are short (milliseconds/seconds); a production deployment raises
``batch_timeout_ms`` and friends through the config file or ``L2KIT_ROLLUP_NODE__*``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from offchain.common.daemon import LoopConfig

from offchain.rollup.ledger.tx import DEFAULT_L2_CHAIN_ID


@dataclass
class NodeConfig:
    """One sequencer node.

    Attributes:
        host: interface the JSON-RPC server binds.
        port: its port (0: a free one).
        data_dir: where the node's sqlite database lives.
        block_time_ms: the current sequencer seals a block at least this often (if non-empty).
        max_block_txs: ... or as soon as this many transactions are pending.
        max_mempool: submissions beyond this many unsealed transactions are refused.
        peers: signer address -> base URL of every sequencer node (itself included).
        current_ttl_ms: how long the answer "who is current" is cached.
        current_follow_ms: how often a background thread re-reads it from L1 (0: never; the
            producer then reads L1 before each seal).
        forward_timeout_s: timeout of a forwarded submission / a block push to a peer.
        l2_chain_id: the L2 chain id (EIP-712 domain of user transactions).
        deposit_confirmations: L1 blocks a deposit must be under before the node consumes
            it (``None``: the L1 network's default, ``offchain.chain.networks``: 6 on
            mainnet, 4 on public testnets, 2 on a local Anvil devnet).
    """

    host: str = "127.0.0.1"
    port: int = 0
    data_dir: str = ".devnet/l2node"
    block_time_ms: int = 200
    max_block_txs: int = 2000
    max_mempool: int = 50_000
    peers: dict[str, str] = field(default_factory=dict)
    current_ttl_ms: int = 500
    current_follow_ms: int = 100
    forward_timeout_s: float = 5.0
    l2_chain_id: int = DEFAULT_L2_CHAIN_ID
    deposit_confirmations: int | None = None


@dataclass
class BatcherConfig:
    """The batch submitter that runs next to a node.

    Attributes:
        max_batch_txs: close a batch once it holds this many transactions.
        batch_timeout_ms: ... or when its oldest block is this old.
        poll_interval_ms: how often the batcher looks for work.
        signature_timeout_s: how long to wait for co-signatures.
        snapshot_dir: where batch data is also kept locally ("" = none).
        stall_after_s: a due batch not appended (or one tick running) for this long reports
            the batcher down on ``/health``.
        propose_spam_ban: seed 001 §11.6.1: when one verifier's data requests on this
            sequencer's batches, ``spam_requests`` of them within ``spam_window_s`` (L1 time),
            were all answered with matching data, propose to governance to ban the verifier
            and pay this sequencer ``spam_compensation_tokens`` L2KitToken from the treasury
            (needs voting power of at least the proposal threshold; checked every
            ``spam_check_interval_s``).
    """

    max_batch_txs: int = 1000
    batch_timeout_ms: int = 2000
    poll_interval_ms: int = 200
    signature_timeout_s: float = 10.0
    snapshot_dir: str = ""
    stall_after_s: float = 60.0
    propose_spam_ban: bool = True
    spam_requests: int = 3
    spam_window_s: int = 24 * 3600
    spam_compensation_tokens: int = 1_000
    spam_check_interval_s: float = 5.0


@dataclass
class VerifierConfig:
    """One verifier daemon.

    Attributes:
        data_dir: its own cursor + replica database.
        snapshot_dir: local snapshot of batch data (seed §9.1) read when storage fails.
        poll_interval_ms: how often it polls L1.
        confirmations: L1 blocks it trails the head by: a batch is checked (and challenged)
            only once appended this deep, so a reorg within them is never seen (``None``: the
            L1 network's default, ``offchain.chain.networks``: 6 on mainnet, 4 on public
            testnets, 2 on a local Anvil devnet); a deeper reorg rewinds its replica.
        storage_timeout_s: blob-store request timeout.
        data_wait_s: after requestData, how long to wait for provideData before giving up.
        stall_after_s: one tick running for this long reports the verifier down.
        l2_node_urls: sequencer node RPC URLs; a batch missing from storage and snapshots is
            rebuilt from their blocks (re-executed, checked against the header) before L1.
        beacon_url: a beacon node's REST API (e.g. ``http://localhost:5052``); Blobs-mode data
            is read from its ``/eth/v1/beacon/blob_sidecars/{slot}`` first (a production
            execution node does not serve blobs; Anvil does, the fallback).
        propose_kick: seed 001 §11.10.3: after a matching answer to a data request on a batch
            whose published data (what its ``dataHash`` commits to) does not match it, propose
            ``LockingPool.kick`` of its sequencer to governance (the account needs voting power
            of at least the Governor's proposal threshold; without it: a warning and
            ``verifier_proposal_blocked`` = 1).
    """

    data_dir: str = ".devnet/verifier"
    snapshot_dir: str = ""
    poll_interval_ms: int = 200
    confirmations: int | None = None
    storage_timeout_s: float = 2.0
    data_wait_s: float = 30.0
    stall_after_s: float = 120.0
    l2_node_urls: list[str] = field(default_factory=list)
    beacon_url: str = ""
    propose_kick: bool = True


def daemon_loop(config: BatcherConfig | VerifierConfig) -> LoopConfig:
    """The daemon loop of the batcher or a verifier: ``config.poll_interval_ms`` with 20%
    jitter, ``down`` on ``/health`` after 3 failed ticks in a row or ``config.stall_after_s``
    without progress (retried forever either way)."""
    from offchain.common.daemon import LoopConfig

    return LoopConfig(
        config.poll_interval_ms, jitter_pct=20, max_failures=3, stall_after_s=config.stall_after_s
    )


@dataclass
class RollupNodeConfig:
    """The ``rollup_node`` section of :class:`~offchain.config.L2KitConfig`."""

    node: NodeConfig = field(default_factory=NodeConfig)
    batcher: BatcherConfig = field(default_factory=BatcherConfig)
    verifier: VerifierConfig = field(default_factory=VerifierConfig)
