"""Co-signers over HTTP and the >2/3-of-stake rule of their signatures, checked by the
contract on Anvil (``verifySetSignatures``; batches themselves carry one FROST signature)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from offchain.chain.accounts import dev_account
from offchain.staking.config import TOKEN
from offchain.staking.cosigner import Cosigner, CosignerServer, SignedLog
from offchain.staking.errors import CosignRefused, NotEnoughSignatures
from offchain.staking.signatures import (
    CosignRequest,
    active_stakes,
    batch_digest,
    collect_signatures,
    recover_signer,
    sign_digest,
    threshold,
)

from .conftest import Staking

CONTRACT = dev_account(30).address  # stands for the StateCommitment address


def _refuse_odd_headers(contract: str, index: int, header_hash: bytes, header: dict) -> None:
    if header.get("bad"):
        raise CosignRefused("header does not match my blocks")


@pytest.fixture
def servers(tmp_path) -> Iterator[list[CosignerServer]]:
    started = []
    try:
        for i in (1, 2, 3, 4):
            c = Cosigner(
                dev_account(i),
                31337,
                {CONTRACT},
                validator=_refuse_odd_headers,
                log=SignedLog(tmp_path / f"signed-{i}.sqlite"),
            )
            started.append(CosignerServer(c).start())
        yield started
    finally:
        for s in started:
            s.stop()


def test_digest_matches_the_documented_encoding() -> None:
    # keccak256(abi.encode(uint256 31337, address, uint256 5, bytes32 0x11..)) computed by hand
    from eth_abi import encode

    from offchain.common.hashing import keccak

    hh = b"\x11" * 32
    expected = keccak(
        encode(["uint256", "address", "uint256", "bytes32"], [31337, CONTRACT, 5, hh])
    )
    assert batch_digest(31337, CONTRACT, 5, hh) == expected
    sig = sign_digest(dev_account(1), expected)
    assert len(sig) == 65 and sig[64] in (27, 28)
    assert recover_signer(expected, sig) == dev_account(1).address
    assert [threshold(n) for n in (1, 3, 4, 10, 21)] == [1, 3, 3, 7, 15]


def test_collected_signatures_pass_the_contract(st: Staking, servers, expect_revert) -> None:
    """The collected list meets the contract's >2/3-of-stake rule (``verifySetSignatures``,
    the rule of a key approval); as a batch signature L1 takes none (only the group key's)."""
    req = CosignRequest(31337, CONTRACT, 3, b"\x44" * 32, {"blocks": 10})
    active = active_stakes(st.sset)  # 20k / 30k / 40k / 50k: weighed by stake
    sigs = collect_signatures(req, [s.url for s in servers], active)
    assert len(sigs) == 4
    signers = [recover_signer(req.digest, s) for s in sigs]
    assert signers == sorted(signers, key=lambda a: int(a, 16))
    st.sset.functions.verifySetSignatures(req.digest, sigs).call()
    expect_revert(
        "SequencerSetNoGroupKey", st.sset.functions.verifyBatchSignatures(req.digest, sigs).call
    )


def test_collect_tolerates_a_dead_peer_but_not_two(st: Staking, servers) -> None:
    active = active_stakes(st.sset)  # 20k / 30k / 40k / 50k: weighed by stake
    peers = [s.url for s in servers]
    servers[0].stop()
    req = CosignRequest(31337, CONTRACT, 4, b"\x55" * 32)
    sigs = collect_signatures(req, peers, active, timeout_s=2)
    assert len(sigs) == 3
    st.sset.functions.verifySetSignatures(req.digest, sigs).call()
    servers[1].stop()
    with pytest.raises(NotEnoughSignatures) as e:
        collect_signatures(
            CosignRequest(31337, CONTRACT, 5, b"\x55" * 32), peers, active, timeout_s=2
        )
    # 40k + 50k = 90k of 140k is not more than 2/3 of the stake.
    assert e.value.got == 90_000 * TOKEN and e.value.needed == threshold(140_000 * TOKEN)
    assert "unreachable" in str(e.value)


def test_collect_counts_only_active_signers(st: Staking, servers, tmp_path) -> None:
    """A peer that is not in the active set signs, but its signature does not count."""
    active = active_stakes(st.sset)  # 20k / 30k / 40k / 50k: weighed by stake
    outsider = Cosigner(dev_account(9), 31337, {CONTRACT}, log=SignedLog(tmp_path / "o.sqlite"))
    assert dev_account(9).address not in active
    srv = CosignerServer(outsider).start()
    try:
        peers = [servers[0].url, servers[1].url, srv.url]
        req = CosignRequest(31337, CONTRACT, 9, b"\x99" * 32)
        with pytest.raises(NotEnoughSignatures) as e:
            collect_signatures(req, peers, active, timeout_s=2)
        assert (e.value.got, e.value.needed) == (50_000 * TOKEN, threshold(140_000 * TOKEN))
        assert e.value.failures == {srv.url: f"signer {dev_account(9).address} is not active"}
        # With the 50k peer the signers hold 100k of 140k, and the outsider is still left out.
        sigs = collect_signatures(req, [*peers, servers[3].url], active, timeout_s=2)
        signers = [recover_signer(req.digest, s) for s in sigs]
        assert len(sigs) == 3 and dev_account(9).address not in signers
        st.sset.functions.verifySetSignatures(req.digest, sigs).call()
    finally:
        srv.stop()


def test_own_key_signs_locally(st: Staking, servers) -> None:
    active = active_stakes(st.sset)  # 20k / 30k / 40k / 50k: weighed by stake
    req = CosignRequest(31337, CONTRACT, 6, b"\x66" * 32)
    sigs = collect_signatures(req, [servers[2].url, servers[3].url], active, own=dev_account(1))
    assert len(sigs) == 3  # 20k (own) + 40k + 50k of 140k
    st.sset.functions.verifySetSignatures(req.digest, sigs).call()


def test_cosigner_refusals(servers) -> None:
    url = servers[0].url + "/cosign"
    good = CosignRequest(31337, CONTRACT, 7, b"\x77" * 32).to_json()

    def post(**over: object) -> requests.Response:
        return requests.post(url, json={**good, **over}, timeout=5)

    r = post(chain_id=1)
    assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_chain"
    r = post(contract=dev_account(31).address)
    assert r.status_code == 403 and r.json()["error"]["code"] == "unknown_contract"
    r = post(batch_index=8)  # digest no longer matches the fields
    assert r.status_code == 403 and r.json()["error"]["code"] == "digest_mismatch"
    r = post(header={"bad": True})
    assert r.status_code == 403 and r.json()["error"]["code"] == "header_rejected"
    r = post(digest="0xzz")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    r = requests.post(url, json={"digest": "0x00"}, timeout=5)
    assert r.status_code == 400 and "chain_id" in r.json()["error"]["message"]
    assert post().status_code == 200
    assert post().status_code == 200  # same header again: fine (idempotent)
    other = CosignRequest(31337, CONTRACT, 7, b"\x78" * 32).to_json()
    r = requests.post(url, json=other, timeout=5)
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflicting_header"
    h = requests.get(servers[0].url + "/cosign/health", timeout=5).json()
    assert h["signer"] == dev_account(1).address and h["signed"] == 1


def test_equivocation_guard_survives_restart(tmp_path) -> None:
    log = SignedLog(tmp_path / "s.sqlite")
    assert log.claim(CONTRACT, 1, "0xaa") is None
    log.close()
    again = SignedLog(tmp_path / "s.sqlite")
    assert again.claim(CONTRACT, 1, "0xbb") == "0xaa"
