"""`py-spy dump --json` output -> each thread's Python stack (with the native frames it waits in).

py-spy prints a list of threads, each with its frames innermost first. With `--native` the list
mixes native frames (they carry the shared object as `module`, line 0) with Python ones; only the
native frames inside the innermost Python frame say something (`c10d::Work::wait`,
`pthread_cond_wait`), the rest is the interpreter's own machinery. Every field is checked before it
is used: the text comes from another program.
"""

from __future__ import annotations

import json
from typing import Any, TypeGuard

from ddoctor.model.hang import ThreadStack
from ddoctor.model.logs import Frame

MAX_THREADS = 512
MAX_FRAMES = 400
MAX_NATIVE = 8
MAX_TEXT = 2000


class PySpyFormatError(ValueError):
    """Not the JSON py-spy prints (another version, or an error message instead)."""


def _is_int(v: object) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _text(v: object) -> str | None:
    return v[:MAX_TEXT] if isinstance(v, str) else None


def parse_dump(text: str) -> dict[int, tuple[ThreadStack, ...]]:
    """pid -> its threads (a dump of one process, or of a process and its subprocesses)."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise PySpyFormatError(f"py-spy did not print JSON ({exc})") from None
    if not isinstance(doc, list):
        raise PySpyFormatError("py-spy's JSON is not a list of threads")
    out: dict[int, list[ThreadStack]] = {}
    for item in doc[:MAX_THREADS]:
        if not isinstance(item, dict):
            continue
        pid = item.get("pid")
        if not _is_int(pid):
            continue
        out.setdefault(pid, []).append(_thread(item))
    return {pid: tuple(threads) for pid, threads in out.items()}


_NOISE = ("pybind11::", "std::", "0x", "_Py", "Py", "__libc_", "__GI_", "clone")


def native_name(name: str) -> str | None:
    """A C++ symbol as people read it (`c10d::Work::wait`), or None for the interpreter's and the
    binding layer's own frames (pybind11 dispatch, std:: helpers, raw addresses)."""
    if name.startswith(_NOISE):
        return None
    out, depth = [], 0
    for ch in name:  # drop template arguments and parameter lists: they can run to kilobytes
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(ch)
    short = "".join(out).strip()
    return short[:120] or None


def _thread(item: dict[str, Any]) -> ThreadStack:
    frames: list[Frame] = []
    native: list[str] = []
    raw = item.get("frames")
    for f in raw[:MAX_FRAMES] if isinstance(raw, list) else []:
        if not isinstance(f, dict):
            continue
        name = _text(f.get("name")) or "?"
        filename = _text(f.get("filename")) or "?"
        if f.get("module") is not None:  # a native frame: keep those the innermost Python frame waits in
            short = native_name(name)
            if not frames and len(native) < MAX_NATIVE and short:
                native.append(short)
            continue
        line = f.get("line")
        frames.append(Frame(filename=filename, lineno=line if _is_int(line) and line > 0 else None, function=name))
    tid = item.get("os_thread_id")
    if not _is_int(tid):
        tid = item.get("thread_id")
    return ThreadStack(name=_text(item.get("thread_name")) or "", thread_id=tid if _is_int(tid) else 0,
                       frames=tuple(frames), native=tuple(native), active=item.get("active") is True)
