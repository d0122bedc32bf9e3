"""The logs a launcher left in a folder, each with the rank it belongs to.

torchrun `--log-dir` writes `<run>/attempt_<N>/<local_rank>/{stdout,stderr}.log` and, with
`@record`, an `error.json` per failed rank; Slurm writes `slurm-<job>.out` or per-task files
(`%j_%t.out`); Kubernetes collections name files after pods (`...-worker-3.log`). `ddoctor
diagnose DIR` reads them all, in an order that puts the earliest real failure first: error files by
their timestamp, then the ranks' own output, then launcher-wide logs.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

MAX_FILES = 20_000
MAX_ERROR_FILE = 4 << 20
LOG_SUFFIXES = (".log", ".out", ".err", ".txt", ".gz")
_ATTEMPT = re.compile(r"(?:^|/)attempt_(?P<attempt>\d{1,6})/(?P<rank>\d{1,6})(?:/|$)")
_RANK_NAME = re.compile(r"(?:^|[^a-z])(?:rank|task|worker|proc|node)[-_]?(?P<rank>\d{1,6})(?:\D|$)", re.IGNORECASE)
_SLURM_TASK = re.compile(r"(?:^|/)(?:slurm-)?\d{1,12}_(?P<rank>\d{1,6})\.(?:out|err|log)$")
_FLIGHT = re.compile(r"(?:nccl_)?trace_rank_\d{1,6}|_fr_|flight", re.IGNORECASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class TreeLog:
    path: str
    rank: int | None
    kind: str  # error-file | rank-log | log
    timestamp: float | None = None  # when an error file says the failure happened


def _rank_of(rel: str) -> int | None:
    for rx in (_ATTEMPT, _SLURM_TASK, _RANK_NAME):
        m = rx.search(rel)
        if m:
            return int(m.group("rank"))
    return None


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


def discover(root: str) -> tuple[list[TreeLog], list[str]]:
    """Every log under `root` (sorted so the earliest failure is read first) and notices."""
    notices: list[str] = []
    found: list[TreeLog] = []
    base = Path(root)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        for name in sorted(filenames):
            if len(found) >= MAX_FILES:
                notices.append(f"{root}: more than {MAX_FILES} files; the rest were not read")
                return _ordered(found), notices
            p = Path(dirpath) / name
            rel = p.relative_to(base).as_posix()
            if _FLIGHT.search(name):
                continue  # flight-recorder dumps: `ddoctor diagnose --fr DIR`
            if name == "error.json" or name.endswith("_error.json"):
                found.append(TreeLog(path=str(p), rank=_rank_of(rel), kind="error-file", timestamp=_error_timestamp(p)))
            elif name.endswith(LOG_SUFFIXES) or name in ("stdout", "stderr"):
                rank = _rank_of(rel)
                found.append(TreeLog(path=str(p), rank=rank, kind="rank-log" if rank is not None else "log"))
    if not found:
        notices.append(f"{root}: no log files (*.log, *.out, *.err, *.txt, error.json) found")
    return _ordered(found), notices


def _ordered(found: list[TreeLog]) -> list[TreeLog]:
    kinds = {"error-file": 0, "rank-log": 1, "log": 2}
    return sorted(found, key=lambda f: (kinds[f.kind], f.timestamp if f.timestamp is not None else float("inf"),
                                        f.rank if f.rank is not None else 1 << 30, f.path))
