"""The rank <-> launcher protocol: event lines round-trip, and malformed lines or documents are refused."""

from dataclasses import dataclass

import pytest

from ddoctor.live.result import LiveResult, Placement, SweepPoint
from ddoctor.ranks.protocol import MARKER, ProtocolError, RankEvent, decode, read_document, write_document
from ddoctor.smoke.result import Generated, SmokeResult, Timings


def test_an_event_round_trips_through_its_line():
    ev = RankEvent(event="start", rank=3, world=4, pid=1234)
    assert RankEvent.from_line(ev.to_line()) == ev


def test_the_wire_format_is_what_older_ranks_print():
    assert RankEvent(event="phase", rank=1, phase="load").to_line() == \
        MARKER + '{"event": "phase", "rank": 1, "phase": "load"}'


def test_stage_is_the_phase_or_the_event():
    assert RankEvent(event="phase", rank=0, phase="generate").stage == "generate"
    assert RankEvent(event="done", rank=0).stage == "done"


@pytest.mark.parametrize("line", [
    "ordinary output", MARKER + "{not json", MARKER + '["a list"]', MARKER + '{"event": "explode", "rank": 0}',
    MARKER + '{"event": "start", "rank": "0"}', MARKER + '{"event": "start", "rank": true}',
    MARKER + '{"event": "phase", "rank": 0, "phase": 7}',
])
def test_malformed_event_lines_are_ordinary_output(line):
    assert RankEvent.from_line(line) is None


def smoke_doc(**kw):
    base = dict(world_size=2, backend="gloo", device="cpu", torch="2.13.0", prompts=("a",),
                greedy=Generated(tokens=((1, 2),), text=("ab",)), sampled=Generated(tokens=((1,),), text=("a",)),
                lockstep=True, timings=Timings(rendezvous_s=0.1, load_s=0.2, first_token_s=0.3, tokens_per_s=9.0,
                                               collective_latency_s=0.01),
                collectives_per_step=6.0, shard_bytes=10, peak_memory=(1, 2), params={"dim": 128})
    return SmokeResult(**{**base, **kw})


def test_a_result_document_round_trips(tmp_path):
    write_document(tmp_path / "r.json", smoke_doc())
    assert read_document(tmp_path / "r.json", SmokeResult) == smoke_doc()


def test_a_live_document_round_trips(tmp_path):
    doc = LiveResult(world_size=2, backend="gloo", placement=(Placement(rank=0, local_rank=0, device="cpu"),),
                     collectives_s={"barrier": 0.001}, wrong=((), ("all_reduce",)),
                     sweep=(SweepPoint(bytes=1024, time_us=3.0, algbw_GBs=0.3, busbw_GBs=0.3, wrong=0),))
    write_document(tmp_path / "r.json", doc)
    assert read_document(tmp_path / "r.json", LiveResult) == doc


def test_no_document_is_none(tmp_path):
    assert read_document(tmp_path / "absent.json", SmokeResult) is None


def test_a_corrupt_document_is_a_protocol_error(tmp_path):
    (tmp_path / "r.json").write_text("{truncated")
    with pytest.raises(ProtocolError, match="not JSON"):
        read_document(tmp_path / "r.json", SmokeResult)


@dataclass(frozen=True)
class _Doc:
    n: int
    names: tuple[str, ...] = ()
    ratio: float | None = None


@pytest.mark.parametrize(("data", "message"), [
    ({"names": []}, "n is missing"), ({"n": "1"}, "expected an integer"), ({"n": True}, "expected an integer"),
    ({"n": 1, "names": "ab"}, "expected a list"), ({"n": 1, "names": [1]}, "expected a string"),
    ({"n": 1, "ratio": "x"}, "none of"), ([1], "expected an object"),
])
def test_decoding_checks_every_field(data, message):
    with pytest.raises(ProtocolError, match=message):
        decode(_Doc, data)


def test_decoding_converts_lists_and_integral_floats():
    assert decode(_Doc, {"n": 1, "names": ["a"], "ratio": 2}) == _Doc(n=1, names=("a",), ratio=2.0)
