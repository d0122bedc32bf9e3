"""Run the live ranks on this node and judge what happened with probes (torch-free)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass

from ddoctor.host import processes
from ddoctor.host.system import loopback_interface
from ddoctor.live.result import Absent, LiveResult
from ddoctor.model.finding import Finding
from ddoctor.probes.base import Outcome, Probe, fail, fix, ok
from ddoctor.probes.runner import run_probes
from ddoctor.ranks.job import JobOutcome, RankJob, base_env, local_rank_env
from ddoctor.ranks.plan import Plan
from ddoctor.ranks.protocol import ProtocolError, read_document

PHASES = ("start", "rendezvous", "monitored_barrier", "all_reduce", "broadcast", "all_gather", "barrier", "bandwidth",
          "verify", "done")


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveRun:
    """What the live verdicts read: the finished job, rank 0's result, and what was asked."""

    job: JobOutcome
    result: LiveResult | None
    plan: Plan
    min_busbw: float | None
    timeout: float
    absent: Absent | None = None  # ranks that never reached the monitored barrier, by rank 0's count


def run_live(plan: Plan, *, timeout: float, min_busbw: float | None, max_bytes: int,
             fault: str | None = None) -> tuple[Finding, ...]:
    work = processes.scratch_dir("ddoctor-live-")
    try:
        result_path, absent_path = work / "result.json", work / "absent.json"
        job = RankJob(plan.nproc, fixed=True)
        env = base_env(plan)
        lo = loopback_interface()
        pg_timeout = max(5.0, timeout * 0.5)
        try:
            for r in range(plan.nproc):
                argv = [sys.executable, "-m", "ddoctor.live.rank", "--result", str(result_path), "--backend",
                        plan.backend, "--device", plan.device, "--timeout", str(pg_timeout), "--max-bytes",
                        str(max_bytes), "--absent", str(absent_path)]
                job.start(argv + (["--fault", fault] if fault else []), local_rank_env(env, plan, r, work, lo), r)
            job.wait(timeout)
        finally:
            job.stop()
        try:
            result = read_document(result_path, LiveResult)
        except ProtocolError:
            result = None
        try:
            absent = read_document(absent_path, Absent)
        except ProtocolError:
            absent = None
    finally:
        processes.remove_scratch(work)
    run = LiveRun(job=job.outcome(), result=result, plan=plan, min_busbw=min_busbw, timeout=timeout, absent=absent)
    return run_probes(live_probes(run), run)


def _straggler(job: JobOutcome) -> tuple[str, list[int]] | None:
    """The rank(s) that never reached the collective the others were waiting in."""
    order = {p: i for i, p in enumerate(PHASES)}
    phases = {r: st.phase for r, st in job.ranks.items()}
    furthest = max(order.get(p, 0) for p in phases.values())
    behind = [r for r, p in phases.items() if order.get(p, 0) < furthest]
    if not behind or furthest >= order["done"]:
        return None
    waiting = next(p for p in phases.values() if order.get(p, 0) == furthest)
    return (f"rank{'s' if len(behind) > 1 else ''} {', '.join(map(str, behind))} never arrived at {waiting} "
            f"(last seen in {', '.join(sorted({phases[r] for r in behind}))})", behind)


def check_no_result(run: LiveRun) -> Outcome:
    """No result document: name the rank that stalled or died, and how."""
    job, plan = run.job, run.plan
    if run.absent is not None and run.absent.ranks:
        who = run.absent.ranks
        return fail(f"rank{'s' if len(who) > 1 else ''} {', '.join(map(str, who))} never reached the monitored "
                    f"barrier within {run.absent.timeout_s:.0f} s (Gloo's monitored_barrier names every absent "
                    "rank): they are stuck before their first collective",
                    fix("Find where those ranks stop: take their stacks while they hang, and rerun with "
                        "debugging on.", "ddoctor snapshot PID",
                        "TORCH_DISTRIBUTED_DEBUG=DETAIL ddoctor check --live -v"),
                    affects=tuple(f"rank {r}" for r in who))
    straggler = _straggler(job)
    failed = [p.rank for p in job.processes if p.rank is not None and p.returncode not in (0, None)
              and not p.stopped]
    reason = straggler[0] if straggler else (f"rank(s) {', '.join(map(str, failed))} failed" if failed
                                             else "no result")
    culprits = straggler[1] if straggler else [r for r, st in job.ranks.items() if st.phase != "done"]
    died = {p.rank: p.returncode for p in job.processes if p.rank in culprits and not p.stopped
            and p.returncode not in (None, 0)}
    if died:
        reason += "; " + ", ".join(
            f"rank {r} {'was killed by ' + signal.Signals(-c).name if c < 0 else f'exited with code {c}'}"
            for r, c in sorted(died.items()))
    if job.timed_out:
        reason += f"; stopped after {run.timeout:.0f} s"
    tail = next((job.ranks[r].lines[-1] for r in failed if job.ranks[r].lines), "")
    return fail(f"{plan.backend} collectives between {plan.nproc} local rank(s) did not complete: {reason}"
                + (f" — {tail}" if tail else ""),
                fix("Find why that rank stalls: rerun with debugging on, and diagnose its output.",
                    "TORCH_DISTRIBUTED_DEBUG=DETAIL NCCL_DEBUG=INFO ddoctor check --live -v",
                    "ddoctor smoke --nproc 2"),
                affects=tuple(f"rank {r}" for r in culprits))


