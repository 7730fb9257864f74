"""Wiring: the execution layer and every EMETH agent, in one process (``l2kit emeth run-all``)
or one at a time (``l2kit emeth <agent> run``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offchain.chain.accounts import dev_account
from offchain.chain.client import Chain
from offchain.common.daemon import LoopConfig
from offchain.emeth.agents.aggregator import Aggregator
from offchain.emeth.agents.base import Agent
from offchain.emeth.agents.billing import Billing
from offchain.emeth.agents.l1watch import L1Watcher
from offchain.emeth.agents.node import NodePolicy, NodeWorker
from offchain.emeth.agents.signer import Signer
from offchain.emeth.agents.splitter import Splitter
from offchain.emeth.agents.timeouts import TimeoutWatcher
from offchain.emeth.agents.verifier import Verifier
from offchain.emeth.config import EmethAgentsConfig
from offchain.emeth.execution.actions import Domain
from offchain.emeth.execution.api import ExecutionLayerServer
from offchain.emeth.execution.client import ExecutionClient
from offchain.emeth.execution.config import Roles, ServiceConfig
from offchain.emeth.execution.datasets import DatasetCheck
from offchain.emeth.execution.db import execution_layer_id, make_engine
from offchain.emeth.execution.l1state import EmethCoreState
from offchain.emeth.execution.service import ExecutionLayer
from offchain.emeth.l1 import EmethL1
from offchain.emeth.programs import ProgramRegistry, default_registry
from offchain.emeth.ticket import Ticket, recover_ticket_signer
from offchain.storage.client import BlobClient


def ticket_signer_for(chain_id: int, core: str) -> Any:
    """A function recovering the signer of a Ticket dict (EmethCore EIP-712 domain)."""

    def recover(body: dict[str, Any], signature: str) -> str:
        return recover_ticket_signer(chain_id, core, Ticket.from_dict(body), signature)

    return recover


def build_service(
    l1: EmethL1,
    db_url: str,
    roles: Roles,
    programs: ProgramRegistry,
    penalty_bps: int = 2500,
    storage_url: str | None = None,
    settle_margin_s: int | None = None,
) -> ExecutionLayer:
    """The execution layer over ``db_url``, checking actors against EmethCore ``l1`` (and,
    given ``storage_url``, each registered dataset with its program).

    Args:
        settle_margin_s: see ``ServiceConfig.settle_margin_s`` (None: the default of ``l1``'s
            network, ``EmethAgentsConfig.settle_margin_on``).
    """
    chain_id = l1.chain_id
    margin = EmethAgentsConfig(settle_margin_s=settle_margin_s).settle_margin_on(chain_id)
    config = ServiceConfig(penalty_bps=penalty_bps, settle_margin_s=margin)
    check = (
        DatasetCheck(
            BlobClient(storage_url),
            programs,
            config.max_params_bytes,
            config.min_fuel_price_wei,
        )
        if storage_url
        else None
    )
    engine = make_engine(db_url)
    el_id = execution_layer_id(engine)
    return ExecutionLayer(
        engine,
        EmethCoreState(l1, el_id),
        Domain(chain_id, l1.core_address, el_id),
        roles,
        list(programs),
        ticket_signer_for(chain_id, l1.core_address),
        config,
        dataset_check=check,
    )


@dataclass
class EmethStack:
    """The execution layer (service + HTTP + L1 watcher) and the agents, on one L1.

    Args:
        chain: L1 connection.
        l1: EmethCore bindings.
        storage_url: blob store URL.
        data_dir: where the database lives.
        signer_account: the Ticket signer's key.
        node_accounts: dev keys (or LocalAccounts) of the nodes to run.
        node_policies: per node index (position in ``node_accounts``) policy overrides.
        config: settings.
    """

    chain: Chain
    l1: EmethL1
    storage_url: str
    data_dir: Path
    signer_account: Any
    node_accounts: list[Any]
    node_policies: dict[int, NodePolicy] = field(default_factory=dict)
    config: EmethAgentsConfig = field(default_factory=EmethAgentsConfig)
    programs: ProgramRegistry = field(default_factory=default_registry)
    service: ExecutionLayer | None = None
    server: ExecutionLayerServer | None = None
    agents: list[Agent] = field(default_factory=list)
    nodes: list[NodeWorker] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.config.program_modules:
            self.programs = default_registry(self.config.program_modules)

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def client(self) -> ExecutionClient:
        return ExecutionClient(self.url)

    def roles(self) -> Roles:
        c = self.config
        return Roles(
            splitters={dev_account(c.splitter_account).address},
            verifiers={dev_account(c.verifier_account).address},
            aggregators={dev_account(c.aggregator_account).address},
            signers={self.signer_account.address},
        )

    def fund_nodes(self) -> None:
        """Give each node the configured collateral on EmethCore (devnet helper)."""
        want = self.config.node_collateral_wei or 2 * self.l1.min_collateral()
        for acct in self.node_accounts:
            have = self.l1.collateral_of(acct.address).available
            if have < want:
                self.l1.deposit_collateral(self.chain.sender(acct), want - have)

    def start_service(self) -> EmethStack:
        """Start the execution layer (database, HTTP API, L1 watcher)."""
        c = self.config
        db_url = c.db_url or f"sqlite:///{self.data_dir / 'emeth.db'}"
        self.service = build_service(
            self.l1,
            db_url,
            self.roles(),
            self.programs,
            c.penalty_bps,
            self.storage_url,
            c.settle_margin_s,
        )
        self.server = ExecutionLayerServer(
            self.service, port=c.el_port or None, agents_health=self.health
        ).start()
        watcher = L1Watcher(
            self.service,
            self.l1,
            confirmations=c.confirmations_on(self.chain.chain_id),
            start_block=int(self.chain.w3.eth.block_number),
            loop=self._loop(),
        )
        self.agents.append(watcher.start())
        return self

    def _loop(self) -> LoopConfig:
        c = self.config
        return LoopConfig(c.poll_interval_ms, c.jitter_pct, c.max_failures)

    def make_node(self, index: int) -> NodeWorker:
        acct = self.node_accounts[index]
        policy = self.node_policies.get(index, NodePolicy(split_grace_s=self.config.split_grace_s))
        return NodeWorker(
            self.client(), BlobClient(self.storage_url), self.programs, acct, policy, self._loop()
        )

    def start_agents(
        self, nodes: bool = True, billing: bool = True, signer: bool = True
    ) -> EmethStack:
        """Start the operator agents (the Signer optionally), and (optionally) the nodes and
        their billing."""
        c = self.config
        blobs = BlobClient(self.storage_url)
        loop = self._loop()
        signer_tx = self.chain.sender(self.signer_account)  # one nonce owner for the key
        ops: list[Agent] = [
            Splitter(
                self.client(),
                blobs,
                self.programs,
                dev_account(c.splitter_account),
                c.split_parts,
                loop,
            ),
            Verifier(self.client(), blobs, self.programs, dev_account(c.verifier_account), loop),
            TimeoutWatcher(self.client(), dev_account(c.verifier_account), loop=loop),
            Aggregator(
                self.client(), blobs, self.programs, dev_account(c.aggregator_account), loop
            ),
        ]
        if signer:
            ops.append(
                Signer(
                    self.client(),
                    self.signer_account,
                    self.l1.chain_id,
                    self.l1.core_address,
                    c.signer_interval_s,
                    loop=loop,
                    l1=self.l1,
                    sender=signer_tx,
                )
            )
        for a in ops:
            self.agents.append(a.start())
        if nodes:
            for i in range(len(self.node_accounts)):
                w = self.make_node(i)
                self.nodes.append(w)
                self.agents.append(w.start())
        if c.penalty_enforce_after_s >= 0:
            op = Billing(
                self.client(),
                self.l1,
                signer_tx,
                None,
                loop,
                penalties_after_s=c.penalty_enforce_after_s,
            )
            self.agents.append(op.start())
        if billing:
            for acct in self.node_accounts:
                b = Billing(self.client(), self.l1, self.chain.sender(acct), acct.address, loop)
                self.agents.append(b.start())
        return self

    def health(self) -> list[dict[str, Any]]:
        return [a.health() for a in self.agents]

    def stop(self) -> None:
        """Stop every agent, then the HTTP server (idempotent)."""
        while self.agents:
            self.agents.pop().stop()
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.service is not None:
            self.service.engine.dispose()
            self.service = None

    def __enter__(self) -> EmethStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stack_for_devnet(devnet: Any, n_nodes: int = 3, **kw: Any) -> EmethStack:
    """An :class:`EmethStack` on a started :class:`offchain.devnet.Devnet` (nodes = its
    configured EMETH node dev accounts)."""
    params = devnet.config.emeth
    chain = devnet.chain
    l1 = EmethL1.from_deployment(chain, devnet.deployment)
    signer = dev_account(params.signer_account)
    nodes = [dev_account(i) for i in params.node_accounts[:n_nodes]]
    return EmethStack(chain, l1, devnet.storage_url, Path(devnet.data_dir), signer, nodes, **kw)


def wait_until(pred: Any, timeout_s: float, what: str, interval_s: float = 0.05) -> None:
    """Poll ``pred()`` until true; raise TimeoutError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(interval_s)
