"""The processes of a running job, as the OS shows them (psutil): who they are, which rank each is.

A rank is recognised by the variables its launcher set (torchrun and DeepSpeed: RANK/WORLD_SIZE;
Open MPI: OMPI_COMM_WORLD_*; PMIx/PMI: PMIX_RANK/PMI_RANK; srun: SLURM_PROCID), read from the
process's own environment; launchers by their command line. Only a whitelist of variables is kept
(the ones that place a rank in its job and say where its debug dumps go): an environment can hold
secrets, and nothing here needs them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

KEEP = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK", "MASTER_ADDR", "MASTER_PORT",
        "TORCHELASTIC_RUN_ID", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
        "OMPI_COMM_WORLD_LOCAL_SIZE", "OMPI_MCA_ess_base_jobid", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
        "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_JOB_ID", "SLURM_STEP_ID", "SLURM_NNODES",
        "TORCH_FR_BUFFER_SIZE", "TORCH_NCCL_TRACE_BUFFER_SIZE", "TORCH_NCCL_DEBUG_INFO_PIPE_FILE",
        "TORCH_FR_DUMP_TEMP_FILE", "TORCH_NCCL_DEBUG_INFO_TEMP_FILE", "NCCL_RAS_ADDR", "NCCL_RAS_ENABLE",
        "TORCH_DISTRIBUTED_DEBUG", "DDOCTOR_JOB")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcInfo:
    pid: int
    ppid: int
    cmdline: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # the whitelisted variables
    env_readable: bool = True
    cwd: str | None = None
    create_time: float = 0.0


def read(pid: int) -> ProcInfo | None:
    """One process, or None when it is gone."""
    import psutil

    try:
        p = psutil.Process(pid)
        with p.oneshot():
            ppid, created = p.ppid(), p.create_time()
            try:
                cmd = tuple(p.cmdline())
            except psutil.AccessDenied:
                cmd = (p.name(),)
            try:
                raw = p.environ()
                env, readable = {k: raw[k] for k in KEEP if k in raw}, True
            except psutil.AccessDenied:
                env, readable = {}, False
            try:
                cwd = p.cwd()
            except psutil.AccessDenied:
                cwd = None
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    return ProcInfo(pid=pid, ppid=ppid, cmdline=cmd, env=MappingProxyType(env), env_readable=readable, cwd=cwd,
                    create_time=created)


def tree(roots: Iterable[int]) -> list[ProcInfo]:
    """The given processes and everything below them, each once, parents before children."""
    import psutil

    seen: dict[int, ProcInfo] = {}
    for root in roots:
        pids = [root]
        try:
            pids += [c.pid for c in psutil.Process(root).children(recursive=True)]
        except psutil.Error:
            pass
        for pid in pids:
            if pid not in seen and (info := read(pid)) is not None:
                seen[pid] = info
    return list(seen.values())


def of_this_user(markers: tuple[str, ...]) -> list[ProcInfo]:
    """Processes of this user whose environment carries one of `markers` (rank variables), except
    ddoctor itself and the processes it runs under."""
    import psutil

    mine = os.getuid() if hasattr(os, "getuid") else None
    skip = {os.getpid()}
    try:
        skip |= {p.pid for p in psutil.Process().parents()}
    except psutil.Error:
        pass
    out = []
    for p in psutil.process_iter(["pid", "uids"]):
        try:
            if p.pid in skip or (mine is not None and p.info["uids"] is not None and p.info["uids"].real != mine):
                continue
            if not any(m in p.environ() for m in markers):
                continue
        except (psutil.Error, OSError):
            continue
        if (info := read(p.pid)) is not None:
            out.append(info)
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcState:
    status: str  # psutil's words: sleeping, running, disk-sleep, stopped, zombie, gone
    wchan: str | None = None


def state(pid: int) -> ProcState:
    import psutil

    try:
        status = psutil.Process(pid).status()
    except psutil.Error:
        return ProcState(status="gone")
    wchan = None
    try:
        wchan = Path(f"/proc/{pid}/wchan").read_text().strip() or None
    except OSError:
        pass
    return ProcState(status=status, wchan=None if wchan in (None, "0") else wchan)


def nccl_loaded(pid: int) -> bool:
    """NCCL is mapped into the process (the RAS service runs only where a communicator was made)."""
    try:
        with open(f"/proc/{pid}/maps", "rb") as f:
            return any(b"libnccl" in line for line in f)
    except OSError:
        return False


def alive(pid: int, create_time: float | None = None) -> bool:
    """Still running (not a zombie), and the same process (not a reused pid)."""
    import psutil

    try:
        p = psutil.Process(pid)
        return p.status() != psutil.STATUS_ZOMBIE and (create_time is None or abs(p.create_time() - create_time) < 0.01)
    except psutil.Error:
        return False
