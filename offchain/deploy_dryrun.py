"""``--dry-run``: run the whole deploy plan on a local fork and price it at today's gas price.

The plan runs, with the real deployer's signer, on an Anvil fork of the target network
(``anvil --fork-url``, same chain id, so the same safety rules and parameters apply);
nothing reaches the network. The gas used by each step, times the network's current gas
price, is the estimate; the deployer's real balance says whether it is enough.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from offchain.chain.anvil import Anvil
from offchain.chain.client import Chain, connect
from offchain.chain.tx import Signer, TxSender
from offchain.config import L2KitConfig
from offchain.deploy import Deployment, deploy_all

FORK_BALANCE_WEI = 10**24  # what the deployer holds on the fork (the real balance is reported)


@dataclass
class DryRun:
    """The plan's estimated cost.

    Attributes:
        gas_by_step: gas each step used on the fork.
        gas_price_wei: the network's ``eth_gasPrice`` when the estimate was made.
        balance_wei: the deployer's balance on the network.
        deployment: what the deployment file would hold (addresses are the fork's).
    """

    gas_by_step: dict[str, int]
    gas_price_wei: int
    balance_wei: int
    deployment: Deployment

    @property
    def gas(self) -> int:
        return sum(self.gas_by_step.values())

    @property
    def cost_wei(self) -> int:
        return self.gas * self.gas_price_wei

    def lines(self) -> list[str]:
        """The plan as printed by ``l2kit deploy --dry-run``."""
        out = [f"{'step':<16} {'gas':>12} {'cost (ETH)':>22}"]
        for step, gas in self.gas_by_step.items():
            out.append(f"{step:<16} {gas:>12,} {_eth(gas * self.gas_price_wei):>22}")
        out.append(f"{'total':<16} {self.gas:>12,} {_eth(self.cost_wei):>22}")
        out.append(
            f"gas price {self.gas_price_wei} wei; deployer balance {_eth(self.balance_wei)} ETH"
        )
        short = self.cost_wei - self.balance_wei
        out.append("enough funds" if short <= 0 else f"short by {_eth(short)} ETH")
        return out


def _eth(wei: int) -> str:
    """Exact decimal ETH (no float)."""
    whole, frac = divmod(wei, 10**18)
    return f"{whole}.{frac:018d}".rstrip("0").rstrip(".") if frac else str(whole)


def dry_run(
    rpc_url: str,
    signer: Signer,
    config: L2KitConfig,
    resume: Deployment | None = None,
    log: Callable[[str], None] = print,
) -> DryRun:
    """Run the deploy plan on a fork of ``rpc_url`` and return its estimated cost.

    Raises:
        ConfigError: the plan refuses the deployer or a role (as the real deploy would).
        ToolchainError: Anvil is missing.
    """
    real = Chain.connect(rpc_url)
    price = int(real.w3.eth.gas_price)
    balance = int(real.w3.eth.get_balance(signer.address))
    with Anvil(chain_id=real.chain_id, extra_args=["--fork-url", rpc_url]) as fork:
        chain = Chain(connect(fork.url), real.artifacts)
        chain.rpc("anvil_setBalance", str(signer.address), hex(FORK_BALANCE_WEI))
        sender = TxSender(chain.w3, signer, chain.artifacts)
        log(f"simulating the deploy on a fork of chain {real.chain_id}")
        dep = deploy_all(chain, sender, config, log=lambda _: None, resume=resume)
    before = resume.gas_by_step if resume is not None else {}
    todo = {k: v - before.get(k, 0) for k, v in dep.gas_by_step.items()}
    return DryRun({k: v for k, v in todo.items() if v > 0}, price, balance, dep)
