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

from ddoctor.cli.output import Output, error, stderr_console
from ddoctor.host.processes import kill_group
from ddoctor.model.report import EXIT_USAGE, Action, action_exit_code
from ddoctor.ranks.job import Job, pump


def run_job(*, cmd: list[str], preflight: bool, fmt: str, use_host: bool, no_color: bool,
            exit_codes: str = "default") -> int:
    """`exit_codes`: default passes the job's exit code through; slurm and kubeflow turn the outcome into
    that contract's code (kb/actions.py: drain, retry or stop, by the root cause)."""
    from ddoctor.kb.engine import Session

    if not cmd:
        error("give the command to run after --, e.g. ddoctor run -- torchrun --nproc_per_node 2 train.py")
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
    if rc != 0:
        if rc < 0:  # killed by a signal: say so the way torchrun's agent does, so the signal is diagnosed
            feed2, close2 = session.line_feeder("job status")
            feed2(f"failed (exitcode: {rc}) local_rank: 0 (pid: {proc.pid}) of binary: {cmd[0]}")
            close2()
        action = _report(session, fmt, use_host, no_color, exit_code, exit_codes)
    else:
        action = Action.CONTINUE
    if exit_codes == "default":
        return exit_code
    code = action_exit_code(action, exit_codes)
    if fmt != "json":
        sys.stderr.write(f"ddoctor: action {action.value} (exit {code} under --exit-codes {exit_codes}; "
                         f"the job exited with {exit_code})\n")
    return code


def _report(session, fmt: str, use_host: bool, no_color: bool, exit_code: int, exit_codes: str) -> Action:
    """Print the diagnosis on stderr; the action its root cause asks of a scheduler."""
    from ddoctor.host.summary import local_host_facts
    from ddoctor.kb.actions import failure_action
    from ddoctor.kb.tailor import tailor
    from ddoctor.redact import scrub_values
    from ddoctor.render import diagnose as r

    facts = None
    if use_host:
        try:
            facts = local_host_facts()
        except Exception:
            facts = None
    out = Output(no_color=no_color)
    result = scrub_values(session.result(tailor=lambda d: tailor(d, facts)), out.secrets)
    action = failure_action(result.diagnoses)
    if fmt == "json":
        contract = {} if exit_codes == "default" else {"action": action.value,
                                                       "exit_code": action_exit_code(action, exit_codes)}
        sys.stderr.write(r.render_json(result, host=None, hints=True, extra=contract) + "\n")
        return action
    console = stderr_console()
    console.print(f"[bold red]ddoctor: the job exited with code {exit_code}[/]")
    r.render_text(result, console, show_all=False, hints=True)
    return action


def _preflight(no_color: bool) -> int:
    from ddoctor.cli.check_cmd import run_check

    return run_check(ids=[], require=[], strict=False, fmt="text", verbose=False, list_only=False, nproc=None,
                     deep=False, use_cache=True, timeout=60, no_color=no_color, simulate=None, quiet=False)
