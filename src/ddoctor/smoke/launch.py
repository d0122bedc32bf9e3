"""Orchestrate a smoke run: pick the backend, start the ranks, watch them, verify, diagnose failures.

Torch-free: ranks are separate processes (`python -m ddoctor.smoke.rank`). On one node they are
started directly with the env:// variables torchrun would set (the cheapest launch); across nodes,
or with `--launcher torchrun`, torch's own launcher starts them. Every rank runs in its own process
session so a timeout or Ctrl-C kills it and everything it started; nothing is left behind.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ddoctor.model.smoke import RankOutcome, SmokeReport, SmokeStep
from ddoctor.model.status import Status

EVENT = "@@ddoctor "
PHASES = ("start", "rendezvous", "load", "generate", "verify", "done")
GRACE_S = 5.0
TAIL_LINES = 400
_SRUN_LABEL = __import__("re").compile(r"^\s{0,6}\d{1,6}: ")


class SmokeSetupError(RuntimeError):
    """The run could not even start (no usable temp dir): a usage/environment error, exit 2."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SmokeOptions:
    nproc: int | None = None
    backend: str | None = None
    device: str | None = None
    timeout: float = 120.0
    max_new_tokens: int = 16
    seed: int = 1
    tolerance: float = 1e-4
    launcher: str = "local"  # local | torchrun | srun
    nnodes: int = 1
    node_rank: int = 0
    rdzv_endpoint: str | None = None
    shards: int | None = None  # write this many shards instead of one per rank (tests the mismatch check)
    fault: str | None = None  # test hook: raise@R, kill@R, hang@R (optionally :load or :generate)
    keep: bool = False
    user_ckpt: str | None = None  # an existing checkpoint instead of writing the tiny one
    forward_only: bool = True  # with user_ckpt: one forward pass (False: generate; needs tokenizer.json)
    hf: bool = False  # cross-check greedy tokens with transformers' LlamaForCausalLM


@dataclass(frozen=True, slots=True, kw_only=True)
class HostPlanFacts:
    system: str
    machine: str
    nvidia_gpus: int
    torch_cuda: str | None
    torch_installed: bool
    torch_version: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    nproc: int
    backend: str
    device: str
    reason: str


def make_plan(opts: SmokeOptions, facts: HostPlanFacts) -> Plan:
    """Default: NCCL with one rank per GPU where CUDA works; Gloo with 2 CPU ranks elsewhere (MPS on Macs)."""
    if opts.device:
        device = opts.device
    elif facts.nvidia_gpus and facts.torch_cuda:
        device = "cuda"
    elif facts.system == "Darwin" and facts.machine == "arm64":
        device = "mps"
    else:
        device = "cpu"
    backend = opts.backend or ("nccl" if device == "cuda" else "gloo")
    nproc = opts.nproc or (min(facts.nvidia_gpus, 8) if device == "cuda" else 2)
    if device == "cuda":
        reason = f"{facts.nvidia_gpus} NVIDIA GPU(s) with a CUDA {facts.torch_cuda} build: {backend}, one rank per GPU"
    elif device == "mps":
        reason = "Apple silicon: model on MPS, collectives through Gloo on CPU tensors"
    else:
        reason = f"no usable GPU: {backend} on CPU"
    return Plan(nproc=nproc, backend=backend, device=device, reason=reason)


@dataclass
class _Rank:
    rank: int
    phase: str = "launch"
    phase_times: dict = field(default_factory=dict)
    lines: collections.deque = field(default_factory=lambda: collections.deque(maxlen=TAIL_LINES))
    pid: int | None = None


