"""Start a smoke run: the ranks' arguments and the launcher (local, srun, torchrun), then judge it.

Torch-free: ranks are separate processes (`python -m ddoctor.smoke.rank`) supervised by
`ranks.job`. On one node they are started directly with the env:// variables torchrun would set
(the cheapest launch); across nodes, or with `--launcher torchrun`, torch's own launcher starts
them; under SLURM, srun does.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ddoctor.host import processes
from ddoctor.host.system import free_port, loopback_interface, slurm_first_host
from ddoctor.model.diagnosis import Diagnosis
from ddoctor.model.host import HostFacts
from ddoctor.model.smoke import SmokeReport
from ddoctor.ranks.job import RankJob, base_env, local_rank_env
from ddoctor.ranks.plan import Plan, make_plan
from ddoctor.ranks.protocol import ProtocolError, read_document
from ddoctor.smoke.judge import judge
from ddoctor.smoke.result import ForwardResult, SmokeResult


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

    @property
    def local(self) -> bool:
        """ddoctor starts every rank itself (one node, no launcher)."""
        return self.launcher == "local" and self.nnodes == 1

    @property
    def forward(self) -> bool:
        return bool(self.user_ckpt) and self.forward_only


Diagnose = Callable[[str], Sequence[Diagnosis]]


def plan_for(opts: SmokeOptions, facts: HostFacts) -> Plan:
    return make_plan(facts, nproc=opts.nproc, backend=opts.backend, device=opts.device)


def run_smoke(opts: SmokeOptions, plan: Plan, *, on_event: Callable[[int, str], None] | None = None,
              diagnose: Diagnose | None = None) -> SmokeReport:
    start = time.monotonic()
    try:
        work = processes.scratch_dir("ddoctor-smoke-")
    except OSError as exc:
        import tempfile

        raise SmokeSetupError(f"cannot create a working directory in {tempfile.gettempdir()}: {exc}") from None
    try:
        result_path = work / "result.json"
        job = RankJob(plan.nproc * (opts.nnodes if opts.launcher == "srun" else 1), fixed=opts.local,
                      on_event=on_event)
        try:
            _start(job, opts, plan, work, _rank_args(opts, plan, work, result_path))
            job.wait(opts.timeout)
        finally:
            job.stop()
        try:
            result: SmokeResult | ForwardResult | None = read_document(
                result_path, ForwardResult if opts.forward else SmokeResult)
        except ProtocolError:
            result = None
        if opts.keep:
            processes.keep_scratch(work)
        return judge(opts, plan, job.outcome(), result, diagnose=diagnose, wall=time.monotonic() - start,
                     workdir=work if opts.keep else None)
    finally:
        if not opts.keep:
            processes.remove_scratch(work)


def _rank_args(opts: SmokeOptions, plan: Plan, work: Path, result_path: Path) -> list[str]:
    world = plan.nproc * opts.nnodes
    pg_timeout = max(5.0, min(opts.timeout * 0.5, opts.timeout - 5.0))
    if opts.user_ckpt:
        source = ["--ckpt-dir", opts.user_ckpt] + (["--forward-only"] if opts.forward_only else [])
    else:
        source = ["--ckpt-dir", str(work / "ckpt"), "--write-shards", str(opts.shards or world), "--reference"]
        source += ["--hf"] if opts.hf else []
    return [*source, "--result", str(result_path), "--backend", plan.backend, "--device", plan.device,
            "--max-new-tokens", str(opts.max_new_tokens), "--seed", str(opts.seed), "--timeout",
            str(pg_timeout)] + (["--fault", opts.fault] if opts.fault else [])


def _start(job: RankJob, opts: SmokeOptions, plan: Plan, work: Path, rank_args: list[str]) -> None:
    env = base_env(plan)
    lo = loopback_interface()
    rank_cmd = [sys.executable, "-m", "ddoctor.smoke.rank", *rank_args]
    if opts.local:
        for r in range(plan.nproc):
            job.start(rank_cmd, local_rank_env(env, plan, r, work, lo), r)
    elif opts.launcher == "srun":
        # Inside a SLURM allocation: srun starts the ranks; each maps SLURM_PROCID/NTASKS/LOCALID to
        # RANK/WORLD_SIZE/LOCAL_RANK. --label prefixes every line with the task id.
        senv = {**env, "MASTER_ADDR": slurm_first_host(env) or "127.0.0.1", "MASTER_PORT": str(free_port())}
        job.start(["srun", f"--ntasks={plan.nproc * opts.nnodes}", f"--nodes={opts.nnodes}", "--kill-on-bad-exit=1",
                   "--label", *rank_cmd], senv)
    else:
        argv = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(plan.nproc), "--tee", "3"]
        tenv = dict(env)
        if opts.nnodes > 1:
            argv += ["--nnodes", str(opts.nnodes), "--node_rank", str(opts.node_rank), "--rdzv_backend",
                     "c10d", "--rdzv_endpoint", opts.rdzv_endpoint or f"127.0.0.1:{free_port()}"]
        else:
            # One node: torchrun's TCPStores bind every interface, so rendezvous through files instead
            # (the agents' store, and the workers' through DDOCTOR_STORE_FILE): nothing listens.
            argv += ["--rdzv_backend", "c10d", "--rdzv_endpoint", str(work / "agents.store"), "--rdzv_conf",
                     "store_type=file"]
            tenv.update(TORCH_DISABLE_SHARE_RDZV_TCP_STORE="1", DDOCTOR_STORE_FILE=str(work / "rendezvous.store"))
            if lo and plan.backend == "gloo":
                tenv.setdefault("GLOO_SOCKET_IFNAME", lo)
        job.start([*argv, *rank_cmd[1:]], tenv)
