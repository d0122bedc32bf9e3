"""Feed every input of `ddoctor diagnose` into a Session: files, stdin, FIFOs and log folders.

One input is open at a time (hundreds of rank files under a low `ulimit -n`); a folder is read as
a launcher's log tree (host/log_tree.py), each file with the rank it belongs to.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Protocol

from ddoctor.host.log_input import LogInputError, head_of, open_log
from ddoctor.host.log_tree import discover, error_file_text
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
                if log.kind == "error-file":
                    session.add_text(error_file_text(log.path), log.path, rank=log.rank)
                else:
                    _read_one(session, log.path, progress, on_notice, rank=log.rank, in_tree=True)
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
