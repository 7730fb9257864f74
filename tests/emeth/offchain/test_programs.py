"""The three shipped programs: compute, verify (wrong results rejected), split, aggregate."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.emeth.errors import ProgramError, UnknownProgram
from offchain.emeth.programs import MatMul, SortDedupe, WordCount, default_registry


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.text(alphabet="abc xyz\n'", max_size=30), min_size=1, max_size=20),
    st.integers(2, 6),
)
def test_wordcount_split_aggregate_equals_whole(lines: list[str], parts: int) -> None:
    p = WordCount()
    data = "\n".join(lines).encode()
    whole, fuel = p.compute(data, {})
    assert p.verify(data, whole, {}, fuel).ok
    pieces = p.split(data, parts, {}) or [data]
    assert p.aggregate([p.compute(x, {})[0] for x in pieces], {}) == whole
    assert sum(p.fuel(x, {}) for x in pieces) == fuel


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.binary(min_size=1, max_size=6).filter(lambda b: b"\n" not in b), max_size=40),
    st.integers(2, 8),
)
def test_sortdedupe_split_aggregate_equals_whole(recs: list[bytes], parts: int) -> None:
    p = SortDedupe()
    data = b"".join(r + b"\n" for r in recs)
    whole, fuel = p.compute(data, {})
    assert p.verify(data, whole, {}, fuel).ok and fuel == len(recs)
    pieces = p.split(data, parts, {}) or [data]
    assert p.aggregate([p.compute(x, {})[0] for x in pieces], {}) == whole


def test_verifiers_reject_wrong_results() -> None:
    wc, sd, mm = WordCount(), SortDedupe(), MatMul()
    text = b"a b b\n"
    res, fuel = wc.compute(text, {})
    assert not wc.verify(text, res.replace(b'"b":2', b'"b":3'), {}, fuel).ok
    assert not wc.verify(text, res, {}, fuel + 1).ok
    recs = b"b\na\nb\n"
    assert not sd.verify(recs, b"b\na\n", {}, 3).ok  # unsorted
    assert not sd.verify(recs, b"a\nb\nb\n", {}, 3).ok  # duplicate
    assert not sd.verify(recs, b"a\n", {}, 3).ok  # missing
    assert not sd.verify(recs, b"a\nb\nc\n", {}, 3).ok  # extra
    data = json.dumps({"a": [[1, 2], [3, 4], [5, 6]], "b": [[1, 0], [0, 1]]}).encode()
    c, fuel = mm.compute(data, {})
    assert json.loads(c)["c"] == [[1, 2], [3, 4], [5, 6]] and mm.verify(data, c, {}, fuel).ok
    wrong = json.dumps({"c": [[1, 2], [3, 5], [5, 6]]}).encode()
    assert not mm.verify(data, wrong, {}, fuel).ok  # Freivalds catches one wrong entry
    assert not mm.verify(data, b"{}", {}, fuel).ok


def test_matmul_split_aggregate_and_bad_input() -> None:
    mm = MatMul()
    a = [[i + j for j in range(5)] for i in range(9)]
    b = [[i - j for j in range(3)] for i in range(5)]
    data = json.dumps({"a": a, "b": b}).encode()
    pieces = mm.split(data, 4, {})
    assert len(pieces) == 3 or len(pieces) == 4
    assert mm.aggregate([mm.compute(x, {})[0] for x in pieces], {}) == mm.compute(data, {})[0]
    for bad in (b"nope", b'{"a": [[1]], "b": [[1, 2], [3, 4]]}', b'{"a": [[1.5]], "b": [[1]]}'):
        with pytest.raises(ProgramError):
            mm.compute(bad, {})
    with pytest.raises(ProgramError):
        WordCount().compute(b"\xff\xfe", {})


def test_registry_suggests_close_ids() -> None:
    reg = default_registry()
    assert list(reg) == ["matmul/v1", "sortdedupe/v1", "wordcount/v1"]
    with pytest.raises(UnknownProgram) as e:
        reg.get("wordcount/v2")
    assert "wordcount/v1" in str(e.value)


def test_user_program_module_loads() -> None:
    from offchain.emeth.errors import ConfigError

    reg = default_registry(["tests.emeth.offchain.reverse_program"])
    p = reg.get("reverse/v1")
    out, fuel = p.compute(b"abc", {})
    assert (
        out == b"cba"
        and p.verify(b"abc", out, {}, fuel).ok
        and not p.verify(b"abc", b"abc", {}, 3).ok
    )
    with pytest.raises(ConfigError):
        default_registry(["no.such.module"])


def test_results_parsed_canonically_within_limits() -> None:
    """Bounded canonical parsing: a bomb, a non-canonical encoding and a deep dataset are each
    one job's fault (a Verdict or a ProgramError), never a RecursionError."""
    from offchain.emeth.programs.canonical import json_depth, load_json

    m = MatMul()
    data = b'{"a":[[1,2]],"b":[[3],[4]]}'
    good, fuel = m.compute(data, {})
    assert m.verify(data, good, {}, fuel).ok
    assert not m.verify(data, good.replace(b":", b": "), {}, fuel).ok  # same value, not canonical
    bomb = b'{"c":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert not m.verify(data, bomb, {}, fuel).ok
    assert json_depth(b'{"k":"[[[[[[", "l":[1]}') == 2  # brackets in strings do not count
    with pytest.raises(ProgramError, match="nested"):
        m.compute(b'{"a":[[[1]]],"b":[[1]]}', {})
    with pytest.raises(ProgramError, match="over the limit"):
        load_json(b"[1]" * 10, "x", max_bytes=8)
