"""Development accounts (Anvil's mnemonic) and loading keys for real networks."""

from __future__ import annotations

import os
from functools import lru_cache

from eth_account import Account
from eth_account.signers.local import LocalAccount

from offchain.chain.anvil import DEV_MNEMONIC
from offchain.errors import ConfigError

Account.enable_unaudited_hdwallet_features()


@lru_cache(maxsize=256)
def dev_account(index: int) -> LocalAccount:
    """The ``index``-th account of Anvil's default mnemonic (funded on a devnet)."""
    acct: LocalAccount = Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    return acct


def account_from_key(key: str | None = None, env: str = "L2KIT_PRIVATE_KEY") -> LocalAccount:
    """An account from a hex private key, or from the environment variable ``env``.

    Raises:
        ConfigError: if no key is given or it is not a valid private key.
    """
    key = key or os.environ.get(env)
    if not key:
        raise ConfigError("no private key given", f"pass --key or set {env}")
    try:
        acct: LocalAccount = Account.from_key(key)
    except Exception as e:  # noqa: BLE001 - any parse failure is a user input error
        raise ConfigError(f"invalid private key: {e}") from e
    return acct
