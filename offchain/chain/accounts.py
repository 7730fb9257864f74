"""Development accounts (Anvil's mnemonic) and loading keys for real networks."""

from __future__ import annotations

import json
import os
import sys
from functools import lru_cache
from pathlib import Path

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
        raise ConfigError(
            "no key given", f"pass --key (or set {env}), --keystore FILE or --account ALIAS"
        )
    try:
        acct: LocalAccount = Account.from_key(key)
    except Exception as e:  # noqa: BLE001 - any parse failure is a user input error
        raise ConfigError(f"invalid private key: {e}") from e
    return acct


def _passphrase(what: str, env: str) -> str:
    value = os.environ.get(env)
    if value is not None:
        return value
    if not sys.stdin.isatty():
        raise ConfigError(f"no passphrase for {what}", f"set {env} or run in a terminal")
    import getpass

    return getpass.getpass(f"passphrase for {what}: ")


def account_from_keystore(path: str | Path, env: str = "L2KIT_KEYSTORE_PASSWORD") -> LocalAccount:
    """An account from an Ethereum keystore JSON file (V3, as geth, ape and cast write them).

    The passphrase comes from ``$env`` or, in a terminal, a prompt.

    Raises:
        ConfigError: unreadable file, or a wrong passphrase.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"cannot read keystore {p}: {e}") from None
    secret = _passphrase(str(p), env)
    try:
        acct: LocalAccount = Account.from_key(Account.decrypt(data, secret))
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(
            f"cannot decrypt keystore {p}: {e}", f"check the passphrase ({env})"
        ) from None
    return acct


def ape_accounts_dir() -> Path:
    """Where ape keeps account keyfiles (``$APE_DATA_FOLDER/accounts``, default ``~/.ape``)."""
    return Path(os.environ.get("APE_DATA_FOLDER", Path.home() / ".ape")) / "accounts"


def account_from_alias(alias: str) -> LocalAccount:
    """An account imported with ``ape accounts import ALIAS`` (its keystore, read directly).

    The passphrase comes from ``$APE_ACCOUNTS_<alias>_PASSPHRASE`` (ape's own variable) or
    a prompt.

    Raises:
        ConfigError: no such alias, or a wrong passphrase.
    """
    path = ape_accounts_dir() / f"{alias}.json"
    if not path.is_file():
        known = sorted(p.stem for p in ape_accounts_dir().glob("*.json"))
        raise ConfigError(
            f"no ape account {alias!r} in {ape_accounts_dir()}",
            f"known: {', '.join(known)}" if known else f"import one: ape accounts import {alias}",
        )
    return account_from_keystore(path, env=f"APE_ACCOUNTS_{alias}_PASSPHRASE")


DEV_ADDRESS_SCAN = 100  # dev-mnemonic indices checked by :func:`is_dev_address`
DEV_CHAIN_IDS = frozenset({31337})  # chains where the public dev mnemonic may hold roles


def is_dev_chain(chain_id: int) -> bool:
    """Whether ``chain_id`` is a local development chain (Anvil's default 31337)."""
    return chain_id in DEV_CHAIN_IDS


@lru_cache(maxsize=1)
def _dev_addresses() -> frozenset[str]:
    return frozenset(dev_account(i).address.lower() for i in range(DEV_ADDRESS_SCAN))


def is_dev_address(address: str) -> bool:
    """Whether ``address`` is one of the first :data:`DEV_ADDRESS_SCAN` accounts of the
    public ``test … junk`` mnemonic (anyone holds its keys: never a role off a devnet)."""
    return address.lower() in _dev_addresses()
