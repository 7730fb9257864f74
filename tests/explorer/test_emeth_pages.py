"""The explorer's EMETH page against the real execution layer and EmethCore: jobs by state with
their SubJobs, nodes with the collateral and fuel EmethCore holds, Tickets and their settlement
as EmethCore records it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from offchain.devnet import Devnet
from offchain.explorer.service import Explorer
from tests.helpers.explorer import emeth_run, explorer_for


@pytest.fixture(scope="module")
def scene() -> Iterator[tuple[Any, list[str], Explorer]]:
    with Devnet(ephemeral=True, log=lambda *a: None) as d, emeth_run(d) as (stack, jobs):
        ex = explorer_for(d, el_url=stack.url)
        ex.server.start()
        try:
            ex.indexer.catch_up()
            yield stack, jobs, ex
        finally:
            ex.stop()


def test_jobs_and_subjobs_shown_as_the_execution_layer_has_them(scene: Any) -> None:
    stack, jobs, ex = scene
    client = stack.client()
    page = requests.get(ex.url + "/emeth", timeout=10).text
    for j in jobs:
        assert f'href="/emeth/jobs/{j}"' in page
        subs = client.jobs(parent=j)
        detail = requests.get(f"{ex.url}/emeth/jobs/{j}", timeout=10)
        assert detail.status_code == 200
        assert '<span class="pill billed">billed</span>' in detail.text
        for s in subs:
            assert f'href="/emeth/jobs/{s["jobId"]}"' in detail.text
    assert len(client.jobs(parent=jobs[0])) == 3  # the split word count


def test_nodes_show_the_collateral_and_fuel_emethcore_holds(scene: Any) -> None:
    stack, _, ex = scene
    nodes = {n["node"]: n for n in ex.store.get("emeth_nodes")}
    for acct in stack.node_accounts:
        n = nodes[acct.address]
        assert int(n["collateral"]) == stack.l1.collateral_of(acct.address).balance
        assert int(n["fuel"]) == stack.l1.total_fuel(acct.address) > 0


def test_tickets_settled_on_l1_are_shown_settled(scene: Any) -> None:
    stack, _, ex = scene
    page = requests.get(ex.url + "/emeth", timeout=10).text
    tickets = stack.client().tickets()
    assert tickets
    core = ex.indexer.l1.contracts["emeth_core"]
    for t in tickets:
        row = re.search(rf'<tr data-ticket="{t["ticketId"]}">(.*?)</tr>', page, re.S)
        assert row is not None
        assert core.functions.isSettled(t["ticketId"]).call()
        assert "settled</span> paid" in row.group(1)
        one = requests.get(f"{ex.url}/emeth/tickets/{t['ticketId']}", timeout=10)
        assert one.status_code == 200 and "settled</span> paid" in one.text
