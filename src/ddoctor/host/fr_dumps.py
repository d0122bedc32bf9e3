"""Flight-recorder dumps of a live job, where the job turned the recorder on.

With `TORCH_FR_BUFFER_SIZE` (or `TORCH_NCCL_TRACE_BUFFER_SIZE`) set, each rank records its last
collectives. `TORCH_NCCL_DEBUG_INFO_PIPE_FILE` makes every NCCL rank open a named pipe
`<stem><rank>.pipe` that its watchdog polls: writing to it asks the rank for a dump, written to
`<TORCH_FR_DUMP_TEMP_FILE or TORCH_NCCL_DEBUG_INFO_TEMP_FILE><rank>` (default
`/tmp/nccl_trace_rank_<rank>`). Dumps a rank already wrote since the job started (on a timeout,
`TORCH_NCCL_DUMP_ON_TIMEOUT`) are used as they are.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PREFIX = "/tmp/nccl_trace_rank_"


@dataclass(frozen=True, slots=True, kw_only=True)
class FrSetup:
    prefix: str  # dumps are <prefix><rank>
    pipe: str | None  # <pipe><rank>.pipe asks a rank for a dump


def setup(env: Mapping[str, str]) -> FrSetup | None:
    """The rank's recorder settings, or None when the recorder is off."""
    size = env.get("TORCH_FR_BUFFER_SIZE") or env.get("TORCH_NCCL_TRACE_BUFFER_SIZE") or "0"
    try:
        if int(size) <= 0:
            return None
    except ValueError:
        return None
    prefix = env.get("TORCH_FR_DUMP_TEMP_FILE") or env.get("TORCH_NCCL_DEBUG_INFO_TEMP_FILE") or DEFAULT_PREFIX
    return FrSetup(prefix=prefix, pipe=env.get("TORCH_NCCL_DEBUG_INFO_PIPE_FILE") or None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Collected:
    files: tuple[tuple[int, Path], ...]
    how: str
    notes: tuple[str, ...]


def _fresh(path: Path, since: float) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    return st.st_size > 0 and st.st_mtime >= since


def _ask(pipe: Path) -> str | None:
    """Write to a rank's dump pipe; the reason when it cannot be asked."""
    try:
        if not stat.S_ISFIFO(pipe.stat().st_mode):
            return f"{pipe} is not a named pipe"
        fd = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return f"{pipe} does not exist (the rank has no NCCL process group yet)"
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            return f"nobody reads {pipe} (the rank's watchdog is not running)"
        return f"{pipe}: {exc.strerror or exc}"
    try:
        os.write(fd, b"1\n")
    except OSError as exc:
        return f"{pipe}: {exc.strerror or exc}"
    finally:
        os.close(fd)
    return None


def collect(ranks: Mapping[int, FrSetup], *, job_started: float, deadline: float) -> Collected:
    """Ask every rank that has a dump pipe for a dump and wait for them (until `deadline`, monotonic);
    take the dumps the others already wrote since `job_started` (wall clock)."""
    notes: list[str] = []
    asked: dict[int, Path] = {}
    now_wall = time.time()
    for rank, s in sorted(ranks.items()):
        target = Path(f"{s.prefix}{rank}")
        if s.pipe:
            why = _ask(Path(f"{s.pipe}{rank}.pipe"))
            if why is None:
                asked[rank] = target
                continue
            notes.append(f"rank {rank}: {why}")
    files: dict[int, Path] = {r: Path(f"{s.prefix}{r}") for r, s in ranks.items()
                              if r not in asked and _fresh(Path(f"{s.prefix}{r}"), job_started)}
    sizes: dict[int, int] = {}
    while asked and time.monotonic() < deadline:
        for rank, target in list(asked.items()):
            if not _fresh(target, now_wall - 1):
                continue
            size = target.stat().st_size
            if sizes.get(rank) == size:  # the same size twice in a row: written out
                files[rank] = target
                del asked[rank]
            sizes[rank] = size
        time.sleep(0.1)
    if asked:
        notes.append(f"no dump arrived in time from rank(s) {', '.join(map(str, sorted(asked)))}")
    how = ("asked through TORCH_NCCL_DEBUG_INFO_PIPE_FILE" if any(s.pipe for s in ranks.values())
           else "dumps the ranks had written")
    return Collected(files=tuple(sorted(files.items())), how=how, notes=tuple(notes))
