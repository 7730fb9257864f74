"""FROST key management and signing surviving crashes, black-box: every sequencer is a real
``l2kit sequencer run`` process on Anvil, a crash is a SIGKILL.

- the key keepers' coordinator (lowest-address live member) is killed after the DKG; a fifth
  sequencer locks: the next live member reshares to it without the dead one (L1 key unchanged,
  one install, signatures still verify); restarted, the dead one is reshared back in;
- a member killed mid-DKG (after round 1) fails the round naming it; restarted from its data
  dir it replays its dealing and the same session completes;
- a member killed mid-signing (after its commitments) is dropped and the next round signs.

The fast in-process variants are in ``test_frost_peer.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from offchain.chain.accounts import dev_account
from offchain.chain.anvil import Anvil
from offchain.chain.client import Chain, connect
from offchain.config import L2KitConfig
from offchain.deploy import Deployment, deploy_all
from offchain.staking.cluster import SequencerCluster
from offchain.staking.frost.coordinator import FrostCoordinator, PeerError
from offchain.staking.frost.l1 import group_key_digest
from offchain.staking.signatures import CosignRequest
from tests.helpers.frost import allocation_from_l1, coordinator, frost_sign, lock_new_sequencer
from tests.helpers.waits import poll_until

pytestmark = pytest.mark.slow

# dev 4 has the lowest address (the first coordinator): 2 of 12 shares, so the rest can reshare.
STAKES = [30_000, 40_000, 50_000, 20_000]


@pytest.fixture
def devnet(tmp_path: Path) -> Iterator[tuple[Anvil, Chain, Deployment, L2KitConfig]]:
    with Anvil() as a:
        chain = Chain(connect(a.url))
        cfg = L2KitConfig()
        cfg.staking.devnet_epoch_length_s = 600
        cfg.staking.devnet_stakes_tokens = list(STAKES)
        dep = deploy_all(chain, chain.sender(dev_account(0)), cfg, log=lambda *_: None)
        dep.save(tmp_path / "deployment.json")
        yield a, chain, dep, cfg


def _status(cluster: SequencerCluster, who: str) -> dict[str, Any]:
    return dict(requests.get(cluster.members[who].url + "/frost/status", timeout=10).json())


def _sign(sset: Any, coord: FrostCoordinator, req: CosignRequest, status: dict[str, Any]) -> bytes:
    return frost_sign(coord, str(status["session"]), req, status["public"], sset)


def _request(chain: Chain, dep: Deployment, index: int) -> CosignRequest:
    return CosignRequest(
        chain.chain_id, dep.addresses["state_commitment"], index, bytes([index]) * 32
    )


def _dev(address: str) -> int:
    return next(i for i in range(1, 10) if dev_account(i).address == address)


def test_coordinator_killed_the_next_live_member_reshares(devnet, tmp_path: Path) -> None:
    anvil, chain, dep, _cfg = devnet
    sset = dep.contract(chain, "sequencer_set")
    newbie = dev_account(5)
    with SequencerCluster(
        anvil.url, tmp_path / "deployment.json", tmp_path, [1, 2, 3, 4], frost=True, later=[5]
    ) as cluster:
        x = poll_until(lambda: sset.functions.groupKeyX().call(), 90, "the daemons' DKG on L1")
        first = min(cluster.members, key=lambda a: int(a, 16))
        assert first == dev_account(4).address  # the coordinator of that DKG
        dkg_session = poll_until(lambda: _status(cluster, first)["session"], 30, "its key set")
        cluster.kill(first)
        # A fifth sequencer locks while the coordinator is down.
        lock_new_sequencer(chain, dep, newbie, 30_000)
        cluster.start_member(5)
        st5 = poll_until(
            lambda: (s := _status(cluster, newbie.address))["identifiers"] and s,
            90,
            "a resharing to the newcomer by the next live member",
        )
        assert str(st5["session"]).startswith("reshare-")
        assert first in st5["public"]["allocation"]  # still counted, holds nothing now
        assert sset.functions.groupKeyX().call() == x
        assert len(sset.events.GroupKeyInstalled().get_logs(from_block=0)) == 1
        # The live members (the newcomer included) sign; the dead one's identifiers cannot.
        live = {a: m.url for a, m in cluster.members.items() if a != first}
        req = _request(chain, dep, 1)
        sig = _sign(sset, FrostCoordinator(live, timeout_s=30), req, st5)
        assert req.absent == 1 << list(sset.functions.activeSigners().call()).index(first)
        sset.functions.verifyBatchSignatures(req.digest, [sig]).call()
        # Back up, the old coordinator holds a stale key set: it is reshared back in.
        cluster.start_member(4)
        back = poll_until(
            lambda: (s := _status(cluster, first))["session"] not in (dkg_session, None) and s,
            90,
            "a resharing back to the restarted coordinator",
        )
        assert back["identifiers"] and sset.functions.groupKeyX().call() == x
        req = _request(chain, dep, 2)
        sig = _sign(sset, coordinator(cluster), req, back)
        sset.functions.verifyBatchSignatures(req.digest, [sig]).call()
        assert len(sset.events.GroupKeyInstalled().get_logs(from_block=0)) == 1


class _Kill(FrostCoordinator):
    """A coordinator that SIGKILLs one member's process right before round ``before``."""

    def __init__(self, cluster: SequencerCluster, victim: str, before: str) -> None:
        super().__init__({a: m.url for a, m in cluster.members.items()}, timeout_s=30)
        self.cluster, self.victim, self.before, self.killed = cluster, victim, before, False

    def _all(self, who, path, body):  # type: ignore[no-untyped-def]
        if path == self.before and not self.killed:
            self.cluster.kill(self.victim)
            self.killed = True
        return super()._all(who, path, body)


