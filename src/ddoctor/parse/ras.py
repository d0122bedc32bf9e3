"""NCCL RAS status (JSON, NCCL >= 2.28.7) -> typed snapshots -> a culprit over several polls.

RAS reports raw state and leaves the interpretation to the consumer. One snapshot cannot tell a
collective in flight from a stuck communicator (ranks briefly differ in their operation counts all
the time), so the verdict compares polls: counts that move are progress; a mismatch that does not
move names the ranks that are behind (they never launched what the others wait in); missing ranks
are named with host, pid and GPU; asynchronous NCCL errors with their ncclResult_t.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from ddoctor.model.finding import Finding, Remediation
from ddoctor.model.ras import RasCommunicator, RasMissing, RasRank, RasReport, RasSnapshot
from ddoctor.model.status import Status
from ddoctor.ranksets import group_by, plural_ranks

NCCL_RESULTS = {0: "ncclSuccess", 1: "ncclUnhandledCudaError", 2: "ncclSystemError", 3: "ncclInternalError",
                4: "ncclInvalidArgument", 5: "ncclInvalidUsage", 6: "ncclRemoteError", 7: "ncclInProgress"}
MAX_DOC = 64 << 20


class RasFormatError(ValueError):
    """The answer is not RAS JSON (an old NCCL without JSON output, or another service on the port)."""


def _int(v: object, default: int = -1) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else default


def _str(v: object) -> str:
    return v if isinstance(v, str) else ""


def parse_snapshot(text: str) -> RasSnapshot:
    if len(text) > MAX_DOC:
        raise RasFormatError("the RAS answer is larger than 64 MiB")
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise RasFormatError(f"not JSON ({exc.msg}); NCCL older than 2.28.7 answers only in text") from None  # type: ignore[attr-defined]  # json raises JSONDecodeError
    if not isinstance(doc, dict) or not isinstance(doc.get("communicators", []), list):
        raise RasFormatError("not a RAS status document (no communicators list)")
    comms = []
    for c in doc.get("communicators", []):
        if not isinstance(c, dict):
            continue
        ranks = []
        for r in c.get("ranks", []) if isinstance(c.get("ranks"), list) else []:
            if not isinstance(r, dict):
                continue
            st = cast("dict[str, Any]", r.get("status") if isinstance(r.get("status"), dict) else {})
            counts = cast("dict[str, Any]",
                          r.get("collective_counts") if isinstance(r.get("collective_counts"), dict) else {})
            ranks.append(RasRank(rank=_int(r.get("rank")), host=_str(r.get("host")), pid=_int(r.get("pid")),
                                 cuda_dev=_int(r.get("cuda_dev")), nvml_dev=_int(r.get("nvml_dev")),
                                 init_state=_int(st.get("init_state"), 0), async_error=_int(st.get("async_error"), 0),
                                 abort_flag=st.get("abort_flag") is True,
                                 finalize_called=st.get("finalize_called") is True,
                                 counts=tuple(sorted((str(k), _int(v, 0)) for k, v in counts.items()))))
        missing = []
        for m in c.get("missing_ranks", []) if isinstance(c.get("missing_ranks"), list) else []:
            if not isinstance(m, dict):
                continue
            st = cast("dict[str, Any]", m.get("status") if isinstance(m.get("status"), dict) else {})
            missing.append(RasMissing(rank=_int(m.get("rank")), host=_str(m.get("host")), pid=_int(m.get("pid")),
                                      cuda_dev=_int(m.get("cuda_dev")), unresponsive=st.get("unresponsive") is True,
                                      dead=st.get("considered_dead") is True))
        comms.append(RasCommunicator(key=f"{_str(c.get('hash'))}/{_str(c.get('secondary_hash'))}",
                                     size=_int(c.get("size"), len(ranks) + len(missing)), ranks=tuple(ranks),
                                     missing=tuple(missing)))
    ras = cast("dict[str, Any]", doc.get("ras") if isinstance(doc.get("ras"), dict) else {})
    return RasSnapshot(nccl_version=_str(doc.get("nccl_version")) or None, timestamp=_str(doc.get("timestamp")) or None,
                       communicators=tuple(comms), timeouts=_int(ras.get("timeouts_count"), 0))


def _counts(value: object) -> tuple[tuple[str, int], ...]:
    return value if isinstance(value, tuple) else ()


def _total(value: object) -> int:
    return sum(n for _, n in _counts(value))


def _where(host: str, pid: int, gpu: int) -> str:
    return f"{host or '?'} pid {pid} GPU {gpu}"


def _finding(fid: str, status: Status, title: str, summary: str, details: Sequence[str] = (),
             fix: str | None = None, commands: Sequence[str] = ()) -> Finding:
    return Finding(id=fid, title=title, group="nccl-ras", status=status, summary=summary, details=tuple(details),
                   remediation=Remediation(summary=fix, commands=tuple(commands)) if fix else None)


def analyze(address: str, snapshots: Sequence[RasSnapshot], problems: Sequence[str] = ()) -> RasReport:
    """The verdict over polls taken some seconds apart (the first and the last are compared)."""
    if not snapshots:
        f = _finding("ras.unreachable", Status.ERROR,
                     "NCCL RAS", f"no answer from NCCL's RAS service at {address}", problems,
                     "Run this on a node of the job (RAS listens on localhost:28028 by default, NCCL >= 2.24), "
                     "or pass the address set in NCCL_RAS_ADDR.")
        return RasReport(address=address, polls=0, nccl_version=None, state="unreachable", findings=(f,),
                         communicators=0, ranks=0)
    first, last = snapshots[0], snapshots[-1]
    findings: list[Finding] = []
    states: list[str] = []
    before = {c.key: c for c in first.communicators}
    n_ranks = 0
    for comm in last.communicators:
        n_ranks += len(comm.ranks) + len(comm.missing)
        label = f"communicator {comm.key.split('/')[0]} ({comm.size} ranks)"
        dead = [m for m in comm.missing if m.dead]
        gone = [m for m in comm.missing if not m.dead]
        if dead:
            states.append("dead")
            findings.append(_finding(
                "ras.dead", Status.FAIL, "Ranks that died",
                f"{plural_ranks(m.rank for m in dead)} of {label} considered dead by RAS (unreachable for 60 s)",
                [f"rank {m.rank}: {_where(m.host, m.pid, m.cuda_dev)}" for m in dead[:16]],
                "Look at the dead ranks' own output first (killed by the OOM killer, a segfault, a lost node); the "
                "other ranks are waiting for them.", ["dmesg -T | grep -i -E 'killed process|xid' | tail"]))
        if gone:
            states.append("dead")
            findings.append(_finding(
                "ras.missing", Status.FAIL, "Ranks RAS cannot reach",
                f"{plural_ranks(m.rank for m in gone)} of {label} did not answer RAS",
                [f"rank {m.rank}: {_where(m.host, m.pid, m.cuda_dev)}" for m in gone[:16]],
                "Check that the processes are alive (ps on their hosts) and that nodes can reach each other."))
        errs = [r for r in comm.ranks if r.async_error not in (0, 7) or r.init_state not in (0, 7)]
        if errs:
            states.append("error")
            by_code = group_by({r.rank: NCCL_RESULTS.get(r.async_error or r.init_state, str(r.async_error))
                                for r in errs})
            findings.append(_finding(
                "ras.error", Status.FAIL, "NCCL errors on ranks",
                "; ".join(f"{plural_ranks(g.ranks)}: {g.value}" for g in by_code[:6]) + f" in {label}",
                [f"rank {r.rank}: {_where(r.host, r.pid, r.cuda_dev)}" for r in errs[:16]],
                "Read the NCCL WARN lines of those ranks (NCCL_DEBUG=WARN); ddoctor diagnose names the cause.",
                ["export NCCL_DEBUG=WARN"]))
        aborted = [r for r in comm.ranks if r.abort_flag]
        if aborted:
            states.append("error")
            findings.append(_finding("ras.aborted", Status.FAIL, "Aborted communicator",
                                     f"{plural_ranks(r.rank for r in aborted)} aborted {label}",
                                     fix="The watchdog aborts a communicator after an error or a timeout: find the "
                                         "first error in the ranks' logs."))
        if any(r.init_state == 7 for r in comm.ranks):
            states.append("init")
        prev = before.get(comm.key)
        totals = {r.rank: r.counts for r in comm.ranks}
        moved = prev is not None and {r.rank: r.counts for r in prev.ranks} != totals
        groups = group_by(dict(totals))
        if moved:
            states.append("progressing")
            continue
        if len(groups) > 1 and len(snapshots) > 1:
            behind = min(groups, key=lambda g: _total(g.value))
            ahead = [g for g in groups if g is not behind]
            states.append("stuck")
            where = ", ".join(f"{op} {n}" for op, n in _counts(behind.value) if n) or "no collective yet"
            findings.append(_finding(
                "ras.stuck", Status.FAIL, "A collective some ranks never joined",
                f"{plural_ranks(behind.ranks)} of {label} stopped at {where}; "
                f"{plural_ranks(r for g in ahead for r in g.ranks)} launched more and wait for them "
                f"(unchanged over {len(snapshots)} polls)",
                [f"rank {r.rank}: {_where(r.host, r.pid, r.cuda_dev)}" for r in comm.ranks
                 if r.rank in behind.ranks][:16],
                "The ranks that are behind skipped a collective or are stuck before it (rank-dependent code, a data "
                "loader, a crash in progress): take their stacks with `ddoctor snapshot`, and rerun with "
                "TORCH_DISTRIBUTED_DEBUG=DETAIL to name a mismatch.", ["ddoctor snapshot"]))
        elif len(groups) > 1:
            states.append("in-flight")
            findings.append(_finding(
                "ras.mismatch", Status.WARN, "Operation counts differ (maybe in flight)",
                f"{label}: " + "; ".join(f"{plural_ranks(g.ranks)} at {_total(g.value)}" for g in groups[:4]),
                fix="One snapshot cannot tell a collective in flight from a stuck one: poll several times "
                    "(--polls 5)."))
        elif len(snapshots) > 1 and comm.ranks:
            states.append("idle")
    order = ("dead", "error", "stuck", "init", "in-flight", "idle", "progressing")
    state = next((s for s in order if s in states), "healthy")
    if state == "idle":
        findings.append(_finding(
            "ras.idle", Status.WARN, "No NCCL progress",
            f"every rank sits at the same operation count over {len(snapshots)} polls: no collective is in flight",
            fix="If the job is hung, it is hung outside NCCL (CPU code, data loading, I/O): take the ranks' stacks.",
            commands=["ddoctor snapshot"]))
    if not findings:
        findings.append(_finding("ras.ok", Status.PASS, "NCCL RAS",
                                 f"{len(last.communicators)} communicators, {n_ranks} ranks: "
                                 + ("collectives progressing" if state == "progressing" else "no problem reported")))
    return RasReport(address=address, polls=len(snapshots), nccl_version=last.nccl_version, state=state,
                     findings=tuple(findings), communicators=len(last.communicators), ranks=n_ranks,
                     problems=tuple(problems))

