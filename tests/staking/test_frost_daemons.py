"""FROST among real sequencer daemons (processes) on Anvil: DKG over their peer HTTP, the key
installed on L1 by >2/3 ECDSA, one-signature batches; a fifth sequencer joins and the key is
reshared (L1 key unchanged, the newcomer's share signs); a kicked sequencer's old share no
longer combines with the new ones.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from offchain.chain.accounts import dev_account
from offchain.chain.anvil import Anvil
from offchain.chain.client import Chain, connect
from offchain.config import L2KitConfig
from offchain.deploy import Deployment, deploy_all
from offchain.staking.cluster import SequencerCluster
from offchain.staking.frost.group import Element
from offchain.staking.frost.keygen import KeyShare
from offchain.staking.frost.l1 import group_key_digest, l1_signature
from offchain.staking.frost.wire import element_of
from offchain.staking.signatures import CosignRequest
from tests.helpers.frost import (
    allocation_from_l1,
    as_timelock,
    coordinator,
    frost_sign,
    lock_new_sequencer,
)
from tests.helpers.waits import poll_until

pytestmark = pytest.mark.slow


@pytest.fixture
def devnet(tmp_path: Path) -> Iterator[tuple[Anvil, Chain, Deployment, L2KitConfig]]:
    with Anvil() as a:
        chain = Chain(connect(a.url))
        cfg = L2KitConfig()
        cfg.staking.devnet_epoch_length_s = 600
        dep = deploy_all(chain, chain.sender(dev_account(0)), cfg, log=lambda *_: None)
        dep.save(tmp_path / "deployment.json")
        yield a, chain, dep, cfg


def _request(chain: Chain, dep: Deployment, index: int) -> CosignRequest:
    sc = dep.addresses["state_commitment"]
    return CosignRequest(chain.chain_id, sc, index, bytes([index % 256]) * 32)


def _sign(sset, coord, session: str, req: CosignRequest, status: dict) -> bytes:
    return frost_sign(coord, session, req, status["public"], sset)


def _status(cluster: SequencerCluster, who: str) -> dict:
    import requests

    return requests.get(cluster.members[who].url + "/frost/status", timeout=10).json()


def _stored_shares(
    data_dir: Path, dev: int, addr: str, session: str, pk: Element
) -> list[KeyShare]:
    """What a sequencer holds on disk (an attacker's view of its own machine)."""
    db = sqlite3.connect(data_dir / f"seq{dev}" / f"frost-{addr.lower()}.sqlite")
    row = db.execute("SELECT doc FROM keysets WHERE session=?", (session,)).fetchone()
    doc = json.loads(row[0])
    return [KeyShare(int(i), int(v, 16), pk) for i, v in doc["secrets"].items()]


def test_dkg_reshare_join_and_kick_keep_the_key(devnet, tmp_path: Path) -> None:
    anvil, chain, dep, cfg = devnet
    sset = dep.contract(chain, "sequencer_set")
    pool = dep.contract(chain, "locking_pool")
    newbie = dev_account(5)
    with SequencerCluster(
        anvil.url, tmp_path / "deployment.json", tmp_path, [1, 2, 3, 4], later=[5]
    ) as cluster:
        coord = coordinator(cluster)
        # --- DKG among the four active sequencers, key installed by >2/3 of them.
        alloc = allocation_from_l1(pool)
        assert len(alloc.identifiers) == 4
        res = coord.keygen("dkg-1", alloc.identifiers, alloc.threshold)
        x = int(res["group_x"], 16)
        digest = group_key_digest(chain.chain_id, sset.address, 0, x)
        approvals = coord.approvals("dkg-1", x, list(alloc.identifiers), digest)
        assert len(approvals) == 4
        chain.sender(dev_account(0)).send(
            sset.functions.installGroupKey(x, int(res["group_y"], 16), approvals)
        )
        assert sset.functions.groupKeyX().call() == x
        first = list(alloc.identifiers)[0]
        req = _request(chain, dep, 1)
        sig = _sign(sset, coord, "dkg-1", req, _status(cluster, first))
        sset.functions.verifyBatchSignatures(req.digest, [sig]).call()

        # --- A fifth sequencer locks; the set reshares to it, the L1 key does not change.
        lock_new_sequencer(chain, dep, newbie, 30_000)
        cluster.start_member(5)
        coord.peers[newbie.address.lower()] = cluster.members[newbie.address].url
        new = allocation_from_l1(pool)
        assert newbie.address in new.identifiers
        old_pub = _status(cluster, first)["public"]
        quorum = sorted(i for ids in alloc.identifiers.values() for i in ids)[: alloc.threshold]
        holders = [a for a, ids in alloc.identifiers.items() if set(ids) & set(quorum)]
        res2 = coord.keygen(
            "reshare-1", new.identifiers, new.threshold,
            reshare_from="dkg-1", quorum=quorum, old=old_pub, dealers=holders,
        )  # fmt: skip
        assert int(res2["group_x"], 16) == x == sset.functions.groupKeyX().call()
        st5 = _status(cluster, newbie.address)
        assert st5["session"] == "reshare-1" and st5["identifiers"]
        # The newcomer's share is part of a signature that L1 accepts.
        pk = element_of(st5["group_key"], "key")
        req = _request(chain, dep, 2)
        mine = _stored_shares(tmp_path, 5, newbie.address, "reshare-1", pk)
        others = [
            s
            for dev, a in (
                (1, dev_account(1).address),
                (2, dev_account(2).address),
                (3, dev_account(3).address),
            )
            for s in _stored_shares(tmp_path, dev, a, "reshare-1", pk)
        ]
        quorum_shares = (mine + others)[: new.threshold]
        assert mine[0] in quorum_shares
        sset.functions.verifyBatchSignatures(
            req.digest, [l1_signature(quorum_shares, req.digest)]
        ).call()
        # And the coordinated round over HTTP works with the new shares too.
        sig = _sign(sset, coord, "reshare-1", req, st5)
        sset.functions.verifyBatchSignatures(req.digest, [sig]).call()

        # --- Kick dev 4; reshare it out. Its old shares no longer combine with new ones.
        kicked = dev_account(4).address
        as_timelock(chain, dep, pool.functions.kick(kicked))
        after = allocation_from_l1(pool)
        assert kicked not in after.identifiers
        cur_pub = _status(cluster, first)["public"]
        # The quorum dealing to the new set: old identifiers of the members still active.
        q2 = sorted(i for a, ids in new.identifiers.items() if a != kicked for i in ids)
        q2 = q2[: new.threshold]
        holders2 = [a for a, ids in new.identifiers.items() if set(ids) & set(q2)]
        res3 = coord.keygen(
            "reshare-2", after.identifiers, after.threshold,
            reshare_from="reshare-1", quorum=q2, old=cur_pub, dealers=holders2,
        )  # fmt: skip
        assert int(res3["group_x"], 16) == x
        req = _request(chain, dep, 3)
        sig = _sign(sset, coord, "reshare-2", req, _status(cluster, newbie.address))
        sset.functions.verifyBatchSignatures(req.digest, [sig]).call()
        stolen = _stored_shares(tmp_path, 4, kicked, "reshare-1", pk)
        taken = {s.identifier for s in stolen}
        fresh = [
            s
            for dev in (1, 2, 3, 5)
            for s in _stored_shares(tmp_path, dev, dev_account(dev).address, "reshare-2", pk)
            if s.identifier not in taken
        ]
        mixed = (stolen + fresh)[: after.threshold]
        assert len(mixed) == after.threshold and stolen[0] in mixed
        bad = l1_signature(mixed, req.digest)
        with pytest.raises(Exception):  # noqa: B017 - SequencerSetInvalidFrostSignature
            sset.functions.verifyBatchSignatures(req.digest, [bad]).call()


def test_daemons_generate_and_reshare_the_key_themselves(devnet, tmp_path: Path) -> None:
    anvil, chain, dep, cfg = devnet
    sset = dep.contract(chain, "sequencer_set")
    newbie = dev_account(5)
    with SequencerCluster(
        anvil.url, tmp_path / "deployment.json", tmp_path, [1, 2, 3, 4], frost=True, later=[5]
    ) as cluster:
        # No key on L1: the coordinator daemon runs the DKG and installs it (seed 004).
        x = poll_until(lambda: sset.functions.groupKeyX().call(), 90, "the daemons' DKG on L1")
        first = dev_account(1).address
        req = _request(chain, dep, 1)
        sig = _sign(
            sset,
            coordinator(cluster),
            _status(cluster, first)["session"],
            req,
            _status(cluster, first),
        )
        sset.functions.verifyBatchSignatures(req.digest, [sig]).call()
        # A fifth sequencer locks: the daemons reshare to it; the L1 key stays.
        lock_new_sequencer(chain, dep, newbie, 30_000)
        cluster.start_member(5)
        st5 = poll_until(
            lambda: (s := _status(cluster, newbie.address))["session"] and s, 90, "a resharing"
        )
        assert str(st5["session"]).startswith("reshare-")
        assert sset.functions.groupKeyX().call() == x
        assert len(sset.events.GroupKeyInstalled().get_logs(from_block=0)) == 1
        req = _request(chain, dep, 2)
        sig = _sign(sset, coordinator(cluster), st5["session"], req, st5)
        sset.functions.verifyBatchSignatures(req.digest, [sig]).call()
