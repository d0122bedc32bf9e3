"""Take a snapshot of a job under one deadline: its ranks, their stacks, and what else can be read.

Ranks are found from the launcher's process tree (or among this user's processes); every rank's
stack is read with py-spy in parallel (Python frames first, then native ones while time is left);
the flight recorder is asked for a dump where the job turned it on; NCCL's RAS service is asked
where NCCL is loaded. Whatever cannot be done (py-spy missing or refused, no dump, no RAS) is said
in the notes and the rest goes on: the snapshot always ends by its deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from ddoctor.hang import targets
from ddoctor.hang.analyze import group_stacks, verdict
from ddoctor.host import fr_dumps, jobprocs, pyspy
from ddoctor.host.jobprocs import ProcInfo
from ddoctor.model.hang import FrView, HangSnapshot, RankStack, ThreadStack, Trigger
from ddoctor.model.ras import RasReport
from ddoctor.parse.pyspy import PySpyFormatError, parse_dump

MAX_PARALLEL = 8
NATIVE_MAX_RANKS = 64  # beyond this, native frames cost more time than they tell


class NothingToSnapshot(Exception):
    """No process to examine (the message says what was looked for)."""


class SeveralJobs(Exception):
    def __init__(self, jobs: Mapping[str, targets.JobView]) -> None:
        self.jobs = dict(jobs)
        super().__init__(f"{len(jobs)} jobs found")


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    timeout: float = 20.0
    native: bool = True
    ras_address: str | None = None  # default: the ranks' NCCL_RAS_ADDR, else localhost:28028
    job_started: float = 0.0  # wall clock: flight-recorder dumps older than this belong to another run
    pyspy: str | None = field(default_factory=pyspy.find)


@dataclass(frozen=True, slots=True, kw_only=True)
class Extra:
    """What a supervisor (`ddoctor run`) knows that the OS no longer shows."""

    gone: tuple[RankStack, ...] = ()  # ranks seen earlier that have exited
    last_lines: Mapping[int, str] = field(default_factory=dict)
    fallback: Mapping[int | None, ThreadStack] = field(default_factory=dict)  # stacks from KeyboardInterrupt tracebacks
    notes: tuple[str, ...] = ()


def find(pids: Sequence[int] | None) -> targets.JobView:
    """The job of the given processes (a launcher, ranks), or the one job of this user's rank processes."""
    if pids:
        view = targets.classify(jobprocs.tree(pids))
        if not view.ranks and not view.lone:
            raise NothingToSnapshot("no Python process found in the process tree of pid(s) "
                                    + ", ".join(map(str, pids)))
        return view
    view = targets.classify(jobprocs.of_this_user(targets.MARKERS))
    if not view.ranks:
        raise NothingToSnapshot("no rank processes of this user found (looked for processes with RANK, "
                                "OMPI_COMM_WORLD_RANK, PMI_RANK or SLURM_PROCID in their environment)")
    jobs = targets.split_jobs(view)
    if len(jobs) > 1:
        raise SeveralJobs(jobs)
    return view


def _dump_all(exe: str, pids: Sequence[int], *, native: bool, deadline: float,
              cap: float) -> dict[int, pyspy.Dump]:
    remaining = deadline - time.monotonic()
    if remaining <= 0.3 or not pids:
        return {}
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(pids)), thread_name_prefix="py-spy") as ex:
        futures = {pid: ex.submit(pyspy.dump, exe, pid, native=native, timeout=min(cap, remaining)) for pid in pids}
        return {pid: f.result() for pid, f in futures.items()}


def _stacks(opts: Options, procs: Sequence[ProcInfo], deadline: float,
            notes: list[str]) -> dict[int, tuple[str, tuple[ThreadStack, ...] | None, str | None]]:
    """pid -> (source, threads or None, error)."""
    pids = [p.pid for p in procs]
    if opts.pyspy is None:
        reason = pyspy.missing_reason()
        notes.append(f"{reason}: no Python stacks; the kernel's view of each rank is shown instead")
        return {pid: ("none", None, reason) for pid in pids}
    out: dict[int, tuple[str, tuple[ThreadStack, ...] | None, str | None]] = {}
    budget = max(1.0, deadline - time.monotonic())
    for pid, d in _dump_all(opts.pyspy, pids, native=False, deadline=deadline, cap=min(10.0, budget * 0.6)).items():
        out[pid] = ("py-spy", *_parsed(d, pid))
    refused = [pid for pid in pids if out.get(pid, ("", None, None))[2] and "ptrace" in (out[pid][2] or "")]
    if refused:
        notes.append(f"py-spy was refused by the kernel for {len(refused)} of {len(pids)} process(es): "
                     + pyspy.ptrace_hint())
    if opts.native and len(pids) <= NATIVE_MAX_RANKS:
        good = [pid for pid in pids if out.get(pid, ("", None, None))[1]]
        left = deadline - time.monotonic()
        if good and left > 2.0:
            for pid, d in _dump_all(opts.pyspy, good, native=True, deadline=deadline, cap=left * 0.6).items():
                threads, _ = _parsed(d, pid)
                if threads:
                    out[pid] = ("py-spy --native", threads, None)
    for pid in pids:
        out.setdefault(pid, ("none", None, "the snapshot's deadline came before py-spy could run"))
    return out


