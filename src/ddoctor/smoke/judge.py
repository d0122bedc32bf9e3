"""Turn what a smoke run's ranks did (`JobOutcome`) and what rank 0 wrote (`SmokeResult`) into a report."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ddoctor.model.diagnosis import Diagnosis
from ddoctor.model.smoke import RankOutcome, SmokeReport, SmokeStep
from ddoctor.model.status import Status
from ddoctor.ranks.job import JobOutcome
from ddoctor.ranks.plan import Plan
from ddoctor.smoke.result import ForwardResult, SmokeResult

if TYPE_CHECKING:
    from ddoctor.smoke.launch import SmokeOptions

PHASES = ("start", "rendezvous", "load", "generate", "verify", "done")


def judge(opts: SmokeOptions, plan: Plan, job: JobOutcome, result: SmokeResult | ForwardResult | None, *,
          diagnose: Callable[[str], Sequence[Diagnosis]] | None, wall: float, workdir: Path | None) -> SmokeReport:
    killed = job.stopped_ranks
    ranks = []
    for r, st in job.ranks.items():
        proc = job.exit_of(r)
        code = proc.returncode if proc else (job.processes[0].returncode if job.processes else None)
        stopped = r in killed or (proc is None and job.any_stopped and st.phase != "done")
        ranks.append(RankOutcome(rank=r, exitcode=None if stopped else code, last_phase=st.phase,
                                 killed_by_ddoctor=stopped, log_tail=st.lines[-20:]))
    config = {"nproc": plan.nproc, "nnodes": opts.nnodes, "world_size": plan.nproc * opts.nnodes,
              "backend": plan.backend, "device": plan.device, "launcher": opts.launcher, "reason": plan.reason,
              "timeout_s": opts.timeout, "tolerance": opts.tolerance, "checkpoint": opts.user_ckpt}
    verification: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    has_rank0 = 0 in job.ranks or result is not None  # only rank 0's node holds the result and reference
    ok = job.all_done() and not job.timed_out and (result is not None or not has_rank0)
    if isinstance(result, ForwardResult):
        verification = {"finite_logits": result.finite, "ranks_in_lockstep": result.lockstep}
        t = result.timings
        metrics = {"rendezvous_s": t.rendezvous_s, "shard_load_s": t.load_s, "forward_s": t.first_token_s,
                   "collective_latency_s": t.collective_latency_s, "shard_bytes": result.shard_bytes,
                   "peak_memory_per_rank": list(result.peak_memory), "torch": result.torch}
        ok = ok and result.finite and result.lockstep
    elif result is not None:
        ref = result.reference
        verification = {"greedy_tokens_match_reference": ref.greedy_match if ref else None,
                        "max_abs_logit_diff": ref.max_abs_logit_diff if ref else None, "tolerance": opts.tolerance,
                        "ranks_in_lockstep": result.lockstep,
                        "sampled_tokens_match_reference": ref.sampled_match if ref else None}
        t = result.timings
        metrics = {"rendezvous_s": t.rendezvous_s, "shard_load_s": t.load_s, "first_token_s": t.first_token_s,
                   "tokens_per_s": t.tokens_per_s, "collective_latency_s": t.collective_latency_s,
                   "collectives_per_step": result.collectives_per_step, "shard_bytes": result.shard_bytes,
                   "peak_memory_per_rank": list(result.peak_memory), "torch": result.torch}
        outputs = {"prompts": list(result.prompts), "greedy": list(result.greedy.text),
                   "sampled": list(result.sampled.text)}
        ok = ok and result.lockstep and (
            ref is None or (ref.greedy_match and ref.max_abs_logit_diff <= opts.tolerance))
        if result.hf is not None:
            verification["hf_greedy_tokens_match"] = result.hf.greedy_match
            verification["hf"] = result.hf.summary()
            ok = ok and (result.hf.greedy_match is True or result.hf.skipped is not None)
    metrics["wall_s"] = wall
    steps = _steps(job, result, verification, opts, plan)
    diagnoses: Sequence[Diagnosis] = ()
    if not ok and diagnose is not None:
        diagnoses = diagnose(combined_log(job))
    summary = _summary(ok, job, result, verification, diagnoses, opts)
    return SmokeReport(ok=ok, summary=summary, config=config, steps=steps, ranks=tuple(ranks), metrics=metrics,
                       verification=verification, outputs=outputs, diagnoses=tuple(diagnoses), duration_s=wall,
                       workdir=str(workdir) if workdir else None)


def combined_log(job: JobOutcome) -> str:
    """Every rank's output as torchrun would show it: `[rankN]:` prefixes, agent lines for dead ranks."""
    out = list(job.other)
    for r, st in job.ranks.items():
        out += [f"[rank{r}]: {line}" for line in st.lines]
    for p in job.processes:
        if p.rank is not None and p.returncode not in (None, 0) and not p.stopped:
            out.append(f"failed (exitcode: {p.returncode}) local_rank: {p.rank} (pid: {p.pid}) of binary: "
                       f"{sys.executable}")
    return "\n".join(out) + "\n"


def _reached(job: JobOutcome, phase: str) -> bool:
    order = PHASES.index(phase)
    return all(st.phase in PHASES and PHASES.index(st.phase) > order for st in job.ranks.values())


