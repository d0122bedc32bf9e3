"""Run the live ranks on this node and turn what happened into check findings (torch-free)."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from ddoctor.model.finding import Finding, Remediation
from ddoctor.model.status import Status
from ddoctor.smoke.launch import Plan, _base_env, _Job, _wait, local_rank_env

PHASES = ("start", "rendezvous", "all_reduce", "broadcast", "all_gather", "barrier", "bandwidth", "verify", "done")


def _f(fid, title, status, summary, fix=None, **kw) -> Finding:
    return Finding(id=f"live.{fid}", title=title, group="live", status=status, summary=summary,
                   remediation=fix if status in (Status.WARN, Status.FAIL) else None, **kw)


def run_live(plan: Plan, *, timeout: float, min_busbw: float | None, max_bytes: int,
             fault: str | None = None) -> list[Finding]:
    work = Path(tempfile.mkdtemp(prefix="ddoctor-live-"))
    result_path = work / "result.json"
    job = _Job(plan.nproc, None, fixed=True)
    env = _base_env(plan)
    pg_timeout = max(5.0, timeout * 0.5)
    try:
        for r in range(plan.nproc):
            renv = local_rank_env(env, plan, r, work)
            argv = [sys.executable, "-m", "ddoctor.live.rank", "--result", str(result_path), "--backend",
                    plan.backend, "--device", plan.device, "--timeout", str(pg_timeout), "--max-bytes", str(max_bytes)]
            job.start(argv + (["--fault", fault] if fault else []), renv, r)
        timed_out, _ = _wait(job, timeout)
    finally:
        job.kill_all()
        for t in job.readers:
            t.join(timeout=2)
    try:
        result = json.loads(result_path.read_text()) if result_path.exists() else None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return judge(job, result, plan, timed_out, min_busbw, timeout)


def _straggler(job) -> tuple[str, list[int]] | None:
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


def judge(job, result, plan: Plan, timed_out: bool, min_busbw: float | None, timeout: float) -> list[Finding]:
    findings = []
    if result is None:
        straggler = _straggler(job)
        failed = [r for p, r in job.procs if p.returncode not in (0, None) and p.pid not in job.stopped]
        reason = straggler[0] if straggler else (f"rank(s) {', '.join(map(str, failed))} failed" if failed
                                                 else "no result")
        culprits = straggler[1] if straggler else [r for r, st in job.ranks.items() if st.phase != "done"]
        died = {r: p.returncode for p, r in job.procs if r in culprits and p.pid not in job.stopped
                and p.returncode not in (None, 0)}
        if died:
            import signal as _signal

            reason += "; " + ", ".join(
                f"rank {r} {'was killed by ' + _signal.Signals(-c).name if c < 0 else f'exited with code {c}'}"
                for r, c in sorted(died.items()))
        if timed_out:
            reason += f"; stopped after {timeout:.0f} s"
        tail = next((list(job.ranks[r].lines)[-1] for r in failed if job.ranks[r].lines), "")
        findings.append(_f("collectives", "live collectives", Status.FAIL,
                           f"{plan.backend} collectives between {plan.nproc} local rank(s) did not complete: {reason}"
                           + (f" — {tail}" if tail else ""),
                           Remediation(summary="Find why that rank stalls: rerun with debugging on, and diagnose "
                                       "its output.", commands=(
                                           "TORCH_DISTRIBUTED_DEBUG=DETAIL NCCL_DEBUG=INFO ddoctor check --live -v",
                                           "ddoctor smoke --nproc 2")),
                           affects=tuple(f"rank {r}" for r in culprits)))
        return findings
    wrong = sorted({op for w in result["wrong"] for op in w})
    times = ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in result["collectives_s"].items())
    if wrong:
        findings.append(_f("collectives", "live collectives", Status.FAIL, f"wrong results from {', '.join(wrong)}",
                           Remediation(summary="Collectives return wrong values: suspect the interconnect or driver; "
                                       "exclude GPUs one by one.", commands=("nvidia-smi topo -m",))))
    else:
        findings.append(_f("collectives", "live collectives", Status.PASS,
                           f"all_reduce, broadcast, all_gather and barrier verified on {plan.nproc} rank(s) "
                           f"({plan.backend}): {times}"))
    devices = [p["device"] for p in result["placement"]]
    dup = len(set(devices)) != len(devices) and plan.device == "cuda"
    findings.append(_f("placement", "device placement", Status.FAIL if dup else Status.PASS,
                       ("two ranks share a GPU: " if dup else "each rank on its own device: ") + ", ".join(
                           f"rank {p['rank']} → {p['device']}" for p in result["placement"]),
                       Remediation(summary="Bind each rank with torch.cuda.set_device(LOCAL_RANK).",
                                   commands=("torchrun --nproc_per_node <GPUs> ...",))))
    sweep = result["sweep"]
    table = [f"{s['bytes']:>11,} B  {s['time_us']:>10.1f} us  algbw {s['algbw_GBs']:.3f} GB/s  busbw "
             f"{s['busbw_GBs']:.3f} GB/s  #wrong {s['wrong']}" for s in sweep]
    peak = max((s["busbw_GBs"] for s in sweep), default=0.0)
    bad = sum(s["wrong"] for s in sweep)
    ev = {"peak_busbw_GBs": round(peak, 3), "sizes": len(sweep), "wrong": bad}
    if bad:
        findings.append(_f("bandwidth", "all_reduce bandwidth", Status.FAIL, f"{bad} wrong values in the sweep",
                           Remediation(summary="Wrong all_reduce results: suspect hardware or the interconnect.",
                                       commands=("nvidia-smi topo -m",)), details=tuple(table), evidence=ev))
    elif min_busbw is not None and peak < 0.9 * min_busbw:
        findings.append(_f("bandwidth", "all_reduce bandwidth", Status.FAIL,
                           f"peak bus bandwidth {peak:.3f} GB/s is below 0.9 × the floor {min_busbw} GB/s",
                           Remediation(summary="Check topology, P2P/ACS settings and NCCL_* variables that disable "
                                       "transports.", commands=("ddoctor check env.hygiene", "nvidia-smi topo -m")),
                           details=tuple(table), evidence=ev))
    else:
        findings.append(_f("bandwidth", "all_reduce bandwidth", Status.PASS,
                           f"peak bus bandwidth {peak:.3f} GB/s ({plan.backend}, {plan.nproc} rank(s), "
                           f"{sweep[0]['bytes']:,}–{sweep[-1]['bytes']:,} B)" if sweep else "no sizes measured",
                           details=tuple(table), evidence=ev))
    return findings