def _parsed(d: pyspy.Dump, pid: int) -> tuple[tuple[ThreadStack, ...] | None, str | None]:
    if d.text is None:
        return None, d.error
    try:
        threads = parse_dump(d.text).get(pid)
    except PySpyFormatError as exc:
        return None, str(exc)
    return (threads, None) if threads else (None, "py-spy found no Python thread")


def _fr(ranks: Sequence[targets.RankProc], opts: Options, deadline: float, notes: list[str]) -> FrView | None:
    from ddoctor.parse.flight_recorder import analyze_dumps

    setups = {r.rank: s for r in ranks if (s := fr_dumps.setup(r.info.env)) is not None}
    if not setups:
        return None
    got = fr_dumps.collect(setups, job_started=opts.job_started, deadline=min(deadline, time.monotonic() + 8.0))
    notes += [f"flight recorder: {n}" for n in got.notes]
    if not got.files:
        return FrView(ranks=(), problems=(), how=got.how)
    rep = analyze_dumps(dict(got.files))
    return FrView(ranks=tuple(sorted(rep.ranks)), problems=tuple(p.text for p in rep.problems),
                  unreadable=tuple(rep.unreadable), how=got.how)


def _ras(ranks: Sequence[targets.RankProc], opts: Options, deadline: float, notes: list[str]) -> RasReport | None:
    from ddoctor.host.nccl_ras import DEFAULT_ADDRESS, RasError, query
    from ddoctor.parse.ras import RasFormatError, analyze, parse_snapshot

    with_nccl = [r for r in ranks if r.info.env.get("NCCL_RAS_ENABLE") != "0" and jobprocs.nccl_loaded(r.info.pid)]
    if opts.ras_address is None and not with_nccl:
        return None
    address = opts.ras_address or next((r.info.env["NCCL_RAS_ADDR"] for r in with_nccl
                                        if r.info.env.get("NCCL_RAS_ADDR")), DEFAULT_ADDRESS)
    snaps, problems = [], []
    for poll in range(2):
        left = deadline - time.monotonic()
        if left < 1.0:
            break
        try:
            snaps.append(parse_snapshot(query(address, timeout_s=min(5.0, left), collective_timeout_s=2)))
        except (RasError, RasFormatError) as exc:
            problems.append(str(exc))
            break
        if poll == 0 and deadline - time.monotonic() > 3.0:
            time.sleep(1.0)
    if not snaps:
        notes.append(f"NCCL RAS at {address}: " + ("; ".join(problems) or "no time left to ask"))
    return analyze(address, snaps, problems)


def take(view: targets.JobView, *, trigger: Trigger, opts: Options, quiet_s: float | None = None,
         extra: Extra | None = None, on_progress: Callable[[str], None] | None = None) -> HangSnapshot:
    start = time.monotonic()
    deadline = start + opts.timeout
    extra = extra or Extra()
    notes: list[str] = list(extra.notes)
    say = on_progress or (lambda _text: None)
    # No rank yet (a launcher still importing torch): the launcher's own stack says where it is.
    procs = [r.info for r in view.ranks] or list(view.lone) or [p for _, p in view.launchers]
    rank_of = {r.info.pid: r.rank for r in view.ranks}
    say(f"reading the stacks of {len(procs)} process(es)")
    stacks = _stacks(opts, procs, deadline, notes) if procs else {}
    out: list[RankStack] = []
    for p in procs:
        source, threads, error = stacks[p.pid]
        rank = rank_of.get(p.pid)
        if threads is None and (fb := extra.fallback.get(rank)) is not None:
            source, threads = "KeyboardInterrupt traceback", (fb,)
        st = jobprocs.state(p.pid)
        out.append(RankStack(pid=p.pid, rank=rank, source=source, threads=threads or (),
                             error=None if threads else error, state=st.status, wchan=st.wchan, cwd=p.cwd,
                             last_line=extra.last_lines.get(rank) if rank is not None else None))
    seen = {s.rank for s in out}
    out += [g for g in extra.gone if g.rank not in seen]
    out.sort(key=lambda s: (s.rank if s.rank is not None else 1 << 30, s.pid))
    missing, remote = targets.placement(view)
    missing = tuple(r for r in missing if r not in {g.rank for g in extra.gone})
    say("asking the flight recorder and NCCL")
    fr = _fr(view.ranks, opts, deadline, notes)
    ras = _ras(view.ranks, opts, deadline, notes)
    groups = group_stacks(out)
    v = verdict(out, groups, missing=missing, remote=remote)
    if fr is None and v.kind in ("behind", "mismatch", "all-waiting"):
        v = replace(v, next_steps=(*v.next_steps, "Next time, run with TORCH_FR_BUFFER_SIZE=2000 (and, with NCCL, "
                                   "TORCH_NCCL_DEBUG_INFO_PIPE_FILE=/tmp/fr_pipe_): the snapshot then also reads each "
                                   "rank's last collectives from the flight recorder."))
    launchers = tuple(f"{kind} (pid {p.pid})" for kind, p in view.launchers)
    return HangSnapshot(trigger=trigger, quiet_s=quiet_s, world_size=view.world, ranks=tuple(out), groups=groups,
                        verdict=v, missing=missing, remote=remote, launchers=launchers, fr=fr, ras=ras,
                        notes=tuple(dict.fromkeys(notes)), duration_s=time.monotonic() - start)
