"""What `ddoctor run` keeps of a running job so that a snapshot can still speak of ranks that are gone.

The job's process tree is read every couple of seconds: each rank seen is remembered (pid, rank,
start time), and each process's memory cgroup gets an OOM-kill baseline. When the job looks hung
or is interrupted, the snapshot covers the ranks alive now, and names the ranks seen earlier that
are no longer running (with the OOM killer's evidence where the kernel left some). When the job
ends, every process it ever had is checked by pid and start time, and any still running is killed:
torchrun starts its workers in sessions of their own, out of reach of a process-group kill.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterable, Mapping

from ddoctor.hang import snapshot, targets
from ddoctor.host import jobprocs
from ddoctor.host.kills import KillWatch
from ddoctor.model.hang import HangSnapshot, RankStack, ThreadStack, Trigger

POLL_S = 2.0
MAX_TRACKED = 4096


class JobWatch:
    def __init__(self, root: int) -> None:
        self.root = root
        self.kills = KillWatch()
        self._ranks: dict[int, targets.RankProc] = {}  # pid -> the rank it was
        self._seen: dict[int, float] = {}  # pid -> create_time, every process of the job
        self._last = 0.0
        self._lock = threading.Lock()

    def poll(self, *, force: bool = False) -> None:
        """Read the job's process tree (at most every POLL_S seconds unless forced)."""
        now = time.monotonic()
        if not force and now - self._last < POLL_S:
            return
        self._last = now
        infos = jobprocs.tree([self.root])
        view = targets.classify(infos)
        with self._lock:
            for p in infos:
                if p.pid not in self._seen and len(self._seen) < MAX_TRACKED:
                    self._seen[p.pid] = p.create_time
                    self.kills.watch(p.pid)
            for r in view.ranks:
                self._ranks.setdefault(r.info.pid, r)

    def rank_pids(self) -> dict[int, int]:
        with self._lock:
            return {pid: r.rank for pid, r in self._ranks.items()}

    def _gone(self, alive: Iterable[int]) -> tuple[RankStack, ...]:
        here = set(alive)
        out = []
        with self._lock:
            ranks = list(self._ranks.values())
        for r in ranks:
            if r.info.pid in here or jobprocs.alive(r.info.pid, r.info.create_time):
                continue
            cause = self.kills.attribute([r.info.pid])
            exit_text = ("was killed by the kernel's OOM killer" if cause.verdict == "oom-killer"
                         else "exited while the others kept running")
            out.append(RankStack(pid=r.info.pid, rank=r.rank, source="none", state="gone", cwd=r.info.cwd,
                                 exit=exit_text, kill=cause if cause.verdict == "oom-killer" else None))
        return tuple(out)

    def snapshot(self, *, trigger: Trigger, timeout: float, quiet_s: float | None = None,
                 last_lines: Mapping[int, str] | None = None,
                 fallback: Mapping[int | None, ThreadStack] | None = None,
                 view: targets.JobView | None = None, notes: tuple[str, ...] = ()) -> HangSnapshot:
        """The job as it is now (or as `view` found it), with the ranks seen earlier that are gone."""
        if view is None:
            view = self.view()
        gone = self._gone(r.info.pid for r in view.ranks)
        started = min((r.info.create_time for r in view.ranks), default=time.time())
        extra = snapshot.Extra(gone=gone, last_lines=dict(last_lines or {}), fallback=dict(fallback or {}),
                               notes=notes)
        opts = snapshot.Options(timeout=timeout, job_started=started)
        return snapshot.take(view, trigger=trigger, opts=opts, quiet_s=quiet_s, extra=extra)

    def view(self) -> targets.JobView:
        self.poll(force=True)
        return targets.classify(jobprocs.tree([self.root]))

    def kill_leftovers(self) -> tuple[int, ...]:
        """SIGKILL every process of the job that is still running (same pid *and* start time)."""
        with self._lock:
            seen = dict(self._seen)
        killed = []
        for pid, created in seen.items():
            if pid != os.getpid() and jobprocs.alive(pid, created):
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except OSError:
                    pass
        return tuple(killed)
