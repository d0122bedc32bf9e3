"""The logs a launcher left in a folder, each with the rank it belongs to.

torchrun `--log-dir` writes `<run>/attempt_<N>/<local_rank>/{stdout,stderr}.log` and, with
`@record`, an `error.json` per failed rank; Slurm writes `slurm-<job>.out` or per-task files
(`%j_%t.out`); Kubernetes collections name files after pods (`...-worker-3.log`, or the kubelet's
`<namespace>_<pod>_<uid>/<container>/0.log`), numbered as ranknames.py says. `ddoctor diagnose
DIR` reads them all, in an order that puts the earliest real failure first: error files by their
timestamp, then the ranks' own output, then launcher-wide logs. Flight-recorder dumps found on the
way (`nccl_trace_rank_3`, `<host>_trace_rank_3`, `<host>/trace_rank_3`) are returned apart, for
parse/flight_recorder.py to compare.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ddoctor.lazyre import lazy_re
from ddoctor.ranknames import dump_rank, pod_rank, pod_role

MAX_FILES = 20_000
MAX_ERROR_FILE = 4 << 20
LOG_SUFFIXES = (".log", ".out", ".err", ".txt", ".gz")
_ATTEMPT = lazy_re(r"(?:^|/)attempt_(?P<attempt>\d{1,6})/(?P<rank>\d{1,6})(?:/|$)")
_RANK_NAME = lazy_re(r"(?:^|[^a-z])(?:rank|task|worker|proc|node)[-_]?(?P<rank>\d{1,6})(?:\D|$)", re.IGNORECASE)
_SLURM_TASK = lazy_re(r"(?:^|/)(?:slurm-)?\d{1,12}_(?P<rank>\d{1,6})\.(?:out|err|log)$")
_FLIGHT = lazy_re(r"(?:nccl_)?trace_rank_\d{1,6}|_fr_|flight", re.IGNORECASE)
_KUBELET_POD = lazy_re(r"^[a-z0-9][a-z0-9-]{0,62}_(?P<pod>[a-z0-9][a-z0-9.-]{0,252})_[0-9a-f-]{8,36}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class TreeLog:
    path: str
    rank: int | None
    kind: str  # error-file | rank-log | log | flight-dump
    timestamp: float | None = None  # when an error file says the failure happened
    host: str | None = None  # flight-recorder dumps: the host the name or folder gives


def _pod_of(rel: str) -> str | None:
    """The pod a path is named after: a kubelet folder `<ns>_<pod>_<uid>`, or a file `<pod>.log`."""
    parts = rel.split("/")
    for part in parts[:-1]:
        if m := _KUBELET_POD.match(part):
            return m.group("pod")
    stem = parts[-1].split(".", 1)[0]
    return stem if pod_role(stem) else None


def _rank_of(rel: str, *, has_master: bool = False) -> int | None:
    for rx in (_ATTEMPT, _SLURM_TASK):
        m = rx.search(rel)
        if m:
            return int(m.group("rank"))
    pod = _pod_of(rel)
    if pod is not None:
        return pod_rank(pod, has_master=has_master)
    m = _RANK_NAME.search(rel)
    return int(m.group("rank")) if m else None


def _dump_host(rel: str) -> str | None:
    """`node7_trace_rank_3` or `node7/trace_rank_3`: the host a dump was written on."""
    parts = rel.split("/")
    head = re.split(r"[-_.]?(?:nccl_)?trace_rank", parts[-1], maxsplit=1, flags=re.IGNORECASE)[0]
    return head or (parts[-2] if len(parts) > 1 else None)


def _error_timestamp(path: Path) -> float | None:
    try:
        if path.stat().st_size > MAX_ERROR_FILE:
            return None
        data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
        ts = data.get("message", {}).get("extraInfo", {}).get("timestamp")
        return float(ts) if ts is not None else None
    except (OSError, ValueError, AttributeError, TypeError):
        return None


def error_file_text(path: str) -> str:
    """torchelastic's error.json as the traceback text it holds (what `@record` captured)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8", errors="replace")[:MAX_ERROR_FILE])
    except (OSError, ValueError):
        return ""
    msg = data.get("message", data) if isinstance(data, dict) else {}
    if isinstance(msg, str):
        return msg
    if not isinstance(msg, dict):
        return ""
    info = msg.get("extraInfo", {}) if isinstance(msg.get("extraInfo"), dict) else {}
    stack = info.get("py_callstack") or ""
    text = msg.get("message") or ""
    return f"{stack}\n{text}" if stack and text not in stack else (stack or str(text))


def _walk(base: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name


def discover(root: str) -> tuple[list[TreeLog], list[str]]:
    """Every log under `root` (sorted so the earliest failure is read first) and notices."""
    notices: list[str] = []
    found: list[TreeLog] = []
    base = Path(root)
    paths = list(itertools.islice(_walk(base), MAX_FILES + 1))
    if len(paths) > MAX_FILES:
        notices.append(f"{root}: more than {MAX_FILES} files; the rest were not read")
    names = [(p, p.relative_to(base).as_posix()) for p in paths[:MAX_FILES]]
    # A PyTorchJob with a master pod numbers its workers from rank 1.
    has_master = any((pod := _pod_of(rel)) is not None and (pod_role(pod) or ("",))[0] == "master"
                     for _, rel in names)
    for p, rel in names:
        name = p.name
        if _FLIGHT.search(name) and not name.endswith(LOG_SUFFIXES[:4]):
            found.append(TreeLog(path=str(p), rank=dump_rank(name), kind="flight-dump", host=_dump_host(rel)))
        elif name == "error.json" or name.endswith("_error.json"):
            found.append(TreeLog(path=str(p), rank=_rank_of(rel, has_master=has_master), kind="error-file",
                                 timestamp=_error_timestamp(p)))
        elif name.endswith(LOG_SUFFIXES) or name in ("stdout", "stderr"):
            rank = _rank_of(rel, has_master=has_master)
            found.append(TreeLog(path=str(p), rank=rank, kind="rank-log" if rank is not None else "log"))
    if not found:
        notices.append(f"{root}: no log files (*.log, *.out, *.err, *.txt, error.json) found")
    return _ordered(found), notices


def _ordered(found: list[TreeLog]) -> list[TreeLog]:
    kinds = {"error-file": 0, "rank-log": 1, "log": 2, "flight-dump": 3}
    return sorted(found, key=lambda f: (kinds[f.kind], f.timestamp if f.timestamp is not None else float("inf"),
                                        f.rank if f.rank is not None else 1 << 30, f.path))
