"""Demo scene: the devnet is up; show a decoded revert as users will see it."""

from __future__ import annotations

from rich.console import Console

from offchain.chain.accounts import dev_account
from offchain.devnet import Devnet
from offchain.errors import TxReverted


def run(d: Devnet, console: Console) -> None:
    assert d.chain and d.deployment
    info = d.info()
    console.print(f"L1 RPC {info['rpc_url']}  storage {info['storage_url']}")
    console.print(
        f"devnet up in {d.timings['devnet_up_s']:.2f}s (compile {d.timings['compile_s']:.2f}s)"
    )
    reverter = d.deployment.contract(d.chain, "reverter")
    s = d.chain.sender(dev_account(1))
    s.send(reverter.functions.poke())
    try:
        s.send(reverter.functions.failCustom(7))
    except TxReverted as e:
        console.print(f"a reverting call is reported as: [yellow]{e}[/]")