class _Job:
    """The running processes (one per rank, or one torchrun agent) and what they printed."""

    def __init__(self, nproc: int, on_event, fixed: bool) -> None:
        # Our own launcher numbers ranks 0..nproc-1; torchrun's rendezvous assigns global ranks by
        # arrival, so this node learns its ranks from their first event.
        self.nproc = nproc
        self.fixed = fixed
        self.ranks: dict[int, _Rank] = {r: _Rank(rank=r) for r in range(nproc)} if fixed else {}
        self.other: collections.deque = collections.deque(maxlen=TAIL_LINES)
        self.procs: list[tuple[subprocess.Popen, int | None]] = []
        self.on_event = on_event
        self.lock = threading.Lock()
        self.readers: list[threading.Thread] = []
        self.stopped: set[int] = set()  # pids ddoctor had to stop (their exit codes are not theirs)

    def start(self, argv: list[str], env: dict, rank: int | None) -> None:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env=env, start_new_session=True, text=True, errors="replace", bufsize=1)
        self.procs.append((p, rank))
        t = threading.Thread(target=self._read, args=(p, rank), daemon=True)
        t.start()
        self.readers.append(t)

    def _read(self, p: subprocess.Popen, rank: int | None) -> None:
        for raw in p.stdout:
            line = raw.rstrip("\n")
            body = line
            srun_rank = None
            if rank is None and line.startswith("[default") and "]:" in line:
                body = line.split("]:", 1)[1]  # torchrun --tee prefixes worker lines
            elif rank is None and _SRUN_LABEL.match(line):
                task, body = line.split(": ", 1)  # srun --label prefixes the task id (= global rank)
                srun_rank = int(task)
            if body.startswith(EVENT):
                try:
                    ev = json.loads(body[len(EVENT):])
                except ValueError:
                    ev = None
                if ev and isinstance(ev.get("rank"), int) and (ev["rank"] in self.ranks or not self.fixed):
                    with self.lock:
                        r = self.ranks.setdefault(ev["rank"], _Rank(rank=ev["rank"]))
                        phase = ev.get("phase") or ev["event"]
                        r.phase = phase
                        r.phase_times.setdefault(phase, time.monotonic())
                        if ev["event"] == "start":
                            r.pid = ev.get("pid")
                    if self.on_event:
                        self.on_event(ev["rank"], phase)
                    continue
            if rank is None and line.startswith("[default") and "]:" in line:
                local = line[len("[default"):line.index("]")]
                target = self.other if not local.isdigit() else self._local_lines(int(local))
            elif srun_rank is not None:
                with self.lock:
                    target = self.ranks.setdefault(srun_rank, _Rank(rank=srun_rank)).lines
            else:
                target = self.ranks[rank].lines if rank is not None else self.other
            with self.lock:
                target.append(body)

    def _local_lines(self, local: int) -> collections.deque:
        """torchrun prefixes lines by local rank; map them to the global rank that announced itself."""
        with self.lock:
            known = sorted(self.ranks)
        return self.ranks[known[local]].lines if local < len(known) else self.other

    def all_done(self) -> bool:
        return len(self.ranks) == self.nproc and all(r.phase == "done" for r in self.ranks.values())

    def kill(self, proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def kill_all(self) -> None:
        for p, _ in self.procs:
            if p.poll() is None:
                self.stopped.add(p.pid)
                self.kill(p, signal.SIGTERM)
        deadline = time.monotonic() + 2
        for p, _ in self.procs:
            try:
                p.wait(timeout=max(0.05, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.kill(p)
                p.wait()


def _base_env(plan: Plan) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE",
                                                              "MASTER_ADDR", "MASTER_PORT", "GROUP_RANK")}
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("PYTHONWARNINGS", "ignore")
    if plan.device == "mps":
        env.setdefault("PYTORCH_ENABLE_MPS_FALLBACK", "1")
    return env


def local_rank_env(env: dict, plan: Plan, rank: int, work: Path) -> dict:
    """What torchrun would set for one rank on this node, with a file-store rendezvous (no listener)
    and Gloo pinned to loopback."""
    renv = {**env, "RANK": str(rank), "WORLD_SIZE": str(plan.nproc), "LOCAL_RANK": str(rank),
            "LOCAL_WORLD_SIZE": str(plan.nproc), "MASTER_ADDR": "127.0.0.1",
            "DDOCTOR_STORE_FILE": str(work / "rendezvous.store")}
    lo = _loopback_ifname()
    if lo and plan.backend == "gloo":
        renv.setdefault("GLOO_SOCKET_IFNAME", lo)
    return renv


def _slurm_master() -> str:
    """The first host of the SLURM allocation (where rank 0 runs), or loopback on one node."""
    nodelist = os.environ.get("SLURM_JOB_NODELIST") or os.environ.get("SLURM_NODELIST")
    if nodelist and shutil.which("scontrol"):
        try:
            out = subprocess.run(["scontrol", "show", "hostnames", nodelist], capture_output=True, text=True,
                                 timeout=10).stdout.split()
            if out:
                return out[0]
        except (OSError, subprocess.TimeoutExpired):
            pass
    return "127.0.0.1"


def _loopback_ifname() -> str | None:
    import psutil

    names = psutil.net_if_addrs()
    return next((n for n in ("lo", "lo0") if n in names), None)


def run_smoke(opts: SmokeOptions, plan: Plan, *, on_event: Callable[[int, str], None] | None = None,
              diagnose: Callable[[str], tuple] | None = None) -> SmokeReport:
    from ddoctor.host.system import free_port

    start = time.monotonic()
    try:
        work = Path(tempfile.mkdtemp(prefix="ddoctor-smoke-"))
    except OSError as exc:
        raise SmokeSetupError(f"cannot create a working directory in {tempfile.gettempdir()}: {exc}") from None
    ckpt, result_path = work / "ckpt", work / "result.json"
    world = plan.nproc * opts.nnodes
    pg_timeout = max(5.0, min(opts.timeout * 0.5, opts.timeout - 5.0))
    if opts.user_ckpt:
        source = ["--ckpt-dir", opts.user_ckpt] + (["--forward-only"] if opts.forward_only else [])
    else:
        source = ["--ckpt-dir", str(ckpt), "--write-shards", str(opts.shards or world), "--reference"]
        source += ["--hf"] if opts.hf else []
    rank_args = [*source, "--result", str(result_path), "--backend", plan.backend, "--device", plan.device,
                 "--max-new-tokens", str(opts.max_new_tokens), "--seed", str(opts.seed), "--timeout",
                 str(pg_timeout)] + (["--fault", opts.fault] if opts.fault else [])
    job = _Job(plan.nproc * (opts.nnodes if opts.launcher == "srun" else 1), on_event,
               fixed=opts.launcher == "local" and opts.nnodes == 1)
    env = _base_env(plan)
    lo = _loopback_ifname()
    try:
        if opts.launcher == "local" and opts.nnodes == 1:
            for r in range(plan.nproc):
                job.start([sys.executable, "-m", "ddoctor.smoke.rank", *rank_args], local_rank_env(env, plan, r, work),
                          r)
        elif opts.launcher == "srun":
            # Inside a SLURM allocation: srun starts the ranks; each maps SLURM_PROCID/NTASKS/LOCALID to
            # RANK/WORLD_SIZE/LOCAL_RANK. --label prefixes every line with the task id.
            senv = {**env, "MASTER_ADDR": _slurm_master(), "MASTER_PORT": str(free_port())}
            job.start(["srun", f"--ntasks={world}", f"--nodes={opts.nnodes}", "--kill-on-bad-exit=1", "--label",
                       sys.executable, "-m", "ddoctor.smoke.rank", *rank_args], senv, None)
        else:
            argv = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(plan.nproc),
                    "--tee", "3"]
            if opts.nnodes > 1:
                argv += ["--nnodes", str(opts.nnodes), "--node_rank", str(opts.node_rank), "--rdzv_backend",
                         "c10d", "--rdzv_endpoint", opts.rdzv_endpoint or f"127.0.0.1:{free_port()}"]
            else:
                argv += ["--rdzv_backend", "c10d", "--rdzv_endpoint", f"127.0.0.1:{free_port()}"]
            tenv = dict(env)
            if lo and plan.backend == "gloo" and opts.nnodes == 1:
                tenv.setdefault("GLOO_SOCKET_IFNAME", lo)
            job.start([*argv, "-m", "ddoctor.smoke.rank", *rank_args], tenv, None)
        timed_out, first_failure = _wait(job, opts.timeout)
    except KeyboardInterrupt:
        job.kill_all()
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        job.kill_all()
        for t in job.readers:
            t.join(timeout=2)
    try:
        report = _report(opts, plan, job, result_path, timed_out, first_failure, diagnose, time.monotonic() - start,
                         work if opts.keep else None)
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
    return report


