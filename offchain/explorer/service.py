"""The explorer as one service: the SQLite index, the indexer thread and the web server."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Self

from offchain.common.http import BackgroundServer
from offchain.deploy import Deployment
from offchain.errors import ConfigError
from offchain.explorer.app import create_app
from offchain.explorer.config import ExplorerConfig
from offchain.explorer.indexer import Indexer
from offchain.explorer.sources import SourceBoard
from offchain.explorer.store import IndexStore
from offchain.explorer.views import Views
from offchain.rollup.node.client import L2Client


class Explorer:
    """Index and serve; :meth:`stop` ends both (a context manager too).

    Args:
        config: where to read, where to serve, where the index lives.
        deployment: the deployment (default: loaded from ``config.deployment_file``).
    """

    def __init__(self, config: ExplorerConfig, deployment: Deployment | None = None) -> None:
        self.config = config
        self.deployment = deployment or Deployment.load(config.deployment_file)
        self.store = IndexStore(Path(config.db_path))
        self.board = SourceBoard(
            {"l1": config.rpc_url, "node": config.node_url, "el": config.el_url}
        )
        self.indexer = Indexer(config, self.store, self.deployment, self.board)
        node = (
            L2Client(config.node_url, timeout_s=config.source_timeout_s)
            if config.node_url
            else None
        )
        self.views = Views(self.store, self.board, node, dict(self.deployment.addresses))
        self.server = BackgroundServer(
            create_app(self.views, config.refresh_s, self.indexer.health_doc),
            host=config.host,
            port=config.port or None,
            name="explorer",
            error=ConfigError,
            port_hint="pick another --port",
        )

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> Self:
        """Serve the pages, then start indexing (the first pages say what is not indexed yet)."""
        self.server.start()
        try:
            self.indexer.start()
        except BaseException:
            self.server.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the indexer, then the server. Safe to call twice."""
        self.indexer.stop()
        self.server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
