"""State tree: roots, inclusion/exclusion proofs, checkpoints, persistence."""

from __future__ import annotations

import random

import pytest

from offchain.rollup.errors import StateError, StateProofError
from offchain.rollup.ledger.state import (
    DEPTH,
    Leaf,
    LeafRow,
    State,
    StateProof,
    balance_key,
    compose_state_root,
    compute_tree_root,
    leaf_hash,
    node_hash,
    nonce_key,
    verify_proof,
)

ZERO = b"\x00" * 32


def _reference_tree_root(leaves: list[tuple[int, int, int]]) -> bytes:
    """Naive full recomputation of the depth-32 tree (independent of State's lazy updates)."""
    level = [leaf_hash(*lf) for lf in leaves]
    for _ in range(DEPTH):
        if len(level) % 2:
            level.append(ZERO)
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def _random_state(n: int, seed: int = 1) -> tuple[State, dict[int, int]]:
    rng = random.Random(seed)
    st, model = State(), {}
    for _ in range(n):
        k = rng.getrandbits(256) or 1
        v = rng.getrandbits(64) + 1
        st.set(k, v)
        model[k] = v
    return st, model


def test_genesis_root_is_the_sentinel_tree() -> None:
    st = State()
    assert st.size == 1 and st.next_deposit_id == 0
    assert st.tree_root == compute_tree_root(0, leaf_hash(0, 0, 0), [ZERO] * DEPTH)
    assert st.root == compose_state_root(st.tree_root, 1, 0)


def test_root_matches_reference_after_inserts_and_updates() -> None:
    st, model = _random_state(50)
    keys = list(model)
    for k in keys[:10]:
        st.set(k, model[k] + 7)
    assert st.tree_root == _reference_tree_root(
        [(lf.key, lf.value, lf.next_key) for lf in st.leaves()]
    )
    # The leaves form a sorted linked list from the sentinel.
    by_key = {lf.key: lf for lf in st.leaves()}
    walk, k = [], by_key[0].next_key
    while k:
        walk.append(k)
        k = by_key[k].next_key
    assert walk == sorted(model)


def test_inclusion_and_exclusion_proofs_verify() -> None:
    st, model = _random_state(40)
    root = st.root
    for k, v in list(model.items())[:15]:
        p = st.prove(k)
        assert p.included and verify_proof(root, p) == v
    rng = random.Random(9)
    for _ in range(15):
        k = rng.getrandbits(256)
        p = st.prove(k)
        assert not p.included and verify_proof(root, p) == 0
        assert p.leaf.key < k and (p.leaf.next_key == 0 or p.leaf.next_key > k)


def test_tampered_proofs_are_rejected() -> None:
    st, model = _random_state(20)
    k = next(iter(model))
    p = st.prove(k)
    forged_value = StateProof(**{**p.__dict__, "value": p.value + 1})
    with pytest.raises(StateProofError):
        verify_proof(st.root, forged_value)
    forged_leaf = StateProof(
        **{**p.__dict__, "leaf": Leaf(k, p.value + 1, p.leaf.next_key), "value": p.value + 1}
    )
    with pytest.raises(StateProofError, match="path"):
        verify_proof(st.root, forged_leaf)
    # Claiming a present key is absent: its own leaf does not bracket it.
    excl = StateProof(**{**p.__dict__, "included": False, "value": 0})
    with pytest.raises(StateProofError, match="bracket"):
        verify_proof(st.root, excl)
    with pytest.raises(StateProofError, match="hash to the root"):
        verify_proof(b"\x01" * 32, p)


def test_writing_zero_to_an_absent_key_changes_nothing() -> None:
    st = State()
    before = st.root
    st.set(12345, 0)
    assert st.root == before and st.size == 1
    st.set(12345, 1)
    st.set(12345, 0)  # present keys keep their leaf with value 0
    assert st.size == 2 and st.contains(12345) and st.get(12345) == 0


