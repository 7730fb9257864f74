"""ape (unmodified) connected to an l2kit node as a custom network: imports a key into ape's
own keystore and sends an ETH transfer. Run from a folder whose ape-config.yaml names the
network. Usage: python send.py URL-IGNORED KEY TO; prints one JSON object."""

import json
import sys

from ape import networks
from ape_accounts import import_account_from_private_key

key, to = sys.argv[1], sys.argv[2]
acct = import_account_from_private_key("l2kit-wallet", "l2kit-pass", key)
acct.set_autosign(True, passphrase="l2kit-pass")
with networks.parse_network_choice("ethereum:l2kit:node") as provider:
    before = provider.get_balance(to)
    receipt = acct.transfer(to, 10**15)
    print(
        json.dumps(
            {
                "chainId": provider.chain_id,
                "hash": receipt.txn_hash
                if isinstance(receipt.txn_hash, str)
                else receipt.txn_hash.hex(),
                "status": int(receipt.status),
                "gasUsed": receipt.gas_used,
                "received": provider.get_balance(to) - before,
                "nonce": provider.get_nonce(acct.address),
            }
        )
    )
