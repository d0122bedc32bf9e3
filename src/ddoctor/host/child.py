"""Run a Python helper in a child process with a hard deadline, and read what it printed.

The child is started through `host.processes` (own session, parent-death signal, registered for
exit-time cleanup), so a timeout kills it and anything it started; nothing is left behind, and
ddoctor never waits on a call that blocks inside C.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass

from ddoctor.host.processes import kill_group, release, spawn


@dataclass(frozen=True, slots=True)
class ChildResult:
    messages: tuple[dict, ...]
    returncode: int | None
    timed_out: bool
    stderr_tail: str
    garbage: tuple[str, ...]  # stdout lines that were not JSON objects


def _kill_tree(proc: subprocess.Popen) -> None:
    kill_group(proc.pid)

# After the child exits (or is killed), how long a grandchild that escaped the kill may keep the output
# pipes open before ddoctor stops reading and closes them.
PIPE_GRACE_S = 0.5
MAX_STDOUT = 16 << 20  # a child printing without end must not grow ddoctor's memory without bound
MAX_STDERR_TAIL = 64 << 10


def _collect(proc: subprocess.Popen, timeout: float) -> tuple[bytes, bytes, bool]:
    """Read stdout and stderr until both close, the child is gone and a grace period has passed, or the
    deadline: a grandchild in its own session holding the pipes can never keep ddoctor waiting."""
    import selectors
    import time

    start = time.monotonic()
    deadline = start + timeout
    out, err = bytearray(), bytearray()
    bufs = {proc.stdout.fileno(): out, proc.stderr.fileno(): err}
    sel = selectors.DefaultSelector()
    for stream in (proc.stdout, proc.stderr):
        sel.register(stream, selectors.EVENT_READ)
    timed_out = False
    ended_at = None  # when the child exited or was killed
    while sel.get_map():
        now = time.monotonic()
        if ended_at is None and proc.poll() is not None:
            ended_at = now
        if ended_at is None and now >= deadline:
            timed_out = True
            _kill_tree(proc)
            ended_at = now
        limit = deadline if ended_at is None else ended_at + PIPE_GRACE_S
        if now >= limit:
            break
        for key, _ in sel.select(timeout=min(limit - now, 0.25)):
            data = os.read(key.fd, 1 << 16)
            if not data:
                sel.unregister(key.fileobj)
                continue
            buf = bufs[key.fd]
            if buf is out:
                out.extend(data[: max(0, MAX_STDOUT - len(out))])
            else:
                err.extend(data)
                del err[:-MAX_STDERR_TAIL]
    sel.close()
    for stream in (proc.stdout, proc.stderr):
        stream.close()
    try:
        proc.wait(timeout=PIPE_GRACE_S if timed_out or ended_at is not None else max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_tree(proc)
        proc.wait(timeout=PIPE_GRACE_S)
    return bytes(out), bytes(err), timed_out


@dataclass(frozen=True, slots=True)
class CommandResult:
    stdout: str
    stderr: str
    returncode: int | None
    timed_out: bool


def run_command(argv: list[str], *, timeout: float, env: dict | None = None) -> CommandResult:
    """Run a tool (py-spy, ...) with a hard deadline: killed with its group when it overruns."""
    proc = spawn(argv, env=env)
    try:
        out, err, timed_out = _collect(proc, timeout)
    finally:
        if proc.poll() is None:
            _kill_tree(proc)
            proc.wait()
        release(proc)
    return CommandResult(stdout=out.decode(errors="replace"), stderr=err.decode(errors="replace")[-4000:],
                         returncode=proc.returncode, timed_out=timed_out)


def start_python_child(script: str, args: list[str], *, env: dict | None = None,
                       python: str | None = None) -> subprocess.Popen:
    """Start a helper in its own session (so a kill takes its whole process group); see finish_python_child."""
    return spawn([python or sys.executable, script, *args], env=env)


def run_python_child(script: str, args: list[str], *, timeout: float, env: dict | None = None,
                     python: str | None = None) -> ChildResult:
    return finish_python_child(start_python_child(script, args, env=env, python=python), timeout=timeout)


def finish_python_child(proc: subprocess.Popen, *, timeout: float) -> ChildResult:
    """Collect a started helper's output within `timeout` seconds (killing it after) and parse it."""
    try:
        raw_out, raw_err, timed_out = _collect(proc, timeout)
    finally:
        if proc.poll() is None:  # interrupted (KeyboardInterrupt) while waiting
            _kill_tree(proc)
        release(proc)
    out = raw_out.decode(errors="replace")
    err = raw_err.decode(errors="replace")
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
