"""Run a Python helper in a child process with a hard deadline, and read what it printed.

The child gets its own process session so that a timeout kills it and anything it started;
nothing is left behind, and ddoctor never waits on a call that blocks inside C.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass

_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()


def kill_live_children() -> int:
    """Kill every helper child still running (Ctrl-C, SIGTERM, exit): none may outlive ddoctor."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for p in live:
        if p.poll() is None:
            _kill_tree(p)
    return len(live)


@dataclass(frozen=True, slots=True)
class ChildResult:
    messages: tuple[dict, ...]
    returncode: int | None
    timed_out: bool
    stderr_tail: str
    garbage: tuple[str, ...]  # stdout lines that were not JSON objects


def _kill_tree(proc: subprocess.Popen) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


def run_python_child(script: str, args: list[str], *, timeout: float, env: dict | None = None,
                     python: str | None = None) -> ChildResult:
    argv = [python or sys.executable, script, *args]
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
        text=True,
        errors="replace",
    )
    with _LIVE_LOCK:
        _LIVE.add(proc)
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_tree(proc)
        out, err = proc.communicate()
    finally:
        if proc.poll() is None:  # interrupted (KeyboardInterrupt) while waiting
            _kill_tree(proc)
        with _LIVE_LOCK:
            _LIVE.discard(proc)
    messages, garbage = [], []
    for line in out.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            garbage.append(line[:500])
            continue
        (messages if isinstance(obj, dict) else garbage).append(obj if isinstance(obj, dict) else line)
    return ChildResult(
        messages=tuple(messages),
        returncode=proc.returncode,
        timed_out=timed_out,
        stderr_tail=err[-4000:],
        garbage=tuple(garbage),
    )


def describe_exit(result: ChildResult) -> str:
    """A one-line reason for a child that did not finish cleanly."""
    rc = result.returncode
    if result.timed_out:
        return "timed out"
    if rc is not None and rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        return f"killed by {name}"
    tail = result.stderr_tail.strip().splitlines()
    return f"exited with code {rc}" + (f": {tail[-1]}" if tail else "")
