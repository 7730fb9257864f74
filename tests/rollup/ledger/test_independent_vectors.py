"""The shared ledger vectors (tests/vectors/ledger.json, written by the Python ledger) checked by
code that did not generate them: the spec's formulas re-implemented here with eth_abi,
eth_utils' keccak (pycryptodome, not the ledger's safe-pysha3) and eth_account's EIP-712 and
ECDSA recovery, plus a naive whole-tree hash of the genesis state. Nothing from
``offchain.rollup`` is imported, so a bug shared by the ledger and its vector generator shows
up here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address

VECTORS = json.loads((Path(__file__).parents[2] / "vectors" / "ledger.json").read_text())
ZERO = b"\x00" * 32
DEPTH = 32
FIELDS = ("from", "dest", "token", "amount", "fee", "nonce")


def _h(x: str) -> bytes:
    return bytes.fromhex(x[2:])


def test_domain_separator_is_the_eip712_domain_hash() -> None:
    d = VECTORS["domain"]
    typehash = keccak(
        text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )
    sep = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                typehash,
                keccak(text="l2kit"),
                keccak(text="1"),
                d["chainId"],
                d["verifyingContract"],
            ],
        )
    )
    assert sep == _h(d["separator"])


def _decode(encoding: bytes) -> tuple[str, dict[str, Any], tuple[int, int, int]]:
    """Spec layout of a user tx: kind byte, six 32-byte words, then v, r, s words."""
    kind = {1: "Transfer", 2: "Withdraw"}[encoding[0]]
    words = [encoding[1 + 32 * i : 33 + 32 * i] for i in range(9)]
    assert len(encoding) == 1 + 9 * 32
    addr = [to_checksum_address(w[12:]) for w in words[:3]]
    nums = [int.from_bytes(w, "big") for w in words[3:]]
    fields = dict(zip(FIELDS, [*addr, *nums[:3]], strict=True))
    return kind, fields, (nums[3], nums[4], nums[5])


def test_user_tx_digests_and_signers_by_eth_account() -> None:
    d = VECTORS["domain"]
    accounts = VECTORS["accounts"]
    for t in VECTORS["transactions"]:
        if t["kind"] not in ("Transfer", "Withdraw"):
            continue
        kind, f, (v, r, s) = _decode(_h(t["encoding"]))
        assert kind == t["kind"]
        dest = "to" if kind == "Transfer" else "l1Recipient"
        message = {
            "from": f["from"],
            dest: f["dest"],
            "token": f["token"],
            "amount": f["amount"],
            "fee": f["fee"],
            "nonce": f["nonce"],
        }
        typed = {
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                kind: [
                    {"name": "from", "type": "address"},
                    {"name": dest, "type": "address"},
                    {"name": "token", "type": "address"},
                    {"name": "amount", "type": "uint256"},
                    {"name": "fee", "type": "uint256"},
                    {"name": "nonce", "type": "uint256"},
                ],
            },
            "primaryType": kind,
            "domain": {
                "name": "l2kit",
                "version": "1",
                "chainId": d["chainId"],
                "verifyingContract": d["verifyingContract"],
            },
            "message": message,
        }
        signable = encode_typed_data(full_message=typed)
        digest = keccak(b"\x19" + signable.version + signable.header + signable.body)
        assert digest == _h(t["digest"]), kind
        assert signable.body == _h(t["structHash"]), kind
        signer = Account._recover_hash(digest, vrs=(v, r, s))
        assert signer == f["from"] and signer in accounts.values()


def test_genesis_roots_by_a_naive_whole_tree_hash() -> None:
    # L[0] = (0, 0, 0) at index 0 of a depth-32 tree; node(0, 0) = 0, else keccak(a || b).
    node = keccak(encode(["uint256", "uint256", "uint256"], [0, 0, 0]))
    for _ in range(DEPTH):
        node = keccak(node + ZERO)  # the leaf's path is all left children, siblings empty
    assert node == _h(VECTORS["genesisTreeRoot"])
    root = keccak(encode(["bytes32", "uint256", "uint256"], [node, 1, 0]))  # size 1, no deposit
    assert root == _h(VECTORS["genesisStateRoot"])
