"""py-spy, the well-kept way to read a running Python process's stack from outside (ptrace).

`py-spy dump --json --pid PID` pauses the process for a moment, reads every thread's stack and lets
it go on; `--native` adds the C/C++ frames (slower: it symbolises libtorch). It runs with a hard
deadline (a process in uninterruptible sleep can hold ptrace), and its failures are sorted into the
reasons a user can act on: not installed, attaching refused (ptrace), not a Python process.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from ddoctor.host.child import run_command

ENV = "DDOCTOR_PYSPY"  # the py-spy to use; empty: do not use py-spy


@dataclass(frozen=True, slots=True, kw_only=True)
class Dump:
    text: str | None  # py-spy's JSON
    error: str | None = None  # why there is none, in words
    refused: bool = False  # the kernel refused to let py-spy attach (ptrace)


def find(environ: dict[str, str] | None = None) -> str | None:
    """The py-spy to run: $DDOCTOR_PYSPY, else on PATH, else next to this interpreter (a venv's bin/)."""
    env = os.environ if environ is None else environ
    if ENV in env:
        chosen = env[ENV].strip()
        return chosen if chosen and (shutil.which(chosen) or os.access(chosen, os.X_OK)) else None
    found = shutil.which("py-spy")
    if found:
        return found
    beside = Path(sys.executable).parent / ("py-spy.exe" if os.name == "nt" else "py-spy")
    return str(beside) if beside.exists() else None


def missing_reason(environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    if ENV in env:
        value = env[ENV].strip()
        return f"{ENV} is empty: py-spy is not used" if not value else f"{ENV}={value} is not an executable"
    return "py-spy is not installed (pip install py-spy)"


def ptrace_hint() -> str:
    """What stops ptrace on this host, and the way out."""
    scope = None
    try:
        scope = Path("/proc/sys/kernel/yama/ptrace_scope").read_text().strip()
    except OSError:
        pass
    if scope and scope != "0":
        return (f"kernel.yama.ptrace_scope is {scope}: run ddoctor as root, or allow it with "
                "`sudo sysctl kernel.yama.ptrace_scope=0`")
    return ("run ddoctor as the job's user or as root; in a container add the SYS_PTRACE capability "
            "(docker run --cap-add SYS_PTRACE, or securityContext.capabilities.add: [SYS_PTRACE])")


def dump(exe: str, pid: int, *, native: bool, timeout: float) -> Dump:
    argv = [exe, "dump", "--json", "--pid", str(pid)] + (["--native"] if native else [])
    try:
        res = run_command(argv, timeout=max(0.2, timeout))
    except OSError as exc:
        return Dump(text=None, error=f"cannot run py-spy ({exc.strerror or exc})")
    if res.timed_out:
        return Dump(text=None, error=f"py-spy did not answer within {timeout:.0f} s")
    if res.returncode == 0 and res.stdout.strip():
        return Dump(text=res.stdout)
    err = " ".join(res.stderr.split())
    low = err.lower()
    if "permission denied" in low or "operation not permitted" in low or "os error 1)" in low:
        return Dump(text=None, error=f"py-spy may not attach (ptrace refused): {ptrace_hint()}", refused=True)
    if "no such process" in low or "os error 3)" in low:
        return Dump(text=None, error="the process exited before py-spy reached it")
    if "python version" in low or "python interpreter" in low:
        return Dump(text=None, error="not a Python process (or an interpreter py-spy cannot read)")
    first = err.split("Stack backtrace:")[0].strip() or f"exit code {res.returncode}"
    return Dump(text=None, error=f"py-spy failed: {first[:300]}")