def check_collectives(run: LiveRun) -> Outcome:
    assert run.result is not None
    wrong = sorted({op for w in run.result.wrong for op in w})
    if wrong:
        return fail(f"wrong results from {', '.join(wrong)}",
                    fix("Collectives return wrong values: suspect the interconnect or driver; exclude GPUs one "
                        "by one.", "nvidia-smi topo -m"))
    times = ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in run.result.collectives_s.items())
    return ok(f"all_reduce, broadcast, all_gather and barrier verified on {run.plan.nproc} rank(s) "
              f"({run.plan.backend}): {times}")


def check_placement(run: LiveRun) -> Outcome:
    assert run.result is not None
    placement = run.result.placement
    devices = [p.device for p in placement]
    where = ", ".join(f"rank {p.rank} → {p.device}" for p in placement)
    if len(set(devices)) != len(devices) and run.plan.device == "cuda":
        return fail("two ranks share a GPU: " + where,
                    fix("Bind each rank with torch.cuda.set_device(LOCAL_RANK).",
                        f"torchrun --nproc_per_node {run.plan.nproc} ..."))
    return ok("each rank on its own device: " + where)


def check_bandwidth(run: LiveRun) -> Outcome:
    assert run.result is not None
    sweep, plan = run.result.sweep, run.plan
    table = tuple(f"{s.bytes:>11,} B  {s.time_us:>10.1f} us  algbw {s.algbw_GBs:.3f} GB/s  busbw "
                  f"{s.busbw_GBs:.3f} GB/s  #wrong {s.wrong}" for s in sweep)
    peak = max((s.busbw_GBs for s in sweep), default=0.0)
    bad = sum(s.wrong for s in sweep)
    ev = {"peak_busbw_GBs": round(peak, 3), "sizes": len(sweep), "wrong": bad}
    if bad:
        return fail(f"{bad} wrong values in the sweep",
                    fix("Wrong all_reduce results: suspect hardware or the interconnect.", "nvidia-smi topo -m"),
                    details=table, evidence=ev)
    if run.min_busbw is not None and peak < 0.9 * run.min_busbw:
        return fail(f"peak bus bandwidth {peak:.3f} GB/s is below 0.9 × the floor {run.min_busbw} GB/s",
                    fix("Check topology, P2P/ACS settings and NCCL_* variables that disable transports.",
                        "ddoctor check env.hygiene", "nvidia-smi topo -m"), details=table, evidence=ev)
    return ok(f"peak bus bandwidth {peak:.3f} GB/s ({plan.backend}, {plan.nproc} rank(s), "
              f"{sweep[0].bytes:,}–{sweep[-1].bytes:,} B)" if sweep else "no sizes measured",
              details=table, evidence=ev)


def _probe(pid: str, title: str, run: Callable[[LiveRun], Outcome], description: str) -> Probe[LiveRun]:
    return Probe(id=f"live.{pid}", title=title, group="live", run=run, description=description)


COLLECTIVES_FAILED = _probe("collectives", "live collectives", check_no_result,
                            "every rank reached the end of the collectives")
LIVE_PROBES: tuple[Probe[LiveRun], ...] = (
    _probe("collectives", "live collectives", check_collectives,
           "all_reduce, broadcast, all_gather and barrier return the right values"),
    _probe("placement", "device placement", check_placement, "each rank on its own device"),
    _probe("bandwidth", "all_reduce bandwidth", check_bandwidth, "an nccl-tests-style all_reduce sweep"),
)


def live_probes(run: LiveRun) -> tuple[Probe[LiveRun], ...]:
    """Without a result document only the failure can be judged."""
    return LIVE_PROBES if run.result is not None else (COLLECTIVES_FAILED,)
