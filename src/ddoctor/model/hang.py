"""A snapshot of a job that stopped making progress: every rank's stack, ranks grouped by stack, the
rank that is not where the others wait, and what the other views (flight recorder, NCCL RAS, the
kernel) add. `ddoctor run --hang-timeout`, Ctrl-C under `run`, and `ddoctor snapshot` produce it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

from ddoctor.model.logs import Frame
from ddoctor.model.ras import RasReport

Trigger = Literal["hang-timeout", "interrupt", "on-demand"]
# behind: some ranks wait in a collective that others never reached; mismatch: ranks wait in different
# collectives (or the same one called from different places); missing: a rank of this host is gone;
# all-waiting: every rank here waits in the same collective; no-collective: no rank is in one;
# no-stacks: no Python stack could be taken.
VerdictKind = Literal["behind", "mismatch", "missing", "all-waiting", "no-collective", "no-stacks"]
KillVerdict = Literal["oom-killer", "not-oom", "unknown"]


def short_path(filename: str, cwd: str | None) -> str:
    """A user file relative to the rank's working directory when it lies below it, else as given;
    library files from their package folder on (`torch/distributed/distributed_c10d.py`)."""
    f = filename.replace("\\", "/")
    for marker in ("site-packages/", "dist-packages/"):
        if marker in f:
            return f.split(marker, 1)[1]
    if cwd and os.path.isabs(f):
        base = cwd.replace("\\", "/").rstrip("/") + "/"
        if f.startswith(base):
            return f[len(base):]
    return f


def where(frame: Frame | None, cwd: str | None = None) -> str:
    if frame is None:
        return "?"
    return f"{short_path(frame.filename, cwd)}:{frame.lineno}" if frame.lineno else short_path(frame.filename, cwd)


def _frame(f: Frame | None) -> dict[str, Any] | None:
    return None if f is None else {"file": f.filename, "line": f.lineno, "function": f.function}


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadStack:
    """One thread's Python stack, innermost frame first (as py-spy and faulthandler print it)."""

    name: str
    thread_id: int
    frames: tuple[Frame, ...]
    native: tuple[str, ...] = ()  # native frames inside the innermost Python frame (py-spy --native), innermost first
    active: bool = False  # on a CPU when it was sampled (py-spy's "active" vs "idle")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "thread_id": self.thread_id, "active": self.active,
                "frames": [_frame(f) for f in self.frames], "native": list(self.native)}


@dataclass(frozen=True, slots=True, kw_only=True)
class KillCause:
    """Who sent a SIGKILL, from the evidence the kernel leaves: a cgroup's OOM-kill counter
    (memory.events, or memory.oom_control on cgroup v1) and the kernel log's OOM-killer lines."""

    verdict: KillVerdict
    summary: str
    evidence: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "summary": self.summary, "evidence": list(self.evidence)}


@dataclass(frozen=True, slots=True, kw_only=True)
class RankStack:
    """What the snapshot saw of one rank process (or, for a rank that is gone, how it ended)."""

    pid: int
    rank: int | None  # None: a lone process without a launcher's rank variables
    source: str  # py-spy | py-spy --native | KeyboardInterrupt traceback | none
    threads: tuple[ThreadStack, ...] = ()
    error: str | None = None  # why no Python stack was taken
    state: str | None = None  # the kernel's view of the process: sleeping, running, disk-sleep, zombie, gone
    wchan: str | None = None  # the kernel function a sleeping process waits in
    cwd: str | None = None
    phase: str | None = None  # the last phase the rank announced (ddoctor's rank protocol)
    exit: str | None = None  # how a rank that is gone ended, in words
    kill: KillCause | None = None
    last_line: str | None = None  # the last line it printed, when ddoctor saw its output

    @property
    def main(self) -> ThreadStack | None:
        """The thread that runs the training loop: the main thread, else the first sampled."""
        for t in self.threads:
            if t.thread_id == self.pid or t.name == "MainThread":
                return t
        return self.threads[0] if self.threads else None

    def to_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "rank": self.rank, "source": self.source, "error": self.error, "state": self.state,
                "wchan": self.wchan, "cwd": self.cwd, "phase": self.phase, "exit": self.exit,
                "kill": self.kill.to_dict() if self.kill else None, "last_line": self.last_line,
                "threads": [t.to_dict() for t in self.threads]}


