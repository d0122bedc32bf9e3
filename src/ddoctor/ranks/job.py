"""Start rank processes, read what they print, wait with a grace period, and stop them all.

Every process starts through `host.processes` (its own session, the parent-death signal, the one
registry that exit-time cleanup kills), so a timeout, Ctrl-C, SIGTERM or even `kill -9` of ddoctor
stops it and everything it started. On one node ranks are started directly, one process per rank;
across nodes a launcher (torchrun, srun) starts them and its prefixed lines are demultiplexed here.
"""

from __future__ import annotations

import collections
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

from ddoctor.host import processes
from ddoctor.ranks.plan import Plan
from ddoctor.ranks.protocol import RankEvent

GRACE_S = 5.0  # after the first failure (or the leader's exit), how long the rest may take on their own
STOP_S = 2.0  # between SIGTERM and SIGKILL when stopping
TAIL_LINES = 400
CHUNK = 64 << 10
MAX_LINE = 64 << 10  # a longer line passes through whole but reaches `on_line` cut to this
LAUNCHER_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "GROUP_RANK")
_SRUN_LABEL = re.compile(r"^\s{0,6}(\d{1,6}): ")
_TORCHRUN_PREFIX = re.compile(r"^\[default([^\]]*)\]:")

EventCallback = Callable[[int, str], None]


