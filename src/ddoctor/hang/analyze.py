"""Rank stacks -> equivalence classes -> the rank that is not where the others wait (pure logic).

As LLNL's STAT does, ranks whose main threads have the same stack form one class; at hundreds of
ranks that leaves a handful of classes. A class is *waiting* when its stack is inside a
torch.distributed call (a collective, a barrier, `init_process_group`'s rendezvous). When some
classes wait and others do not, the others are the suspects: their code path never reached the
call the rest wait in. When every class waits, but in different calls (or the same call from
different lines), the ranks issued mismatched collectives.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ddoctor.model.hang import HangVerdict, RankStack, StackGroup, ThreadStack, where
from ddoctor.model.logs import Frame, Traceback
from ddoctor.ranksets import plural_ranks

# The public calls of torch.distributed that block until the other ranks take part.
COLLECTIVES = frozenset({
    "init_process_group", "destroy_process_group", "new_group", "new_subgroups", "new_subgroups_by_enumeration",
    "split_group", "shrink_group", "barrier", "monitored_barrier", "broadcast", "all_reduce", "all_reduce_coalesced",
    "reduce", "all_gather", "all_gather_into_tensor", "all_gather_coalesced", "all_gather_single",
    "all_gather_object", "gather", "gather_object", "scatter", "scatter_object_list", "reduce_scatter",
    "reduce_scatter_tensor", "reduce_scatter_single", "all_to_all", "all_to_all_single", "send", "recv", "isend",
    "irecv", "batch_isend_irecv", "send_object_list", "recv_object_list", "broadcast_object_list",
    "_store_based_barrier",
})
_DIST_FILES = ("torch/distributed/", "torch/nn/parallel/distributed.py")
_NATIVE_WAITS = ("c10d::Work::wait", "c10d::ProcessGroup", "gloo::", "ncclCommInitRank", "c10d::TCPStore")
DETAIL_STEP = ("Rerun with TORCH_DISTRIBUTED_DEBUG=DETAIL: torch then checks every collective across ranks and "
               "fails on the first mismatch, naming the ranks and the calls, instead of hanging.")


def _short_name(function: str | None) -> str:
    return (function or "").rsplit(".", 1)[-1]


def user_frame(frames: Sequence[Frame]) -> Frame | None:
    """The innermost frame of the user's own code (Sentry's in-app rule, as diagnose uses it)."""
    return next((f for f in frames if not f.is_library), None)


def collective(frames: Sequence[Frame], native: Sequence[str] = ()) -> str | None:
    """The torch.distributed call the stack is inside, named as the user called it: the outermost
    such frame (`all_gather_object`, not the `all_gather` it calls), or a native wait in c10d."""
    for f in reversed(frames):  # outermost first
        path = f.filename.replace("\\", "/")
        if not any(d in path for d in _DIST_FILES):
            continue
        name = _short_name(f.function)
        if name in COLLECTIVES:
            return name.lstrip("_")
        if "nn/parallel/distributed.py" in path:
            return "DistributedDataParallel"
    if any(w in n for n in native for w in _NATIVE_WAITS):
        return "Work.wait" if any("Work::wait" in n for n in native) else "c10d"
    return None


def _key(st: RankStack) -> tuple[object, ...]:
    main = st.main
    if main is None or not main.frames:
        return ("no-stack", st.error or "", st.state or "", st.wchan or "")
    return tuple((f.filename, f.function, f.lineno) for f in main.frames)


def group_stacks(stacks: Iterable[RankStack]) -> tuple[StackGroup, ...]:
    """Equivalence classes by main-thread stack, the largest first (ties: the lowest rank first)."""
    by: dict[tuple[object, ...], list[RankStack]] = {}
    for st in stacks:
        if st.exit is not None:
            continue  # a rank that is gone has no stack to compare
        by.setdefault(_key(st), []).append(st)
    groups = []
    for members in by.values():
        first = members[0]
        main = first.main
        frames = main.frames if main else ()
        native = main.native if main else ()
        no_stack = None
        if not frames:
            view = ", ".join(x for x in (first.state, f"waiting in {first.wchan}" if first.wchan else None,
                                         f"last phase {first.phase}" if first.phase else None) if x)
            no_stack = (first.error or "no Python stack") + (f" ({view})" if view else "")
        groups.append(StackGroup(ranks=tuple(sorted(_rank(m) for m in members)), pids=tuple(m.pid for m in members),
                                 frames=frames, native=native, user_frame=user_frame(frames),
                                 collective=collective(frames, native), no_stack=no_stack))
    return tuple(sorted(groups, key=lambda g: (-len(g.ranks), g.ranks[0] if g.ranks else 0)))


def _rank(st: RankStack) -> int:
    return st.rank if st.rank is not None else -st.pid  # a lone process sorts apart from real ranks


def _who(ranks: Sequence[int]) -> str:
    real = [r for r in ranks if r >= 0]
    if len(real) == len(ranks):
        return plural_ranks(real)
    return "the process" if len(ranks) == 1 else f"{len(ranks)} processes"


def _verb(ranks: Sequence[int], one: str, many: str) -> str:
    return one if len(ranks) == 1 else many


def _place(g: StackGroup, cwd: str | None) -> str:
    """`in `load_batch` at train.py:88`, or `in all_reduce at train.py:120` for a waiting group."""
    at = f" at {where(g.user_frame, cwd)}" if g.user_frame else ""
    if g.collective:
        return f"in {g.collective}{at}"
    return f"in `{_short_name(g.function)}`{at}" if g.function else f"(no stack: {g.no_stack})"


def verdict(stacks: Sequence[RankStack], groups: Sequence[StackGroup], *, missing: Sequence[int] = (),
            remote: Sequence[int] = ()) -> HangVerdict:
    cwd = next((s.cwd for s in stacks if s.cwd), None)
    waiting = [g for g in groups if g.collective]
    elsewhere = [g for g in groups if not g.collective and g.frames]
    blind = [g for g in groups if not g.frames]
    wait_ranks = [r for g in waiting for r in g.ranks]
    wait_text = "; ".join(f"{_who(g.ranks)} {_verb(g.ranks, 'waits', 'wait')} {_place(g, cwd)}" for g in waiting)
    gone = [s for s in stacks if s.exit is not None]
    if missing or gone:
        absent = sorted(set(missing) | {s.rank for s in gone if s.rank is not None})
        ended = [s for s in gone if s.rank is not None and s.exit]
        how = ended[0].exit if len(ended) == 1 else "; ".join(f"rank {s.rank} {s.exit}" for s in ended)
        summary = (f"{plural_ranks(absent)} {_verb(absent, 'is', 'are')} not running"
                   + (f" ({how})" if how else "") + (f"; {wait_text}" if wait_text else ""))
        steps = [f"The other ranks wait for {plural_ranks(absent)}: read {_verb(absent, 'its', 'their')} own output "
                 "for how it ended (a traceback, a kill by the OOM killer, a segfault)."]
        if any(s.kill and s.kill.verdict == "oom-killer" for s in gone):
            steps.append("The kernel's OOM killer ended it: use less host memory per rank (torch.load with "
                         "mmap=True, fewer ranks per node) or raise the memory limit.")
        return HangVerdict(kind="missing", summary=summary, suspects=tuple(absent), next_steps=tuple(steps),
                           commands=("dmesg -T | grep -i -E 'killed process|out of memory' | tail",))
    if waiting and (elsewhere or blind):
        suspects = [r for g in elsewhere + blind for r in g.ranks]
        parts = [f"{_who(g.ranks)} {_verb(g.ranks, 'is', 'are')} {_place(g, cwd)}" for g in elsewhere]
        parts += [f"{_who(g.ranks)} could not be examined ({g.no_stack})" for g in blind]
        target = waiting[0]
        call = f"the {target.collective}" + (f" at {where(target.user_frame, cwd)}" if target.user_frame else "")
        steps = []
        if elsewhere:
            g = elsewhere[0]
            steps.append(f"{_who(g.ranks)}'s code path never reached {call} that {_who(wait_ranks)} "
                         f"{_verb(wait_ranks, 'waits', 'wait')} in: look for a rank-dependent branch or early return "
                         f"before it, or work that blocks (data loading, I/O, a lock) in `{_short_name(g.function)}`"
                         + (f" at {where(g.user_frame, cwd)}" if g.user_frame else "") + ".")
        if target.collective == "init_process_group":
            steps.append("The rendezvous completes only when every rank calls init_process_group: the ranks above "
                         "have not got there yet (a slow import, a download, a barrier of their own).")
        if blind:
            steps.append(f"Take {_who([r for g in blind for r in g.ranks])}'s stack by hand: py-spy dump --pid PID.")
        if len(waiting) > 1:
            steps.append(DETAIL_STEP)
        return HangVerdict(kind="behind", summary="; ".join([*parts, wait_text]), suspects=tuple(suspects),
                           next_steps=tuple(steps))
    sites = {(g.collective, where(g.user_frame)) for g in waiting}
    if len(sites) > 1:
        largest = waiting[0]
        unique = len(waiting) == 1 or len(waiting[1].ranks) < len(largest.ranks)
        suspects = tuple(r for g in waiting[1:] for r in g.ranks) if unique else ()
        kinds = {g.collective for g in waiting}
        what = "different collectives" if len(kinds) > 1 else f"{largest.collective} called from different lines"
        return HangVerdict(kind="mismatch", summary=f"ranks wait in {what}: {wait_text}", suspects=suspects,
                           next_steps=("Every rank must call the same collectives in the same order: find the "
                                       "rank-dependent branch that sends the ranks down different paths.",
                                       DETAIL_STEP),
                           commands=("export TORCH_DISTRIBUTED_DEBUG=DETAIL",))
    if waiting:
        g = waiting[0]
        steps = []
        if remote:
            steps.append(f"{plural_ranks(remote)} run on other hosts: take a snapshot there too "
                         "(ddoctor snapshot on each node); the rank that is behind is among them.")
        steps.append("If every rank of the job waits here, the collective itself does not complete: with NCCL, "
                     "read the RAS view (ddoctor diagnose --ras) and rerun with NCCL_DEBUG=INFO; with a flight "
                     "recorder (TORCH_FR_BUFFER_SIZE=2000), `ddoctor diagnose --fr` names the last collective "
                     "each rank completed.")
        who = f"every rank here ({plural_ranks(g.ranks)})" if len(g.ranks) > 1 else _who(g.ranks)
        return HangVerdict(kind="all-waiting", summary=f"{who} {_verb(g.ranks, 'waits', 'wait')} {_place(g, cwd)}: "
                           "no rank on this host is behind the others", next_steps=tuple(steps))
    if elsewhere:
        parts = [f"{_who(g.ranks)} {_verb(g.ranks, 'is', 'are')} {_place(g, cwd)}" for g in elsewhere]
        unique = len(elsewhere) > 1 and len(elsewhere[1].ranks) < len(elsewhere[0].ranks)
        suspects = tuple(r for g in elsewhere[1:] for r in g.ranks) if unique else ()
        return HangVerdict(kind="no-collective", summary="no rank is in a collective: " + "; ".join(parts),
                           suspects=suspects,
                           next_steps=("The job is stuck in its own code, not in communication: look at the "
                                       "innermost frames above (a lock, a queue, a subprocess, I/O).",))
    if not blind:
        return HangVerdict(kind="no-stacks", summary="no process of the job was running to examine",
                           next_steps=("The job had not started a rank yet, or every process had exited.",))
    reasons = sorted({g.no_stack or "" for g in blind})
    return HangVerdict(kind="no-stacks", summary="no Python stack could be taken: " + "; ".join(reasons),
                       next_steps=("Install py-spy (pip install py-spy) and allow it to attach (run as the job's "
                                   "user or root; in a container add the SYS_PTRACE capability).",),
                       commands=("pip install py-spy",))


def stacks_from_tracebacks(tracebacks: Iterable[Traceback]) -> dict[int | None, ThreadStack]:
    """Where each rank was when Ctrl-C reached it: the last KeyboardInterrupt traceback per rank."""
    out: dict[int | None, ThreadStack] = {}
    for tb in tracebacks:
        block = tb.final
        if block.short_type != "KeyboardInterrupt" or not block.frames:
            continue
        out[tb.rank] = ThreadStack(name="MainThread", thread_id=0, frames=tuple(reversed(block.frames)))
    return out