@dataclass(frozen=True, slots=True, kw_only=True)
class StackGroup:
    """Ranks whose main threads have the same stack: one equivalence class, as LLNL's STAT forms them."""

    ranks: tuple[int, ...]
    pids: tuple[int, ...]
    frames: tuple[Frame, ...]  # the shared stack, innermost first; empty when no stack was taken
    native: tuple[str, ...] = ()
    user_frame: Frame | None = None  # the innermost frame of the user's own code
    collective: str | None = None  # the torch.distributed call it waits in (all_reduce, barrier, init_process_group)
    no_stack: str | None = None  # for ranks without a stack: why, and the kernel's view instead

    @property
    def function(self) -> str | None:
        """Where the group is, by name: the innermost Python function."""
        return self.frames[0].function if self.frames else None

    def to_dict(self) -> dict[str, Any]:
        return {"ranks": list(self.ranks), "pids": list(self.pids), "function": self.function,
                "collective": self.collective, "user_frame": _frame(self.user_frame), "no_stack": self.no_stack,
                "frames": [_frame(f) for f in self.frames], "native": list(self.native)}


@dataclass(frozen=True, slots=True, kw_only=True)
class HangVerdict:
    """The finding in one sentence ("rank 3 is in `load_batch` at train.py:88; ranks 0-2 wait in
    all_reduce at train.py:120"), the ranks to look at, and what to do next."""

    kind: VerdictKind
    summary: str
    suspects: tuple[int, ...] = ()
    next_steps: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "summary": self.summary, "suspects": list(self.suspects),
                "next_steps": list(self.next_steps), "commands": list(self.commands)}


@dataclass(frozen=True, slots=True, kw_only=True)
class FrView:
    """What the flight recorder's per-rank dumps say (the first collective a rank never issued)."""

    ranks: tuple[int, ...]  # ranks whose dump was read
    problems: tuple[str, ...]
    unreadable: tuple[str, ...] = ()
    how: str = ""  # how the dumps were obtained

    def to_dict(self) -> dict[str, Any]:
        return {"ranks": list(self.ranks), "problems": list(self.problems), "unreadable": list(self.unreadable),
                "how": self.how}


@dataclass(frozen=True, slots=True, kw_only=True)
class HangSnapshot:
    trigger: Trigger
    quiet_s: float | None  # how long the job had printed nothing (and made no progress) when it was taken
    world_size: int | None
    ranks: tuple[RankStack, ...]  # sorted by rank
    groups: tuple[StackGroup, ...]  # the largest first
    verdict: HangVerdict
    missing: tuple[int, ...] = ()  # ranks expected on this host that are not running
    remote: tuple[int, ...] = ()  # ranks that run on other hosts (not examined here)
    launchers: tuple[str, ...] = ()  # the launcher processes found ("torchrun (pid 123)")
    fr: FrView | None = None
    ras: RasReport | None = None
    notes: tuple[str, ...] = ()  # what could not be done, and what was used instead
    duration_s: float = 0.0

    @property
    def problem(self) -> bool:
        """A rank stands out (behind, mismatched, gone), or another view names a problem."""
        return bool(self.verdict.suspects) or self.verdict.kind in ("mismatch", "missing") or bool(
            self.fr and self.fr.problems)

    def to_dict(self) -> dict[str, Any]:
        return {"trigger": self.trigger, "quiet_s": None if self.quiet_s is None else round(self.quiet_s, 1),
                "world_size": self.world_size, "verdict": self.verdict.to_dict(),
                "groups": [g.to_dict() for g in self.groups], "ranks": [r.to_dict() for r in self.ranks],
                "missing": list(self.missing), "remote": list(self.remote), "launchers": list(self.launchers),
                "flight_recorder": self.fr.to_dict() if self.fr else None,
                "ras": self.ras.to_dict() if self.ras else None, "notes": list(self.notes),
                "duration_s": round(self.duration_s, 3)}