def _wait(job: _Job, timeout: float) -> tuple[bool, float | None]:
    """Until every process exits; after the first failure, others get a short grace, then are killed."""
    deadline = time.monotonic() + timeout
    first_failure = None
    while True:
        codes = [p.poll() for p, _ in job.procs]
        if all(c is not None for c in codes):
            return False, first_failure
        if first_failure is None and any(c not in (None, 0) for c in codes):
            first_failure = time.monotonic()
        now = time.monotonic()
        if first_failure is not None and now - first_failure > GRACE_S:
            return False, first_failure
        if now > deadline:
            return True, first_failure
        time.sleep(0.05)


def _combined_log(job: _Job, killed: set[int]) -> str:
    """Every rank's output as torchrun would show it: `[rankN]:` prefixes, agent lines for dead ranks."""
    out = list(job.other)
    for r, st in job.ranks.items():
        out += [f"[rank{r}]: {line}" for line in st.lines]
    for p, rank in job.procs:
        code = p.returncode
        if rank is not None and code not in (None, 0) and rank not in killed:
            out.append(f"failed (exitcode: {code}) local_rank: {rank} (pid: {p.pid}) of binary: {sys.executable}")
    return "\n".join(out) + "\n"


def _report(opts, plan, job: _Job, result_path: Path, timed_out: bool, first_failure, diagnose, wall: float,
            workdir) -> SmokeReport:
    result = None
    if result_path.exists():
        try:
            result = json.loads(result_path.read_text())
        except ValueError:
            result = None
    killed = {rank for p, rank in job.procs if rank is not None and p.pid in job.stopped}
    ranks = []
    for r, st in sorted(job.ranks.items()):
        proc = next((p for p, rr in job.procs if rr == r), None)
        code = proc.returncode if proc else (job.procs[0][0].returncode if job.procs else None)
        stopped = r in killed or (proc is None and bool(job.stopped) and st.phase != "done")
        ranks.append(RankOutcome(rank=r, exitcode=None if stopped else code, last_phase=st.phase,
                                 killed_by_ddoctor=stopped, log_tail=tuple(list(st.lines)[-20:])))
    config = {"nproc": plan.nproc, "nnodes": opts.nnodes, "world_size": plan.nproc * opts.nnodes,
              "backend": plan.backend, "device": plan.device, "launcher": opts.launcher, "reason": plan.reason,
              "timeout_s": opts.timeout, "tolerance": opts.tolerance, "checkpoint": opts.user_ckpt}
    verification, metrics, outputs = {}, {}, {}
    has_rank0 = 0 in job.ranks or result is not None  # only rank 0's node holds the result and reference
    all_done = job.all_done() and not timed_out
    ok = all_done and (result is not None or not has_rank0)
    if result is not None and result.get("forward_only"):
        verification = {"finite_logits": result["finite"], "ranks_in_lockstep": result["lockstep"]}
        t = result["timings"]
        metrics = {"rendezvous_s": t["rendezvous_s"], "shard_load_s": t["load_s"], "forward_s": t["first_token_s"],
                   "collective_latency_s": t["collective_latency_s"], "shard_bytes": result["shard_bytes"],
                   "peak_memory_per_rank": result["peak_memory"], "torch": result["torch"]}
        ok = ok and result["finite"] and result["lockstep"]
    elif result is not None:
        ref = result.get("reference", {})
        verification = {"greedy_tokens_match_reference": ref.get("greedy_match"),
                        "max_abs_logit_diff": ref.get("max_abs_logit_diff"), "tolerance": opts.tolerance,
                        "ranks_in_lockstep": result.get("lockstep"),
                        "sampled_tokens_match_reference": ref.get("sampled_match")}
        t = result["timings"]
        metrics = {"rendezvous_s": t["rendezvous_s"], "shard_load_s": t["load_s"],
                   "first_token_s": t["first_token_s"], "tokens_per_s": t["tokens_per_s"],
                   "collective_latency_s": t["collective_latency_s"],
                   "collectives_per_step": result["collectives_per_step"], "shard_bytes": result["shard_bytes"],
                   "peak_memory_per_rank": result["peak_memory"], "torch": result["torch"]}
        outputs = {"prompts": result["prompts"], "greedy": result["greedy"]["text"],
                   "sampled": result["sampled"]["text"]}
        diff_ok = (ref.get("max_abs_logit_diff") is not None and ref["max_abs_logit_diff"] <= opts.tolerance)
        ok = ok and bool(result.get("lockstep")) and (
            "reference" not in result or (bool(ref.get("greedy_match")) and diff_ok))
        if "hf" in result:
            hf = result["hf"]
            verification["hf_greedy_tokens_match"] = hf.get("greedy_match")
            verification["hf"] = {k: v for k, v in hf.items() if k != "tokens"}
            ok = ok and (hf.get("greedy_match") is True or "skipped" in hf)
    metrics["wall_s"] = wall
    steps = _steps(job, result, verification, opts, plan, timed_out)
    diagnoses = ()
    if not ok and diagnose is not None:
        diagnoses = diagnose(_combined_log(job, killed))
    summary = _summary(ok, job, result, verification, timed_out, diagnoses, opts)
    return SmokeReport(ok=ok, summary=summary, config=config, steps=steps, ranks=tuple(ranks), metrics=metrics,
                       verification=verification, outputs=outputs, diagnoses=tuple(diagnoses), duration_s=wall,
                       workdir=str(workdir) if workdir else None)


