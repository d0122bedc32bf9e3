"""`ddoctor snapshot [PID...]`: where every rank of a running job is, and which one the others wait for.

Also the shared half of `run --hang-timeout` and Ctrl-C under `run`: printing a snapshot, and the
`--bundle` archive (the snapshot, each rank's last lines, the check report), redacted.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from ddoctor.cli.output import Output, error, stderr_console
from ddoctor.model.hang import HangSnapshot
from ddoctor.model.report import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE

CHECK_TIMEOUT_S = 45.0


def _pids(values: Sequence[str]) -> list[int] | str:
    import psutil

    out = []
    for v in values:
        try:
            pid = int(v)
        except ValueError:
            return f"{v!r} is not a process id"
        if pid <= 0:
            return f"{v!r} is not a process id"
        if not psutil.pid_exists(pid):
            return f"no process with pid {pid}"
        out.append(pid)
    return out


def run_snapshot(*, pids: Sequence[str], fmt: str, timeout: float, native: bool, bundle: Path | None,
                 no_color: bool, ras: str | None, verbose: bool = False) -> int:
    from ddoctor.hang import snapshot as snap_mod
    from ddoctor.render.catalog import Format, usage_error

    if (msg := usage_error("snapshot", Format(fmt))) is not None:
        error(msg)
        return EXIT_USAGE
    chosen = _pids(pids)
    if isinstance(chosen, str):
        error(chosen)
        return EXIT_USAGE
    if bundle is not None and (msg := bundle_problem(bundle)):
        error(msg)
        return EXIT_USAGE
    try:
        view = snap_mod.find(chosen or None)
    except snap_mod.NothingToSnapshot as exc:
        error(f"{exc}: pass the pid of the job's launcher (torchrun, mpirun) or of its ranks")
        return EXIT_USAGE
    except snap_mod.SeveralJobs as exc:
        lines = [f"  {key}: {len(v.ranks)} rank(s), pids {', '.join(str(r.info.pid) for r in v.ranks[:8])}"
                 for key, v in exc.jobs.items()]
        error(f"rank processes of {len(exc.jobs)} jobs are running; say which one with its pids "
              "(ddoctor snapshot PID...):\n" + "\n".join(lines))
        return EXIT_USAGE
    started = min((r.info.create_time for r in view.ranks), default=time.time())
    opts = snap_mod.Options(timeout=timeout, native=native, ras_address=ras, job_started=started)
    progress = _progress() if sys.stderr.isatty() and fmt == "text" else None
    snap = snap_mod.take(view, trigger="on-demand", opts=opts, on_progress=progress)
    out = Output(no_color=no_color)
    emit(snap, fmt, out, verbose=verbose)
    if bundle is not None:
        write(bundle, snap, logs={}, out=out)
    return EXIT_PROBLEMS if snap.problem else EXIT_OK


def _progress():
    console = stderr_console()
    return lambda text: console.print(f"[dim]snapshot: {text}…[/]")


def emit(snap: HangSnapshot, fmt: str, out: Output, *, verbose: bool = False, to_stderr: bool = False) -> None:
    """Print a snapshot through the format table (scrubbed, control characters made visible): on
    stdout, or on stderr for `run` (whose stdout is the job's)."""
    from ddoctor.render.options import RenderOptions

    out.emit("snapshot", fmt, snap, RenderOptions(verbose=verbose), to_stderr=to_stderr)


def bundle_problem(path: Path) -> str | None:
    """Why the bundle cannot be written there (checked before any work is done)."""
    p = path.expanduser()
    if not p.name.endswith((".tar.gz", ".tgz")):
        return f"--bundle {path}: name it FILE.tar.gz"
    if p.is_dir():
        return f"--bundle {path} is a directory"
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        return f"--bundle {path}: the folder {parent} does not exist"
    return None


def check_report(timeout: float = CHECK_TIMEOUT_S) -> str:
    """`ddoctor check --format json`, run in a child with a deadline (its own failure is reported inside)."""
    from ddoctor.host.child import run_command

    try:
        res = run_command([sys.executable, "-m", "ddoctor", "check", "--format", "json", "--timeout",
                           str(int(timeout))], timeout=timeout + 10)
    except OSError as exc:
        return f'{{"error": "ddoctor check could not start: {exc}"}}\n'
    if res.stdout.strip():
        return res.stdout
    return f'{{"error": "ddoctor check printed nothing (exit {res.returncode}): {res.stderr[-300:]!r}"}}\n'


def write(path: Path, snap: HangSnapshot, *, logs: Mapping[str, Sequence[str]], out: Output) -> None:
    """The bundle: snapshot.json, snapshot.txt, logs/<name>.log, check.json, README.txt; all redacted."""
    from rich.console import Console

    from ddoctor.host.bundle import write_bundle
    from ddoctor.redact import scrub_values
    from ddoctor.render import hang as r

    clean = scrub_values(snap, out.secrets)
    buf = io.StringIO()
    r.render_text(clean, Console(file=buf, no_color=True, width=120, highlight=False, emoji=False), verbose=True)
    members = {"README.txt": _readme(logs), "snapshot.json": r.render_json(clean) + "\n",
               "snapshot.txt": buf.getvalue()}
    for name, lines in logs.items():
        members[f"logs/{name}.log"] = "\n".join(lines) + "\n"
    if sys.stderr.isatty():
        stderr_console().print("[dim]bundle: running ddoctor check…[/]")
    members["check.json"] = check_report()
    try:
        written = write_bundle(path, members, out.secrets)
    except OSError as exc:
        error(f"cannot write the bundle {path}: {exc.strerror or exc}")
        return
    sys.stderr.write(f"ddoctor: bundle written to {written} (secrets redacted; attach it to the issue)\n")


def _readme(logs: Mapping[str, Sequence[str]]) -> str:
    names = "".join(f"  logs/{n}.log     the last {len(v)} lines of {n.replace('-', ' ')}\n" for n, v in logs.items())
    return ("ddoctor bundle: what a hung job looked like, for an issue report. Values that look like secrets\n"
            "(tokens, passwords, keys) were replaced with ***REDACTED*** before anything was written.\n\n"
            "  snapshot.txt   where each rank was, grouped by stack, and the rank the others waited for\n"
            "  snapshot.json  the same (schema ddoctor.snapshot/1)\n"
            f"{names}"
            "  check.json     ddoctor check of this host (schema ddoctor.check/1)\n")