def base_env(plan: Plan, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every rank starts from: ours without a launcher's variables, unbuffered."""
    env = {k: v for k, v in (os.environ if environ is None else environ).items() if k not in LAUNCHER_VARS}
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("PYTHONWARNINGS", "ignore")
    if plan.device == "mps":
        env.setdefault("PYTORCH_ENABLE_MPS_FALLBACK", "1")
    return env


def local_rank_env(env: Mapping[str, str], plan: Plan, rank: int, work: Path,
                   loopback: str | None) -> dict[str, str]:
    """What torchrun would set for one rank on this node, with a file-store rendezvous (no listener)
    and Gloo pinned to loopback."""
    renv = {**env, "RANK": str(rank), "WORLD_SIZE": str(plan.nproc), "LOCAL_RANK": str(rank),
            "LOCAL_WORLD_SIZE": str(plan.nproc), "MASTER_ADDR": "127.0.0.1",
            "DDOCTOR_STORE_FILE": str(work / "rendezvous.store")}
    if loopback and plan.backend == "gloo":
        renv.setdefault("GLOO_SOCKET_IFNAME", loopback)
    return renv


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessExit:
    pid: int
    rank: int | None  # None: a launcher (torchrun, srun) or a job's single process
    returncode: int | None
    stopped: bool  # ddoctor stopped it: its exit code is not its own


class Job:
    """Processes ddoctor started, each in its own session; `stop` ends them and their groups."""

    def __init__(self) -> None:
        self._procs: list[tuple[subprocess.Popen[Any], int | None]] = []
        self._stopped: set[int] = set()
        self.first_failure: float | None = None
        self.timed_out = False

    def spawn(self, argv: Sequence[str], env: Mapping[str, str] | None, *, rank: int | None = None,
              **kw: Any) -> subprocess.Popen[Any]:
        proc = processes.spawn(argv, env=env, **kw)
        self._procs.append((proc, rank))
        return proc

    def returncodes(self) -> list[int | None]:
        return [p.poll() for p, _ in self._procs]

    def wait(self, timeout: float | None, *, grace: float = GRACE_S, poll_s: float = 0.05) -> bool:
        """Until every process exits; after the first failure the others get `grace`. True: timed out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            codes = self.returncodes()
            if all(c is not None for c in codes):
                return False
            now = time.monotonic()
            if self.first_failure is None and any(c not in (None, 0) for c in codes):
                self.first_failure = now
            if self.first_failure is not None and now - self.first_failure > grace:
                return False
            if deadline is not None and now > deadline:
                self.timed_out = True
                return True
            time.sleep(poll_s)

    def _groups_alive(self) -> bool:
        return any(p.poll() is None or processes.group_alive(p.pid) for p, _ in self._procs)

    def stop(self) -> None:
        """SIGTERM every process group that still has a member (a running leader, or what an exited
        leader left behind), then SIGKILL whatever is left after STOP_S."""
        import signal

        for p, _ in self._procs:
            if p.poll() is None:
                self._stopped.add(p.pid)
            processes.kill_group(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_S
        while self._groups_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        for p, _ in self._procs:
            processes.kill_group(p.pid)
            p.wait()
            processes.release(p)

    def linger(self, grace: float = GRACE_S) -> None:
        """The leaders have exited: give what they left running in their groups `grace` seconds to
        finish, then stop it (a job's background children must not outlive ddoctor)."""
        deadline = time.monotonic() + grace
        while self._groups_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.stop()

    def pids(self) -> tuple[int, ...]:
        """The processes ddoctor started (ranks, or the launcher that starts them)."""
        return tuple(p.pid for p, _ in self._procs)

    def process_tree(self) -> tuple[int, ...]:
        """Every live process of the job: those ddoctor started and all their descendants."""
        out: list[int] = []
        for p, _ in self._procs:
            if p.poll() is None:
                out.append(p.pid)
            out += processes.descendants(p.pid)
        return tuple(dict.fromkeys(out))

    def exits(self) -> tuple[ProcessExit, ...]:
        return tuple(ProcessExit(pid=p.pid, rank=r, returncode=p.returncode, stopped=p.pid in self._stopped)
                     for p, r in self._procs)


class LineSplitter:
    """Bytes as they arrive -> whole lines (without `\n` or a trailing `\r`), each cut to `max_line`
    characters, so a job that never prints a newline cannot grow ddoctor's memory."""

    def __init__(self, on_line: Callable[[str], None], max_line: int = MAX_LINE) -> None:
        self._on_line = on_line
        self._max = max_line
        self._buf = bytearray()
        self._cut = False  # the current line already reached max_line; drop the rest of it

    def feed(self, chunk: bytes) -> None:
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            self._take(chunk[start:end])
            self._emit()
            start = end + 1
        self._take(chunk[start:])

    def _take(self, piece: bytes) -> None:
        room = self._max - len(self._buf)
        if not self._cut and piece:
            self._buf += piece[:room]
            self._cut = len(piece) > room

    def _emit(self) -> None:
        self._on_line(self._buf.decode("utf-8", "replace").rstrip("\r"))
        self._buf.clear()
        self._cut = False

    def close(self) -> None:
        if self._buf or self._cut:
            self._emit()


def pump(src: IO[bytes], dst: IO[bytes] | None, on_line: Callable[[str], None],
         on_chunk: Callable[[bytes], None] | None = None) -> None:
    """Copy a pipe to `dst` chunk by chunk as it arrives (a `\r` progress line passes at once) and
    hand its lines to `on_line` (and the raw chunks to `on_chunk`: a progress clock sees `\r`
    redraws that never end a line). A closed `dst` (a reader that went away) still drains the pipe,
    so the job never blocks on a full pipe."""
    splitter = LineSplitter(on_line)
    fd = src.fileno()
    while chunk := os.read(fd, CHUNK):
        if on_chunk is not None:
            on_chunk(chunk)
        if dst is not None:
            try:
                dst.write(chunk)
                dst.flush()
            except (BrokenPipeError, OSError, ValueError):
                dst = None
        splitter.feed(chunk)
    splitter.close()


@dataclass(frozen=True, slots=True, kw_only=True)
class RankState:
    rank: int
    phase: str  # the last phase the rank announced (`launch` before its first event)
    phase_times: Mapping[str, float]
    lines: tuple[str, ...]  # the last TAIL_LINES lines it printed
    pid: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobOutcome:
    """What a finished rank job did, for judges: per-rank phases and output, and every process's exit."""

    expected: int
    ranks: Mapping[int, RankState]
    other: tuple[str, ...]  # launcher lines and lines no rank claimed
    processes: tuple[ProcessExit, ...]
    timed_out: bool
    first_failure: float | None

    def all_done(self) -> bool:
        return len(self.ranks) == self.expected and all(r.phase == "done" for r in self.ranks.values())

    def exit_of(self, rank: int) -> ProcessExit | None:
        return next((p for p in self.processes if p.rank == rank), None)

    @property
    def any_stopped(self) -> bool:
        return any(p.stopped for p in self.processes)

    @property
    def stopped_ranks(self) -> set[int]:
        return {p.rank for p in self.processes if p.rank is not None and p.stopped}


class _Rank:
    __slots__ = ("lines", "phase", "phase_times", "pid", "rank")

    def __init__(self, rank: int, pid: int | None = None) -> None:
        self.rank = rank
        self.phase = "launch"
        self.phase_times: dict[str, float] = {}
        self.lines: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.pid = pid


class RankJob(Job):
    """Rank processes (one per rank, or one launcher agent) and what each rank printed.

    `fixed`: ddoctor numbers the ranks 0..expected-1 itself. Otherwise torchrun's rendezvous assigns
    global ranks by arrival, so this node learns its ranks from their first event.
    """

    def __init__(self, expected: int, *, fixed: bool, on_event: EventCallback | None = None) -> None:
        super().__init__()
        self.expected = expected
        self.fixed = fixed
        self._ranks: dict[int, _Rank] = {r: _Rank(r) for r in range(expected)} if fixed else {}
        self._other: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._on_event = on_event
        self._lock = threading.Lock()
        self._readers: list[threading.Thread] = []

    def start(self, argv: Sequence[str], env: Mapping[str, str], rank: int | None = None) -> None:
        """Start one process: rank `rank`, or (None) a launcher whose output carries rank prefixes."""
        proc = self.spawn(argv, env, rank=rank, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          bufsize=1)
        if rank is not None:
            self._ranks[rank].pid = proc.pid
        t = threading.Thread(target=self._read, args=(proc, rank), name=f"rank-reader-{proc.pid}", daemon=True)
        t.start()
        self._readers.append(t)

    def _read(self, proc: subprocess.Popen[str], rank: int | None) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            self._line(raw.rstrip("\n"), rank)

    def _line(self, line: str, rank: int | None) -> None:
        body, srun_rank, local = line, None, None
        if rank is None and (m := _TORCHRUN_PREFIX.match(line)):
            body, local = line[m.end():], m.group(1)  # torchrun --tee prefixes worker lines by local rank
        elif rank is None and (m := _SRUN_LABEL.match(line)):
            body, srun_rank = line[m.end():], int(m.group(1))  # srun --label: the task id is the global rank
        ev = RankEvent.from_line(body)
        if ev is not None and (ev.rank in self._ranks or not self.fixed):
            with self._lock:
                r = self._ranks.setdefault(ev.rank, _Rank(ev.rank))
                r.phase = ev.stage
                r.phase_times.setdefault(ev.stage, time.monotonic())
                if ev.event == "start" and ev.pid is not None:
                    r.pid = ev.pid
            if self._on_event:
                self._on_event(ev.rank, ev.stage)
            return
        with self._lock:
            if local is not None:
                target = self._local_lines(int(local)) if local.isdigit() else self._other
            elif srun_rank is not None:
                target = self._ranks.setdefault(srun_rank, _Rank(srun_rank)).lines
            else:
                target = self._ranks[rank].lines if rank is not None else self._other
            target.append(body)

    def _local_lines(self, local: int) -> collections.deque[str]:
        """torchrun prefixes lines by local rank; map them to the global rank that announced itself."""
        known = sorted(self._ranks)
        return self._ranks[known[local]].lines if local < len(known) else self._other

    def stop(self) -> None:
        super().stop()
        for t in self._readers:
            t.join(timeout=2)

    def rank_pids(self) -> dict[int, int]:
        """Each rank's own pid (from its start event when a launcher started it)."""
        with self._lock:
            return {r: st.pid for r, st in sorted(self._ranks.items()) if st.pid is not None}

    def phases(self) -> dict[int, str]:
        with self._lock:
            return {r: st.phase for r, st in self._ranks.items()}

    def outcome(self) -> JobOutcome:
        with self._lock:
            ranks = {r: RankState(rank=r, phase=st.phase, phase_times=MappingProxyType(dict(st.phase_times)),
                                  lines=tuple(st.lines), pid=st.pid) for r, st in sorted(self._ranks.items())}
            other = tuple(self._other)
        return JobOutcome(expected=self.expected, ranks=MappingProxyType(ranks), other=other,
                          processes=self.exits(), timed_out=self.timed_out, first_failure=self.first_failure)
