"""Every process ddoctor starts, and every scratch directory it makes, in one registry.

Each child starts in its own session (so a stop kills it and whatever it started, as a group) and,
on Linux, with the parent-death signal set, so even a `kill -9` of ddoctor takes it down. The exit-
time cleanup (`cleanup()`, run at exit and on SIGTERM) kills every group still registered and
removes every scratch directory: nothing ddoctor started outlives it.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

_LIVE: set[subprocess.Popen[Any]] = set()
_SCRATCH: set[Path] = set()
_LOCK = threading.Lock()
_PR_SET_PDEATHSIG = 1


@functools.cache
def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # libc, already loaded into this interpreter
    except (OSError, AttributeError):
        return None


def _parent_death_hook() -> Callable[[], None] | None:
    """A preexec function asking the kernel to SIGKILL the child when its parent dies (Linux).

    The kernel sends it when the *thread* that forked the child ends, so children must be started
    from a thread that outlives them (the main thread, or a thread that waits for the child).
    """
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return hook


Stream = int | IO[Any] | None


def spawn(argv: Sequence[str], *, env: Mapping[str, str] | None = None, stdin: Stream = subprocess.DEVNULL,
          stdout: Stream = subprocess.PIPE, stderr: Stream = subprocess.PIPE, text: bool = False,
          bufsize: int = -1) -> subprocess.Popen[Any]:
    """Start `argv` in a new session, tied to ddoctor's life, and register it for exit-time cleanup."""
    hook = _parent_death_hook()
    kw: dict[str, Any] = {"text": True, "errors": "replace"} if text else {}
    if hook is not None:
        # preexec_fn runs between fork and exec; the hook makes no allocation-heavy calls.
        kw["preexec_fn"] = hook
    proc = subprocess.Popen(list(argv), stdin=stdin, stdout=stdout, stderr=stderr,
                            env=dict(env) if env is not None else None, start_new_session=True, bufsize=bufsize, **kw)
    with _LOCK:
        _LIVE.add(proc)
    return proc


def release(proc: subprocess.Popen[Any]) -> None:
    """Forget a child that has exited and been waited for."""
    with _LOCK:
        _LIVE.discard(proc)


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> bool:
    """Signal a whole process group; False when nothing is left in it."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def group_alive(pgid: int) -> bool:
    return kill_group(pgid, 0)


def descendants(pid: int) -> tuple[int, ...]:
    """Every live process below `pid` (children, grandchildren, ...)."""
    import psutil

    try:
        return tuple(p.pid for p in psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return ()


def scratch_dir(prefix: str, parent: str | Path | None = None) -> Path:
    """A new private directory that exit-time cleanup removes if its owner could not."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    with _LOCK:
        _SCRATCH.add(path)
    return path


def remove_scratch(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    with _LOCK:
        _SCRATCH.discard(path)


def keep_scratch(path: Path) -> None:
    """The user asked to keep it (`--keep`): exit-time cleanup leaves it alone."""
    with _LOCK:
        _SCRATCH.discard(path)


def cleanup() -> int:
    """Kill every registered child's group and remove every scratch directory; returns the children."""
    with _LOCK:
        live, scratch = list(_LIVE), list(_SCRATCH)
    for p in live:
        kill_group(p.pid)  # also when the leader is gone: what it started may still run in its group
    for p in live:
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            p.wait(timeout=2)
        release(p)
    for path in scratch:
        remove_scratch(path)
    return len(live)
