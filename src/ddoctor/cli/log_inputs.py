"""Feed every input of `ddoctor diagnose` into a Session: files, stdin, FIFOs and log folders.

One input is open at a time (hundreds of rank files under a low `ulimit -n`); a folder is read as
a launcher's log tree (host/log_tree.py), each file with the rank it belongs to.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Protocol

from ddoctor.host.log_input import LogInputError, head_of, open_log
from ddoctor.host.log_tree import TreeLog, discover, error_file_text
from ddoctor.kb.engine import Session
from ddoctor.parse.reader import looks_binary


class Progress(Protocol):
    def update(self, done: int) -> None: ...

    def close(self) -> None: ...


ProgressFactory = Callable[[str, int], Progress | None]


def read_logs(session: Session, args: list[str], *, progress: ProgressFactory | None = None,
              on_notice: Callable[[str], None] = lambda _msg: None) -> None:
    """Raises LogInputError (a usage error) for input that cannot be a log."""
    import os

    for arg in args:
        if arg != "-" and os.path.isdir(arg):
            logs, notices = discover(arg)
            for n in notices:
                on_notice(n)
                session.notice(n)
            if not logs:
                raise LogInputError(f"{arg}: a folder with no log files in it (expected *.log, *.out, error.json)")
            for log in logs:
                if log.kind == "flight-dump":
                    continue
                if log.kind == "error-file":
                    session.add_text(error_file_text(log.path), log.path, rank=log.rank)
                else:
                    _read_one(session, log.path, progress, on_notice, rank=log.rank, in_tree=True)
            _read_dumps(session, arg, [log for log in logs if log.kind == "flight-dump"], on_notice)
            continue
        _read_one(session, arg, progress, on_notice)


def _read_one(session: Session, arg: str, progress: ProgressFactory | None, on_notice: Callable[[str], None], *,
              rank: int | None = None, in_tree: bool = False) -> None:
    inp = open_log(arg)
    try:
        if looks_binary(head_of(inp)):
            if in_tree:
                on_notice(f"{inp.name}: skipped (binary data, not a log)")
                return
            raise LogInputError(f"{inp.name}: looks like binary data, not a log (a checkpoint, core file or image?)")
        bar = progress(inp.name, inp.size) if progress and inp.size and sys.stderr.isatty() else None
        try:
            if inp.path is not None:
                inp.close()  # a regular file is reopened by path: large ones are scanned on every core
                session.add_path(inp.path, on_progress=bar.update if bar else None, rank=rank)
            else:
                session.add_stream(inp.stream, inp.name, on_progress=bar.update if bar else None, rank=rank)
        finally:
            if bar:
                bar.close()
        for notice in inp.notices:
            on_notice(notice)
            session.notice(notice)
    finally:
        inp.close()


def _read_dumps(session: Session, root: str, dumps: list[TreeLog], on_notice: Callable[[str], None]) -> None:
    """Flight-recorder dumps of the tree, compared across ranks (parse/flight_recorder.py); what they
    show joins the logs' evidence after them, so a rank's own error still comes first."""
    if not dumps:
        return
    from pathlib import Path

    from ddoctor.parse.flight_recorder import analyze_dumps

    by_rank: dict[int, TreeLog] = {}
    for d in dumps:
        if d.rank is None or d.rank in by_rank:
            on_notice(f"{d.path}: a flight-recorder dump without a rank of its own in its name; not compared")
            continue
        by_rank[d.rank] = d
    rep = analyze_dumps({r: Path(d.path) for r, d in by_rank.items()})
    for problem in rep.unreadable:
        on_notice(f"flight recorder: {problem}")
    hosts = {r: d.host for r, d in by_rank.items() if d.host}
    for p in rep.problems:
        where = ", ".join(f"rank {r} on {hosts[r]}" for r in p.ranks[:8] if r in hosts)
        text = f"Flight recorder: {p.text}" + (f" ({where})" if where and p.kind == "missing" else "")
        session.add_text(text + "\n", f"{root} (flight recorder)", rank=p.ranks[0] if p.kind == "missing" else None)