def _reached(job: _Job, phase: str) -> bool:
    order = PHASES.index(phase)
    return all(st.phase in PHASES and PHASES.index(st.phase) > order for st in job.ranks.values())


def _steps(job, result, verification, opts, plan, timed_out) -> tuple[SmokeStep, ...]:
    t = (result or {}).get("timings", {})
    world = plan.nproc * opts.nnodes

    def status(phase: str) -> Status:
        if _reached(job, phase):
            return Status.PASS
        return Status.FAIL if any(st.phase == phase for st in job.ranks.values()) else Status.SKIP

    steps = [
        SmokeStep(name="launch", status=status("start"), duration_s=None,
                  detail=f"{world} rank(s), {plan.backend} on {plan.device} ({opts.launcher} launcher)"),
        SmokeStep(name="rendezvous", status=status("rendezvous"), duration_s=t.get("rendezvous_s"),
                  detail=f"init_process_group({plan.backend!r}) with {world} rank(s)"
                  + ("" if opts.user_ckpt else "; rank 0 wrote the checkpoint")),
        SmokeStep(name="shard load", status=status("load"), duration_s=t.get("load_s"),
                  detail=f"each rank loaded its own consolidated.NN.pth of {opts.shards or world} (Meta's check: "
                         "shard count == world size)"),
        SmokeStep(name="generate", status=status("generate"), duration_s=t.get("first_token_s"),
                  detail=(f"first token in {t['first_token_s'] * 1000:.0f} ms, {t['tokens_per_s']:.0f} tokens/s"
                          if t else "greedy and top-p generation with the KV cache")),
    ]
    if result is not None and not result.get("forward_only") and "reference" not in result:
        steps.append(SmokeStep(name="verify", status=Status.PASS if result.get("lockstep") else Status.FAIL,
                               duration_s=None, detail="ranks in lockstep (no reference for a given checkpoint)"))
    elif result is not None and result.get("forward_only"):
        good = verification["finite_logits"] and verification["ranks_in_lockstep"]
        steps[-1] = SmokeStep(name="forward", status=status("generate"), duration_s=t.get("first_token_s"),
                              detail="one forward pass of the real checkpoint, sharded")
        steps.append(SmokeStep(name="verify", status=Status.PASS if good else Status.FAIL, duration_s=None,
                               detail=f"logits {'finite' if verification['finite_logits'] else 'NOT finite'}; "
                                      f"ranks {'agree' if verification['ranks_in_lockstep'] else 'DISAGREE'}"))
    elif result is not None and verification:
        v = verification
        good = (v["greedy_tokens_match_reference"] and v["ranks_in_lockstep"]
                and v["max_abs_logit_diff"] is not None and v["max_abs_logit_diff"] <= v["tolerance"])
        steps.append(SmokeStep(name="verify", status=Status.PASS if good else Status.FAIL, duration_s=None,
                               detail=f"greedy tokens {'==' if v['greedy_tokens_match_reference'] else '!='} "
                                      f"unsharded reference; max |Δlogit| {v['max_abs_logit_diff']:.2e} "
                                      f"(tolerance {v['tolerance']:.0e}); ranks "
                                      f"{'in lockstep' if v['ranks_in_lockstep'] else 'DIVERGED'}"))
        if "hf" in v:
            hf = v["hf"]
            if "skipped" in hf:
                steps.append(SmokeStep(name="hf cross-check", status=Status.SKIP, duration_s=None,
                                       detail=hf["skipped"]))
            else:
                match = hf.get("greedy_match")
                steps.append(SmokeStep(name="hf cross-check", status=Status.PASS if match else Status.FAIL,
                                       duration_s=None, detail=hf.get("error") or
                                       f"LlamaForCausalLM (transformers {hf.get('transformers')}) greedy tokens "
                                       f"{'==' if match else '!='} Meta-format run"))
    else:
        steps.append(SmokeStep(name="verify", status=Status.SKIP if not timed_out else Status.FAIL, duration_s=None,
                               detail="no result to verify"))
    return tuple(steps)


def _summary(ok, job, result, verification, timed_out, diagnoses, opts) -> str:
    if ok and result is not None and result.get("forward_only"):
        return "the checkpoint loads shard by shard and a forward pass gives finite logits on every rank"
    if ok and 0 not in job.ranks:
        return "this node's ranks finished; the node running global rank 0 verifies the result"
    if ok:
        return "the sharded run matches the single-process reference"
    stuck = [r for r, st in job.ranks.items() if st.phase != "done"]
    stopped = [r for p, r in job.procs if r is not None and p.pid in job.stopped]
    if stopped and not timed_out:
        where = ", ".join(f"rank {r} in {job.ranks[r].phase}" for r in stopped)
        first = f": {diagnoses[0].title}" if diagnoses else ""
        return f"{where} never finished and was stopped; the other ranks failed waiting for it{first}"
    if timed_out:
        where = ", ".join(f"rank {r} in {job.ranks[r].phase}" for r in stuck)
        return f"ranks did not finish within {opts.timeout:.0f} s ({where}); they were stopped"
    if result is not None and verification:
        return "the sharded run does not match the single-process reference"
    if diagnoses:
        return f"a rank failed: {diagnoses[0].title}"
    return "a rank failed before producing a result"
