"""EMETH off-chain fixtures: one devnet (Anvil + all contracts + blob store) per module, and
a fresh execution layer (own database: SQLite, or PostgreSQL with ``$L2KIT_TEST_DB_URL``) per
test, with the chain reverted after each test."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from offchain.chain.accounts import dev_account
from offchain.config import load_config
from offchain.devnet import Devnet
from offchain.emeth.execution.client import ExecutionClient
from offchain.emeth.l1 import EmethL1
from offchain.emeth.runtime import EmethAgentsConfig, EmethStack, stack_for_devnet
from offchain.storage.client import BlobClient
from tests.helpers.db import fresh_db_url

EMETH = 10**18


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    # Anvil mines only on transactions here (no interval blocks): the reorg and deadline tests
    # count blocks; a cancel is followed by the blocks the L1 watcher waits for (Env.cancel).
    cfg = load_config()
    cfg.devnet.block_time_s = 0
    with Devnet(cfg, ephemeral=True, log=lambda *a, **k: None) as d:
        yield d


@dataclass
class Env:
    """A devnet with a running execution layer."""

    devnet: Devnet
    stack: EmethStack
    client: ExecutionClient
    blobs: BlobClient
    l1: EmethL1
    requesters: list[LocalAccount]

    def deposit(self, who: LocalAccount, amount: int) -> None:
        self.l1.deposit(self.devnet.chain.sender(who), amount)  # type: ignore[union-attr]

    def cancel(self, who: LocalAccount, job_id: str) -> Any:
        """``who`` cancels ``job_id`` on L1; the blocks the execution layer's L1 watcher waits
        for (its confirmations: this Anvil mines only on transactions) are then mined."""
        chain = self.devnet.chain
        assert chain is not None
        rcpt = self.l1.cancel(chain.sender(who), bytes.fromhex(job_id[2:]))
        for _ in range(load_config().emeth_agents.confirmations_on(chain.chain_id)):
            chain.rpc("evm_mine")
        return rcpt

    def paid_balance(self, who: LocalAccount) -> int:
        """``who``'s lazy L1 balance once its newest settled debit is proven (as its
        withdrawal would prove it): its deposits less everything Tickets billed it."""
        from offchain.emeth.requester import prove_own_debit

        chain = self.devnet.chain
        assert chain is not None
        return prove_own_debit(self.client, self.l1, chain.sender(who), who.address)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``l2kit emeth ARGS`` as requester ``requester_accounts[1]`` (a subprocess)."""
        base = [
            sys.executable, "-m", "offchain.cli", "emeth",
            "--rpc-url", self.devnet.config.network.rpc_url,
            "--deployment", str(Path(self.devnet.data_dir) / "deployment.json"),
            "--storage-url", self.devnet.storage_url, "--el-url", self.stack.url,
            "--dev-account", str(self.devnet.config.emeth.requester_accounts[1]),
        ]  # fmt: skip
        return subprocess.run([*base, *args], capture_output=True, text=True, timeout=60)

    def wait_settled(self, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """Wait until every stored Ticket is settled (posted by the Signer, finalized by a
        billing agent after the dispute window), moving L1 time past the window of each posted
        Ticket (``evm_increaseTime``) instead of waiting for it. Returns the Tickets."""
        from offchain.emeth.runtime import wait_until

        chain = self.devnet.chain
        assert chain is not None

        def settled() -> bool:
            ts = self.client.tickets()
            open_ = [t for t in ts if not t["settled"]]
            now = int(chain.w3.eth.get_block("latest")["timestamp"])
            finals = [self.l1.posted_ticket(t["ticketId"]).final_at for t in open_]
            ahead = max((f - now for f in finals), default=0)
            if ahead > 0:
                self.advance(ahead)
            return bool(ts) and not open_

        wait_until(settled, timeout_s, "settlement")
        return self.client.tickets()

    def advance(self, seconds: int) -> None:
        chain = self.devnet.chain
        assert chain is not None
        chain.rpc("evm_increaseTime", seconds)
        chain.rpc("evm_mine")


@pytest.fixture
def env(devnet: Devnet, tmp_path: Path) -> Iterator[Env]:
    with fresh_db_url(tmp_path) as db_url:
        yield from _env(devnet, db_url)


def _env(devnet: Devnet, db_url: str) -> Iterator[Env]:
    chain = devnet.chain
    assert chain is not None
    snap = chain.rpc("evm_snapshot")
    cfg = EmethAgentsConfig(
        db_url=db_url,
        poll_interval_ms=50,
        signer_interval_s=0.5,
        split_grace_s=3.0,
    )
    stack = stack_for_devnet(devnet, n_nodes=3, config=cfg)
    try:
        stack.fund_nodes()
        stack.start_service()
        p = devnet.config.emeth
        yield Env(
            devnet,
            stack,
            stack.client(),
            BlobClient(devnet.storage_url),
            stack.l1,
            [dev_account(i) for i in p.requester_accounts],
        )
    finally:
        stack.stop()
        chain.rpc("evm_revert", snap)
