"""Which processes of a job are its ranks (pure logic over what `host.jobprocs` read).

torchrun agents, DeepSpeed's launcher, mpirun and srun start the ranks and are named as launchers;
a process carrying the same rank as an ancestor rank is one of that rank's helpers (DataLoader
workers, compile workers); a rank is a process with its launcher's rank variables. Where every rank
of the job runs on this host, the ranks that are not found are missing; otherwise they are remote.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from ddoctor.host.jobprocs import ProcInfo
from ddoctor.ranks.plan import on_one_host

# (rank, world size, local rank, local world size) as each kind of launcher names them.
RANK_VARS: tuple[tuple[str, str, str | None, str | None], ...] = (
    ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"),
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"),
    ("PMIX_RANK", "PMI_SIZE", None, None),
    ("PMI_RANK", "PMI_SIZE", None, None),
    ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", None),
)
MARKERS = tuple(v[0] for v in RANK_VARS)
_LAUNCHER_MODULES = {"torch.distributed.run": "torchrun", "torch.distributed.launch": "torch.distributed.launch",
                     "deepspeed.launcher.launch": "deepspeed", "deepspeed.launcher.runner": "deepspeed",
                     "accelerate.commands.launch": "accelerate"}
_LAUNCHER_PROGRAMS = {"torchrun": "torchrun", "deepspeed": "deepspeed", "mpirun": "mpirun", "mpiexec": "mpiexec",
                      "orterun": "mpirun", "prterun": "mpirun", "srun": "srun", "accelerate": "accelerate"}
MAX_LONE = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class RankProc:
    info: ProcInfo
    rank: int
    world: int | None
    local_rank: int | None
    local_world: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobView:
    ranks: tuple[RankProc, ...]  # sorted by rank
    launchers: tuple[tuple[str, ProcInfo], ...]  # (kind, process)
    helpers: tuple[ProcInfo, ...]
    lone: tuple[ProcInfo, ...]  # Python processes without rank variables (a job of one process)

    @property
    def world(self) -> int | None:
        sizes = [r.world for r in self.ranks if r.world]
        return max(sizes) if sizes else None

    def key(self) -> str:
        return job_key(self.ranks[0].info.env) if self.ranks else ""


def _int(v: str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def launcher_kind(cmdline: Sequence[str]) -> str | None:
    """torchrun, deepspeed, mpirun, ... when the command line is a launcher's."""
    if not cmdline:
        return None
    prog = os.path.basename(cmdline[0])
    if prog in _LAUNCHER_PROGRAMS:
        return _LAUNCHER_PROGRAMS[prog]
    args = list(cmdline[1:4])
    if prog.startswith("python") or prog in ("pypy", "pypy3"):
        if "-m" in args and args.index("-m") + 1 < len(args):
            return _LAUNCHER_MODULES.get(args[args.index("-m") + 1])
        script = next((a for a in args if not a.startswith("-")), "")
        return _LAUNCHER_PROGRAMS.get(os.path.basename(script))
    return None


def is_python(cmdline: Sequence[str]) -> bool:
    return bool(cmdline) and os.path.basename(cmdline[0]).startswith(("python", "pypy"))


def rank_of(env: Mapping[str, str], cmdline: Sequence[str]) -> tuple[int, int | None, int | None, int | None] | None:
    for rank_v, world_v, local_v, local_world_v in RANK_VARS:
        if rank_v not in env:
            continue
        if rank_v == "SLURM_PROCID" and not is_python(cmdline):
            continue  # every process of an srun step has it, shell wrappers too
        rank = _int(env.get(rank_v))
        if rank is None:
            continue
        return (rank, _int(env.get(world_v)), _int(env.get(local_v)) if local_v else None,
                _int(env.get(local_world_v)) if local_world_v else None)
    return None