def test_rollback_restores_roots_and_proofs() -> None:
    st, model = _random_state(30)
    root0, size0 = st.root, st.size
    cp = st.checkpoint()
    rng = random.Random(3)
    for _ in range(25):
        st.set(rng.getrandbits(256) or 1, rng.getrandbits(32) + 1)
    k = next(iter(model))
    st.set(k, 999)
    st.next_deposit_id = 17
    mid_root, cp2 = st.root, st.checkpoint()
    st.set(rng.getrandbits(256) or 1, 5)
    st.rollback(cp2)
    assert st.root == mid_root
    st.rollback(cp)
    assert (st.root, st.size, st.next_deposit_id) == (root0, size0, 0)
    assert st.get(k) == model[k]
    assert verify_proof(st.root, st.prove(k)) == model[k]
    with pytest.raises(StateError):
        st.rollback(cp2)  # in the future now


def test_discard_before_invalidates_older_checkpoints() -> None:
    st = State()
    cp0 = st.checkpoint()
    st.set(5, 5)
    cp1 = st.checkpoint()
    st.set(6, 6)
    st.discard_before(cp1)
    with pytest.raises(StateError, match="not available"):
        st.rollback(cp0)
    st.rollback(cp1)
    assert st.get(6) == 0 and st.get(5) == 5


def test_dump_load_and_rows_roundtrip() -> None:
    st, _ = _random_state(60)
    st.next_deposit_id = 42
    loaded = State.load(st.dump())
    assert loaded.root == st.root and loaded.next_deposit_id == 42
    rows = st.leaves()
    again = State.from_rows(reversed(rows), 42)
    assert again.root == st.root
    with pytest.raises(StateError):
        State.load(b"garbage")
    with pytest.raises(StateError):
        State.load(st.dump()[:-1])
    bad = [*rows[:-1], LeafRow(rows[-1].index, rows[-1].key, rows[-1].value, 123)]
    with pytest.raises(StateError, match="nextKey"):
        State.from_rows(bad, 0)


def test_changes_since_gives_an_incremental_diff() -> None:
    st, _ = _random_state(10)
    base_rows = {r.index: r for r in st.leaves()}
    cp = st.checkpoint()
    st.set(7, 70)
    st.set(next(iter(k for k in (r.key for r in st.leaves()) if k not in (0, 7))), 1)
    diff = st.changes_since(cp)
    merged = {**base_rows, **{r.index: r for r in diff}}
    assert State.from_rows(merged.values(), st.next_deposit_id).root == st.root
    assert len(diff) < st.size


def test_copy_is_independent() -> None:
    st, _ = _random_state(10)
    c = st.copy()
    c.set(99, 1)
    assert c.root != st.root and st.get(99) == 0


def test_keys_are_domain_separated() -> None:
    a = "0x" + "ab" * 20
    assert balance_key(a, "0x" + "00" * 20) != nonce_key(a)
    assert balance_key(a, "0x" + "00" * 20) == balance_key(bytes.fromhex("ab" * 20), bytes(20))


def test_root_after_every_step_matches_a_full_recomputation() -> None:
    """The incremental root (dirty leaves rehashed, paths merged, then one path to the top) is
    the naive root after each step: updates, inserts, several writes per step and rollbacks
    that remove appended leaves, read before or after their flush."""
    rng = random.Random(7)
    st, _ = _random_state(40, seed=3)
    for step in range(120):
        cp = st.checkpoint()
        for _ in range(rng.choice((1, 1, 2, 5))):
            k = rng.choice([lf.key for lf in st.leaves()[1:]]) if rng.random() < 0.6 else 0
            st.set(k or rng.getrandbits(256) or 1, rng.getrandbits(64) + 1)
        if step % 3 == 0:
            _ = st.root  # flushed before the rollback, or not
        if rng.random() < 0.3:
            st.rollback(cp)
        want = _reference_tree_root([(lf.key, lf.value, lf.next_key) for lf in st.leaves()])
        assert st.tree_root == want, f"step {step}"
