"""The standalone sequencer daemon: follow epochs, co-sign for peers, trigger reselection.

One process per sequencer node. It serves (FastAPI, one port):

- ``POST /cosign`` and ``GET /cosign/health`` (see :mod:`offchain.staking.cosigner`);
- ``GET /health``: rotation state, whether this signer is current, counters;
- ``GET /metrics``: Prometheus text;
- ``/frost/*``: the FROST peer protocol (DKG, resharing, signing rounds; see
  :mod:`offchain.staking.frost.router`), state in ``data_dir/frost-<signer>.sqlite``; a
  ``/frost/sign`` round with ``reselect`` signs ``SequencerSet.reselectDigest()`` (for
  ``reselectWithSignatures``, which takes only the group key's signature) when this node
  itself sees ``current`` silent past its deadline (409 otherwise).

and runs a :class:`~offchain.staking.rotation.RotationFollower` that pings ``heartbeat()``
while this signer is current, calls ``reselect()`` when the current sequencer is silent past
the timeout and ``advanceEpoch()`` at epoch ends. The rollup node composes the same pieces
(mount :func:`create_router`, share the signer's TxSender) and adds block production.
Stops cleanly on SIGTERM (see ``l2kit sequencer run``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from offchain.common.health import health_response
from offchain.common.http import BackgroundServer
from offchain.staking.cosigner import Cosigner, Refusal, SignedLog, create_app
from offchain.staking.errors import StakingError
from offchain.staking.frost.keeper import KeeperConfig, KeyKeeper
from offchain.staking.frost.l1 import group_key_digest
from offchain.staking.frost.participant import FrostParticipant
from offchain.staking.frost.router import create_frost_router
from offchain.staking.frost.store import FrostStore
from offchain.staking.rotation import RotationConfig, RotationFollower
from offchain.staking.signatures import reselect_digest

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from offchain.chain.client import Chain
    from offchain.staking.contracts import StakingContracts

log = structlog.get_logger("l2kit.staking.daemon")


@dataclass
class DaemonConfig:
    """Settings of one sequencer daemon.

    Args:
        host: interface for the HTTP endpoints.
        port: port (``None``: a free one).
        data_dir: where the co-signer's equivocation log lives.
        cosign_contracts: StateCommitment addresses this node co-signs for.
        rotation: rotation follower knobs.
        frost_peers: signer -> daemon URL of every sequencer (this one included); when set,
            a :class:`~offchain.staking.frost.keeper.KeyKeeper` generates / reshares the key.
    """

    host: str = "127.0.0.1"
    port: int | None = None
    data_dir: Path = Path(".devnet/sequencer")
    cosign_contracts: set[str] = field(default_factory=set)
    rotation: RotationConfig = field(default_factory=RotationConfig)
    frost_peers: dict[str, str] = field(default_factory=dict)


class _Disagree(StakingError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class SequencerDaemon:
    """Rotation follower + co-signer + health/metrics for one signer key.

    Args:
        chain: L1 connection.
        contracts: staking contracts.
        signer: this node's signer key (must be funded for heartbeats / reselect).
        config: settings.
    """

    def __init__(
        self, chain: Chain, contracts: StakingContracts, signer: LocalAccount, config: DaemonConfig
    ) -> None:
        self.chain = chain
        self.contracts = contracts
        self.signer = signer
        self.config = config
        self.sender = chain.sender(signer)
        self.follower = RotationFollower(contracts, self.sender, config.rotation)
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.cosigner = Cosigner(
            signer,
            chain.chain_id,
            set(config.cosign_contracts),
            log=SignedLog(config.data_dir / f"cosigned-{signer.address.lower()}.sqlite"),
            active_signers=lambda: [
                str(a) for a in contracts.sset.functions.activeSigners().call()
            ],
        )
        sset = contracts.sset
        self.frost = FrostParticipant(
            signer.address,
            bytes(signer.key),
            FrostStore(config.data_dir / f"frost-{signer.address.lower()}.sqlite"),
            key_digest=lambda x: group_key_digest(
                chain.chain_id, sset.address, int(sset.functions.groupKeyVersion().call()), x
            ),
            l1_group_x=lambda: int(sset.functions.groupKeyX().call()),
        )
        self.keeper: KeyKeeper | None = None
        if config.frost_peers:
            self.keeper = KeyKeeper(
                self.frost, contracts, self.sender, KeeperConfig(peers=dict(config.frost_peers))
            )
        self._http: BackgroundServer | None = None
        self.port = config.port

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    def app(self) -> FastAPI:
        """The HTTP app: co-signer routes, ``/health`` and ``/metrics``."""
        app = create_app(self.cosigner)
        app.include_router(create_frost_router(self.frost, self.cosigner, self.check_reselect))
        registry = CollectorRegistry()
        g_current = Gauge(
            "l2kit_sequencer_is_current", "1 if this signer is current", registry=registry
        )
        g_epoch = Gauge("l2kit_sequencer_epoch", "epoch seen on L1", registry=registry)
        g_count = Gauge("l2kit_sequencer_actions", "actions sent", ["action"], registry=registry)

        @app.get("/health")
        def health() -> Any:
            doc = {**self.follower.health(), "cosigned": self.cosigner.log.count()}
            if self.keeper is not None:
                doc["frost_keeper"] = self.keeper.health()
            return health_response({"rotation": doc}, flat=True)

        @app.get("/metrics")
        def metrics() -> Response:
            g_current.set(1 if self.follower.is_current else 0)
            g_epoch.set(self.follower.state.epoch if self.follower.state else 0)
            for k, v in self.follower.stats.items():
                g_count.labels(k).set(v)
            return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")

        return app

    def check_reselect(self, epoch: int, round_: int, current: str) -> bytes:
        """``reselectDigest()`` for a FROST reselection round (``/frost/sign`` with
        ``reselect``) if, on this node's own view of L1, ``current`` is the current sequencer
        at (``epoch``, ``round_``) and has missed its heartbeat deadline.

        Raises:
            Refusal: 409 ``stale_request`` / ``not_silent``.
        """
        try:
            return self._reselect_digest(epoch, round_, current)
        except _Disagree as e:
            raise Refusal(e.code, e.message, 409) from e

    def _reselect_digest(self, epoch: int, round_: int, current: str) -> bytes:
        st = self.contracts.rotation()
        if (st.epoch, st.round) != (epoch, round_) or st.current.lower() != current.lower():
            raise _Disagree(
                "stale_request",
                f"L1 shows epoch {st.epoch} round {st.round} current {st.current}",
            )
        now = max(float(st.block_time), time.time())
        if now <= st.heartbeat_deadline:
            raise _Disagree(
                "not_silent", f"{current} has until {st.heartbeat_deadline} (now {now:.0f})"
            )
        return reselect_digest(
            self.chain.chain_id, self.contracts.sset.address, epoch, round_, st.current
        )

    def start(self, timeout_s: float = 10.0) -> SequencerDaemon:
        """Serve HTTP and start following the rotation.

        Raises:
            ConfigError: port in use.
            StakingError: the HTTP server did not come up.
        """
        self._http = BackgroundServer(
            self.app(), self.config.host, self.port, name="sequencer daemon", error=StakingError
        ).start(timeout_s)
        self.port = self._http.port
        self.follower.start()
        if self.keeper is not None:
            self.keeper.start()
        log.info("sequencer daemon started", signer=self.signer.address, url=self.url)
        return self

    def stop(self) -> None:
        """Stop following and serving. Safe to call twice."""
        self.follower.stop()
        if self.keeper is not None:
            self.keeper.stop()
        if self._http is not None:
            self._http.stop()
            self._http = None

    def __enter__(self) -> SequencerDaemon:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