def test_killed_mid_dkg_and_mid_signing(devnet, tmp_path: Path) -> None:
    anvil, chain, dep, cfg = devnet
    sset = dep.contract(chain, "sequencer_set")
    pool = dep.contract(chain, "locking_pool")
    with SequencerCluster(anvil.url, tmp_path / "deployment.json", tmp_path) as cluster:
        alloc = allocation_from_l1(pool)
        victim = dev_account(2).address
        kill = _Kill(cluster, victim, "/frost/round2")
        with pytest.raises(PeerError) as e:
            kill.keygen("dkg-k", alloc.identifiers, alloc.threshold)
        assert e.value.peer.lower() == victim.lower() and e.value.code == "unreachable"
        # Restarted from its data dir, it replays the dealing it published: the DKG completes.
        cluster.start_member(_dev(victim))
        coord = coordinator(cluster)
        res = coord.keygen("dkg-k", alloc.identifiers, alloc.threshold)
        x = int(res["group_x"], 16)
        digest = group_key_digest(chain.chain_id, sset.address, 0, x)
        approvals = coord.approvals("dkg-k", x, list(alloc.identifiers), digest)
        chain.sender(dev_account(0)).send(
            sset.functions.installGroupKey(x, int(res["group_y"], 16), approvals)
        )
        # Mid-signing: the lightest member is killed after sending its commitments.
        light = min(alloc.identifiers, key=lambda a: len(alloc.identifiers[a]))
        st = _status(cluster, light)
        st["public"]["allocation"] = {
            light: st["public"]["allocation"][light],
            **st["public"]["allocation"],
        }  # it is asked first, so it is in the first round's signers
        kill = _Kill(cluster, light, "/frost/sign")
        req = _request(chain, dep, 3)
        sig = _sign(sset, kill, req, st)
        sset.functions.verifyBatchSignatures(req.digest, [sig]).call()
        assert kill.metrics["rounds"] == 2 and kill.metrics["dropped_signers"] == 1
