"""Hostile flight-recorder dumps: each bad dump is reported unreadable while the others are analysed, and
none can make the analysis loop, recurse or allocate without bound."""

import json
import pickle

import pytest

from ddoctor.parse import flight_recorder
from ddoctor.parse.flight_recorder import analyze


def entry(seq, name="gloo:all_reduce", sizes=((4,),), pg=("0", "default_pg")):
    return {"collective_seq_id": seq, "profiling_name": name, "input_sizes": [list(s) for s in sizes],
            "input_dtypes": ["Float"], "process_group": list(pg), "is_p2p": False}


def dump(*seqs, extra=()):
    return {"entries": [entry(s) for s in seqs] + list(extra), "pg_status": {"0": {"last_completed_collective": 1}}}


def write(folder, name, obj):
    (folder / name).write_bytes(obj if isinstance(obj, bytes) else pickle.dumps(obj))


def healthy_pair(folder):
    """Rank 1 never issues collective #3: the finding the hostile dumps must not hide."""
    write(folder, "trace_rank_0", dump(1, 2, 3))
    write(folder, "trace_rank_1", dump(1, 2))


def test_the_healthy_pair_alone_names_the_missing_collective(tmp_path):
    healthy_pair(tmp_path)
    rep = analyze(tmp_path)
    assert [(p.kind, p.seq, p.ranks) for p in rep.problems] == [("missing", 3, (1,))]


def _shared_nest(depth):
    x = [1]
    for _ in range(depth):
        x = [x, x]
    return x


HOSTILE = {
    "a list at top level": pickle.dumps([1, 2, 3]),
    "entries not a list": pickle.dumps({"entries": "abc"}),
    "an entry without a sequence id": pickle.dumps({"entries": [{"profiling_name": "x"}]}),
    "a sequence id that is a string": pickle.dumps({"entries": [entry("7")]}),
    "pg_status of the wrong shape": pickle.dumps({"entries": [entry(1)], "pg_status": {"0": [1]}}),
    "sizes that are not lists of ints": pickle.dumps({"entries": [entry(1, sizes=(("a",),))]}),
    "memo-shared nested lists": pickle.dumps({"entries": [{**entry(1), "input_sizes": _shared_nest(60)}]}),
    "a shared nest as the name": pickle.dumps({"entries": [{**entry(1), "profiling_name": _shared_nest(60)}]}),
    "deeply nested JSON": b"[" * 200_000 + b"]" * 200_000,
    # 100 000 nested lists built by the unpickler's own stack (pickle.dumps itself cannot nest so deep)
    "deeply nested sizes": b"\x80\x02}(X\x07\x00\x00\x00entries](}(X\x11\x00\x00\x00collective_seq_idK\x01"
                           b"X\x0b\x00\x00\x00input_sizes" + b"]" * 100_000 + b"a" * 99_999 + b"ueu.",
    "not a pickle at all": b"\x00\x01garbage",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_dump_is_unreadable_and_the_others_are_analysed(tmp_path, name):
    healthy_pair(tmp_path)
    write(tmp_path, "trace_rank_2", HOSTILE[name])
    rep = analyze(tmp_path)
    assert [u.split(":")[0] for u in rep.unreadable] == ["trace_rank_2"]
    assert sorted(rep.ranks) == [0, 1]
    assert [(p.kind, p.seq) for p in rep.problems] == [("missing", 3)]


def test_a_huge_sequence_id_is_judged_by_the_ids_present(tmp_path):
    write(tmp_path, "trace_rank_0", dump(1, 10**12))
    write(tmp_path, "trace_rank_1", dump(1))
    rep = analyze(tmp_path)
    assert [(p.kind, p.seq, p.ranks) for p in rep.problems] == [("missing", 10**12, (1,))]


def test_a_dump_over_the_size_cap_is_not_read(tmp_path, monkeypatch):
    healthy_pair(tmp_path)
    big = tmp_path / "trace_rank_2"
    with open(big, "wb") as f:
        f.truncate(flight_recorder.MAX_DUMP_BYTES + 1)  # sparse: costs no disk
    rep = analyze(tmp_path)
    assert len(rep.unreadable) == 1
    assert "larger than" in rep.unreadable[0]


def test_json_dumps_are_validated_too(tmp_path):
    healthy_pair(tmp_path)
    (tmp_path / "trace_rank_2.json").write_text(json.dumps({"entries": [{"collective_seq_id": None}]}))
    rep = analyze(tmp_path)
    assert [u.split(":")[0] for u in rep.unreadable] == ["trace_rank_2.json"]