def _steps(job: JobOutcome, result: SmokeResult | ForwardResult | None, verification: dict[str, Any],
           opts: SmokeOptions, plan: Plan) -> tuple[SmokeStep, ...]:
    t = result.timings if result is not None else None
    world = plan.nproc * opts.nnodes

    def status(phase: str) -> Status:
        if _reached(job, phase):
            return Status.PASS
        return Status.FAIL if any(st.phase == phase for st in job.ranks.values()) else Status.SKIP

    steps = [
        SmokeStep(name="launch", status=status("start"), duration_s=None,
                  detail=f"{world} rank(s), {plan.backend} on {plan.device} ({opts.launcher} launcher)"),
        SmokeStep(name="rendezvous", status=status("rendezvous"), duration_s=t.rendezvous_s if t else None,
                  detail=f"init_process_group({plan.backend!r}) with {world} rank(s)"
                  + ("" if opts.user_ckpt else "; rank 0 wrote the checkpoint")),
        SmokeStep(name="shard load", status=status("load"), duration_s=t.load_s if t else None,
                  detail=f"each rank loaded its own consolidated.NN.pth of {opts.shards or world} (Meta's check: "
                         "shard count == world size)"),
        SmokeStep(name="generate", status=status("generate"), duration_s=t.first_token_s if t else None,
                  detail=(f"first token in {t.first_token_s * 1000:.0f} ms, {t.tokens_per_s:.0f} tokens/s"
                          if t else "greedy and top-p generation with the KV cache")),
    ]
    if isinstance(result, SmokeResult) and result.reference is None:
        steps.append(SmokeStep(name="verify", status=Status.PASS if result.lockstep else Status.FAIL,
                               duration_s=None, detail="ranks in lockstep (no reference for a given checkpoint)"))
    elif isinstance(result, ForwardResult):
        good = result.finite and result.lockstep
        steps[-1] = SmokeStep(name="forward", status=status("generate"), duration_s=result.timings.first_token_s,
                              detail="one forward pass of the real checkpoint, sharded")
        steps.append(SmokeStep(name="verify", status=Status.PASS if good else Status.FAIL, duration_s=None,
                               detail=f"logits {'finite' if result.finite else 'NOT finite'}; "
                                      f"ranks {'agree' if result.lockstep else 'DISAGREE'}"))
    elif result is not None:
        v = verification
        good = (v["greedy_tokens_match_reference"] and v["ranks_in_lockstep"]
                and v["max_abs_logit_diff"] is not None and v["max_abs_logit_diff"] <= v["tolerance"])
        steps.append(SmokeStep(name="verify", status=Status.PASS if good else Status.FAIL, duration_s=None,
                               detail=f"greedy tokens {'==' if v['greedy_tokens_match_reference'] else '!='} "
                                      f"unsharded reference; max |Δlogit| {v['max_abs_logit_diff']:.2e} "
                                      f"(tolerance {v['tolerance']:.0e}); ranks "
                                      f"{'in lockstep' if v['ranks_in_lockstep'] else 'DIVERGED'}"))
        if result.hf is not None:
            hf = result.hf
            if hf.skipped is not None:
                steps.append(SmokeStep(name="hf cross-check", status=Status.SKIP, duration_s=None,
                                       detail=hf.skipped))
            else:
                match = hf.greedy_match
                steps.append(SmokeStep(name="hf cross-check", status=Status.PASS if match else Status.FAIL,
                                       duration_s=None, detail=hf.error or
                                       f"LlamaForCausalLM (transformers {hf.transformers}) greedy tokens "
                                       f"{'==' if match else '!='} Meta-format run"))
    else:
        steps.append(SmokeStep(name="verify", status=Status.SKIP if not job.timed_out else Status.FAIL,
                               duration_s=None, detail="no result to verify"))
    return tuple(steps)


def _summary(ok: bool, job: JobOutcome, result: SmokeResult | ForwardResult | None, verification: dict[str, Any],
             diagnoses: Sequence[Diagnosis], opts: SmokeOptions) -> str:
    if ok and isinstance(result, ForwardResult):
        return "the checkpoint loads shard by shard and a forward pass gives finite logits on every rank"
    if ok and 0 not in job.ranks:
        return "this node's ranks finished; the node running global rank 0 verifies the result"
    if ok:
        return "the sharded run matches the single-process reference"
    stuck = [r for r, st in job.ranks.items() if st.phase != "done"]
    stopped = [p.rank for p in job.processes if p.rank is not None and p.stopped]
    if stopped and not job.timed_out:
        where = ", ".join(f"rank {r} in {job.ranks[r].phase}" for r in stopped)
        first = f": {diagnoses[0].title}" if diagnoses else ""
        return f"{where} never finished and was stopped; the other ranks failed waiting for it{first}"
    if job.timed_out:
        where = ", ".join(f"rank {r} in {job.ranks[r].phase}" for r in stuck)
        return f"ranks did not finish within {opts.timeout:.0f} s ({where}); they were stopped"
    if result is not None and verification:
        return "the sharded run does not match the single-process reference"
    if diagnoses:
        return f"a rank failed: {diagnoses[0].title}"
    return "a rank failed before producing a result"
