"""Checkpoint preflight and live verdicts are probes: run by the probe runner, in order, crash-safe."""

from types import MappingProxyType

from ddoctor.live.launch import LiveRun, live_probes
from ddoctor.live.result import LiveResult, Placement, SweepPoint
from ddoctor.model.host import HostFacts
from ddoctor.model.status import Status
from ddoctor.probes.runner import run_probes
from ddoctor.ranks.job import JobOutcome, ProcessExit, RankState
from ddoctor.ranks.plan import Plan
from ddoctor.smoke.ckpt_check import judge

PARAMS = {"dim": 128, "n_layers": 1, "n_heads": 16, "n_kv_heads": 8, "vocab_size": 64, "multiple_of": 32,
          "norm_eps": 1e-5}


def shard(i: int, n: int = 1, **keys):
    return {"file": f"consolidated.{i:02d}.pth", "bytes": 1000, "error": None, "keys": keys or {
        "output.weight": [[64 // n, 128], "bfloat16", 1]}}


def data(shards, params=PARAMS, error=None, tokenizer="/ck/tokenizer.model"):
    return {"dir": "/ck", "params": params, "params_error": error, "shards": shards, "tokenizer": tokenizer}


def ids(findings):
    return [(f.id, f.status) for f in findings]


def test_no_shards_is_the_one_verdict():
    assert ids(judge(data([]), nproc=None)) == [("ckpt.shards", Status.FAIL)]


def test_verdicts_come_in_report_order_with_the_planned_ranks():
    found = ids(judge(data([shard(0)]), nproc=2, host=HostFacts(system="Linux", machine="x86_64",
                                                                 ram_available=1 << 40)))
    assert [i for i, _ in found] == ["ckpt.shards", "ckpt.world", "ckpt.params", "ckpt.shapes", "ckpt.memory",
                                     "ckpt.tokenizer"]
    assert dict(found)["ckpt.world"] is Status.FAIL


def test_unusable_params_skip_the_shape_check():
    found = dict(ids(judge(data([shard(0)], error="params.json not found"), nproc=None)))
    assert found["ckpt.params"] is Status.FAIL
    assert "ckpt.shapes" not in found


def test_too_little_ram_fails_the_memory_verdict():
    found = {f.id: f for f in judge(data([shard(0)]), nproc=1, host=HostFacts(system="Linux", machine="x86_64",
                                                                              ram_available=10))}
    assert found["ckpt.memory"].status is Status.FAIL
    assert "OOM-killed" in found["ckpt.memory"].summary


def outcome(phases, exits, timed_out=False):
    ranks = {r: RankState(rank=r, phase=p, phase_times=MappingProxyType({}), lines=(), pid=None)
             for r, p in phases.items()}
    return JobOutcome(expected=len(phases), ranks=MappingProxyType(ranks), other=(), processes=tuple(exits),
                      timed_out=timed_out, first_failure=None)


PLAN = Plan(nproc=2, backend="gloo", device="cpu", reason="test")


def test_a_rank_that_never_arrived_is_named_with_its_signal():
    job = outcome({0: "all_reduce", 1: "rendezvous"},
                  [ProcessExit(pid=1, rank=0, returncode=None, stopped=True),
                   ProcessExit(pid=2, rank=1, returncode=-9, stopped=False)])
    run = LiveRun(job=job, result=None, plan=PLAN, min_busbw=None, timeout=20)
    (f,) = run_probes(live_probes(run), run)
    assert f.status is Status.FAIL
    assert "rank 1 never arrived at all_reduce" in f.summary
    assert "rank 1 was killed by SIGKILL" in f.summary


def test_a_finished_run_gets_three_verdicts():
    result = LiveResult(world_size=2, backend="gloo",
                        placement=(Placement(rank=0, local_rank=0, device="cpu"),
                                   Placement(rank=1, local_rank=1, device="cpu")),
                        collectives_s={"all_reduce": 0.001}, wrong=((), ()),
                        sweep=(SweepPoint(bytes=1024, time_us=5.0, algbw_GBs=0.2, busbw_GBs=0.2, wrong=0),))
    run = LiveRun(job=outcome({0: "done", 1: "done"}, []), result=result, plan=PLAN, min_busbw=1.0, timeout=20)
    found = ids(run_probes(live_probes(run), run))
    assert found == [("live.collectives", Status.PASS), ("live.placement", Status.PASS),
                     ("live.bandwidth", Status.FAIL)]
