"""`ddoctor run -- CMD...`: run a job, pass its output through unchanged, diagnose it if it fails.

The job runs in its own process session (through `ranks.job`, so even a `kill -9` of ddoctor takes
its main process down): Ctrl-C is forwarded to its whole process group (a second Ctrl-C kills
it), and once its main process has exited, whatever it left running in its group gets a grace
period and is then stopped, so torchrun, its workers and background helpers never outlive the run.
Its output is copied to our stdout/stderr in chunks as it arrives (progress bars drawn with `\r`
pass at once) and fed, line by line, to the streaming diagnosis engine, so memory stays bounded
however long the job runs or its lines are. The exit code is the job's (128+N for a signal).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

from ddoctor.cli.output import Output, error, message
from ddoctor.host.processes import kill_group
from ddoctor.model.report import EXIT_USAGE, Action, action_exit_code
from ddoctor.ranks.job import Job, pump


def run_job(*, cmd: list[str], preflight: bool, fmt: str | None, use_host: bool, no_color: bool,
            report: Path | None = None, exit_codes: str = "default") -> int:
    """`fmt` is the format of the `--report` file (json by default); without --report only text goes to
    stderr after the job's own output, so a JSON document never mixes into the job's streams.
    `exit_codes`: default passes the job's exit code through; slurm and kubeflow turn the outcome into
    that contract's code (kb/actions.py: drain, retry or stop, by the root cause)."""
    from ddoctor.kb.engine import Session

    if not cmd:
        error("give the command to run after --, e.g. ddoctor run -- torchrun --nproc_per_node 2 train.py")
        return EXIT_USAGE
    if report is None and fmt not in (None, "text"):
        error(f"--format {fmt} needs --report FILE: the job's own output is on stdout and stderr, so "
              "ddoctor writes machine-readable results to a file (e.g. --report ddoctor.json)")
        return EXIT_USAGE
    if report is not None and not report.parent.is_dir():
        error(f"--report {report}: {report.parent} is not a directory")
        return EXIT_USAGE
    if preflight:
        code = _preflight(no_color)
        if code:
            error("preflight found problems (above); not starting the job")
            return code
    session = Session()
    feed, close = session.line_feeder("job")
    lock = threading.Lock()
    job = Job()
    try:
        proc = job.spawn(cmd, None, stdin=None, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        error(f"cannot start {cmd[0]}: {exc.strerror or exc}")
        return 127 if isinstance(exc, FileNotFoundError) else 126

    def on_line(text: str) -> None:
        with lock:
            feed(text)

    threads = [threading.Thread(target=pump, args=(proc.stdout, sys.stdout.buffer, on_line), daemon=True),
               threading.Thread(target=pump, args=(proc.stderr, sys.stderr.buffer, on_line), daemon=True)]
    for t in threads:
        t.start()
    interrupts = [0]

    def on_signal(signum, frame):
        interrupts[0] += 1
        kill_group(proc.pid, signum if interrupts[0] == 1 else signal.SIGKILL)

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    try:
        rc = proc.wait()
        job.linger()
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
        job.stop()
    for t in threads:
        t.join(timeout=5)
    close()
    exit_code = rc if rc >= 0 else 128 - rc
    if rc < 0:  # killed by a signal: say so the way torchrun's agent does, so the signal is diagnosed
        feed2, close2 = session.line_feeder("job status")
        feed2(f"failed (exitcode: {rc}) local_rank: 0 (pid: {proc.pid}) of binary: {cmd[0]}")
        close2()
    action = Action.CONTINUE
    if rc != 0 or report is not None:
        action = _report(session, cmd, fmt, use_host and rc != 0, no_color, exit_code, report, exit_codes)
    if exit_codes == "default":
        return exit_code
    code = action_exit_code(action, exit_codes)
    message(f"ddoctor: action {action.value} (exit {code} under --exit-codes {exit_codes}; the job exited "
            f"with {exit_code})")
    return code


def _report(session, cmd: list[str], fmt: str | None, use_host: bool, no_color: bool, exit_code: int,
            path: Path | None, exit_codes: str) -> Action:
    """The diagnosis as text on stderr when the job failed; the whole result into the --report file; the
    action its root cause asks of a scheduler."""
    from dataclasses import replace

    from ddoctor.host.summary import local_host_facts
    from ddoctor.kb.actions import failure_action
    from ddoctor.kb.tailor import tailor
    from ddoctor.model.diagnosis import DiagnoseHost
    from ddoctor.model.run import RunReport
    from ddoctor.render.options import RenderOptions

    facts = None
    if use_host:
        try:
            facts = local_host_facts()
        except Exception:  # host facts only refine advice
            facts = None
    out = Output(no_color=no_color)
    diagnosis = replace(session.result(tailor=lambda d: tailor(d, facts)), host=DiagnoseHost.of(facts))
    action = failure_action(diagnosis.diagnoses) if exit_code != 0 else Action.CONTINUE
    contract = None if exit_codes == "default" else (action, action_exit_code(action, exit_codes))
    result = RunReport(command=tuple(cmd), exit_code=exit_code, diagnosis=diagnosis, contract=contract)
    opts = RenderOptions(hints=True)
    if exit_code != 0:
        out.emit("run", "text", result, opts, to_stderr=True)
    if path is not None:
        try:
            out.report(path, "run", fmt or "json", result, opts)
        except OSError as exc:
            error(f"cannot write --report {path}: {exc.strerror or exc}")
    return action


def _preflight(no_color: bool) -> int:
    from ddoctor.cli.check_cmd import run_check

    return run_check(ids=[], require=[], strict=False, fmt="text", verbose=False, list_only=False, nproc=None,
                     deep=False, use_cache=True, timeout=60, no_color=no_color, simulate=None, quiet=False)