def job_key(env: Mapping[str, str]) -> str:
    """What tells two jobs of one user apart: the rendezvous, the elastic run id, the MPI/Slurm job."""
    for keys in (("TORCHELASTIC_RUN_ID", "MASTER_ADDR", "MASTER_PORT"), ("MASTER_ADDR", "MASTER_PORT"),
                 ("OMPI_MCA_ess_base_jobid",), ("SLURM_JOB_ID", "SLURM_STEP_ID"), ("DDOCTOR_JOB",)):
        if all(k in env for k in keys):
            return " ".join(f"{k}={env[k]}" for k in keys)
    return "?"


def classify(procs: Iterable[ProcInfo]) -> JobView:
    procs = list(procs)
    by_pid = {p.pid: p for p in procs}
    launchers: list[tuple[str, ProcInfo]] = []
    candidates: dict[int, RankProc] = {}
    plain: list[ProcInfo] = []
    for p in procs:
        kind = launcher_kind(p.cmdline)
        if kind is not None:
            launchers.append((kind, p))
            continue
        r = rank_of(p.env, p.cmdline)
        if r is None:
            if is_python(p.cmdline):
                plain.append(p)
            continue
        candidates[p.pid] = RankProc(info=p, rank=r[0], world=r[1], local_rank=r[2], local_world=r[3])
    ranks, helpers = [], []
    wrappers = set()  # `timeout`, `numactl`, a shell: a same-rank Python process below it is the rank
    for rp in candidates.values():
        if not is_python(rp.info.cmdline):
            continue
        for up in _ancestors(rp.info, by_pid):
            c = candidates.get(up.pid)
            if c is not None and c.rank == rp.rank and not is_python(c.info.cmdline):
                wrappers.add(up.pid)
    for pid, rp in candidates.items():
        if pid in wrappers:
            continue
        is_helper = any((c := candidates.get(up.pid)) is not None and c.rank == rp.rank and up.pid not in wrappers
                        for up in _ancestors(rp.info, by_pid))
        (helpers.append(rp.info) if is_helper else ranks.append(rp))
    lone: list[ProcInfo] = []
    if not ranks:
        # A job of plain Python processes: the topmost ones (their children are helpers).
        plain_pids = {p.pid for p in plain}
        lone = [p for p in plain if p.ppid not in plain_pids][:MAX_LONE]
    return JobView(ranks=tuple(sorted(ranks, key=lambda r: (r.rank, r.info.pid))), launchers=tuple(launchers),
                   helpers=tuple(helpers), lone=tuple(lone))


def _ancestors(p: ProcInfo, by_pid: Mapping[int, ProcInfo]) -> Iterator[ProcInfo]:
    seen = {p.pid}
    parent = by_pid.get(p.ppid)
    while parent is not None and parent.pid not in seen:
        yield parent
        seen.add(parent.pid)
        parent = by_pid.get(parent.ppid)


def split_jobs(view: JobView) -> dict[str, JobView]:
    """The ranks of several jobs (a user running two), each job on its own."""
    keys: dict[str, list[RankProc]] = {}
    for r in view.ranks:
        keys.setdefault(job_key(r.info.env), []).append(r)
    return {k: JobView(ranks=tuple(rs), launchers=view.launchers, helpers=(), lone=()) for k, rs in keys.items()}


def placement(view: JobView) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(missing, remote): ranks expected on this host that are not running, and ranks on other hosts."""
    world = view.world
    if not world or not view.ranks:
        return (), ()
    seen = {r.rank for r in view.ranks}
    everything = set(range(world))
    env = view.ranks[0].info.env
    local_world = next((r.local_world for r in view.ranks if r.local_world), None)
    if local_world == world or on_one_host(env):
        return tuple(sorted(everything - seen)), ()
    group = _int(env.get("GROUP_RANK"))
    if local_world and group is not None:
        here = {group * local_world + i for i in range(local_world)}
        return tuple(sorted(here - seen)), tuple(sorted(everything - here))
    return (), tuple(sorted(everything - seen))
