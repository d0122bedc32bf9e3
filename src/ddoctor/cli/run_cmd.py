"""`ddoctor run -- CMD...`: run a job, pass its output through unchanged, diagnose it if it fails.

The job runs in its own process session (through `ranks.job`, so even a `kill -9` of ddoctor takes
its main process down). Its output is copied to our stdout/stderr in chunks as it arrives (progress
bars drawn with `\r` pass at once) and fed, line by line, to the streaming diagnosis engine, so
memory stays bounded however long the job runs or its lines are. The exit code is the job's
(128+N for a signal), or a scheduler contract's with `--exit-codes`. With `--report FILE` the
result also goes to a file (json by default): a JSON document never mixes into the job's streams.

While it runs, its process tree is read every couple of seconds (`hang.watch`): with
`--hang-timeout`, a job that printed nothing new for that long is snapshotted (every rank's stack,
the rank the others wait for), reported, and stopped (exit 124). Ctrl-C takes the same snapshot
first, then forwards SIGINT to the job (a second Ctrl-C kills it) and exits 130: an interrupt is
the user's, never a failure to diagnose. A job killed by SIGKILL is attributed from the kernel's
evidence (the cgroup's OOM-kill count, the kernel log). Whatever the job leaves running is stopped.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ddoctor.cli.output import Output, error, message
from ddoctor.host.processes import kill_group
from ddoctor.model.report import EXIT_USAGE, Action, action_exit_code
from ddoctor.ranks.job import GRACE_S, Job, pump

EXIT_HUNG = 124  # as GNU timeout: the job was stopped by ddoctor, not by itself
EXIT_INTERRUPTED = 130
TAIL_LINES = 400
SNAPSHOT_S = 20.0
INTERRUPT_SNAPSHOT_S = 8.0  # a user who pressed Ctrl-C waits for it
POLL_S = 0.25


def run_job(*, cmd: list[str], preflight: bool, fmt: str | None, use_host: bool, no_color: bool,
            report: Path | None = None, exit_codes: str = "default", hang_timeout: float | None = None,
            bundle: Path | None = None) -> int:
    """`fmt` is the format of the `--report` file (json by default); without --report only text goes to
    stderr after the job's own output. `exit_codes`: default passes the job's exit code through; slurm
    and kubeflow turn the outcome into that contract's code (kb/actions.py: drain, retry or stop, by the
    root cause; a hang is stop)."""
    from ddoctor.kb.engine import Session
    from ddoctor.ranks.activity import ActivityClock

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
    if bundle is not None:
        from ddoctor.cli.snapshot_cmd import bundle_problem

        if msg := bundle_problem(bundle):
            error(msg)
            return EXIT_USAGE
    if preflight:
        code = _preflight(no_color)
        if code:
            error("preflight found problems (above); not starting the job")
            return code
    session = Session()
    feed, close = session.line_feeder("job")
    lock = threading.Lock()
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    clock = ActivityClock()
    job = Job()
    try:
        proc = job.spawn(cmd, None, stdin=None, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        error(f"cannot start {cmd[0]}: {exc.strerror or exc}")
        return 127 if isinstance(exc, FileNotFoundError) else 126
    from ddoctor.hang.watch import JobWatch

    watch = JobWatch(proc.pid)

    def on_line(text: str) -> None:
        with lock:
            feed(text)
            tail.append(text)

    tick = clock.feed if hang_timeout else None
    threads = [threading.Thread(target=pump, args=(proc.stdout, sys.stdout.buffer, on_line, tick), daemon=True),
               threading.Thread(target=pump, args=(proc.stderr, sys.stderr.buffer, on_line, tick), daemon=True)]
    for t in threads:
        t.start()
    interrupts = [0]
    interrupted = threading.Event()

    def on_signal(signum, frame):
        interrupts[0] += 1
        if signum == signal.SIGINT and interrupts[0] == 1:
            interrupted.set()  # the main loop snapshots the job, then forwards it
            return
        kill_group(proc.pid, signum if interrupts[0] == 1 else signal.SIGKILL)

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    ending = None  # "hang" | "interrupt"
    snap = None
    rc: int | None = None
    out = Output(no_color=no_color)
    try:
        while rc is None:
            try:
                rc = proc.wait(timeout=POLL_S)
                break
            except subprocess.TimeoutExpired:
                pass
            watch.poll()
            if interrupted.is_set():
                ending = "interrupt"
                break
            if hang_timeout and clock.quiet() >= hang_timeout:
                ending = "hang"
                break
        if ending == "hang":
            sys.stderr.write(f"ddoctor: no progress for {clock.quiet():.0f} s; reading every rank's stack "
                             f"(at most {SNAPSHOT_S:.0f} s)...\n")
            sys.stderr.flush()
            snap = watch.snapshot(trigger="hang-timeout", timeout=SNAPSHOT_S, quiet_s=clock.quiet())
        elif ending == "interrupt":
            snap = _interrupt(proc, watch, tail, lock, interrupts)
            rc = proc.poll()
        else:
            job.linger()
    finally:
        job.stop()
        leftovers = watch.kill_leftovers()
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
    for t in threads:
        t.join(timeout=5)
    close()
    if snap is not None:
        from ddoctor.cli.snapshot_cmd import emit

        emit(snap, "text", out, to_stderr=True)
        if report is not None:
            try:
                out.report(report, "snapshot", fmt or "json", snap)
            except OSError as exc:
                error(f"cannot write --report {report}: {exc.strerror or exc}")
        if bundle is not None:
            from ddoctor.cli.snapshot_cmd import write

            with lock:
                lines = list(tail)
            write(bundle, snap, logs={"job-output": lines}, out=out)
        if leftovers:
            sys.stderr.write(f"ddoctor: killed {len(leftovers)} process(es) the job left running\n")
        if ending == "hang":
            # Under a scheduler's contract a hang is not known to be transient: retrying would hang again.
            code = EXIT_HUNG if exit_codes == "default" else action_exit_code(Action.STOP, exit_codes)
            sys.stderr.write(f"ddoctor: stopped the job after {hang_timeout:g} s without progress "
                             f"(exit code {code})\n")
            return code
        sys.stderr.write(f"ddoctor: interrupted; the job was stopped (exit code {EXIT_INTERRUPTED})\n")
        return EXIT_INTERRUPTED
    assert rc is not None
    exit_code = rc if rc >= 0 else 128 - rc
    action = Action.CONTINUE
    if rc != 0 or report is not None:
        with lock:
            lines = list(tail)
        kill = _sigkill_cause(watch, rc, proc.pid, lines) if rc != 0 else None
        if rc < 0:  # killed by a signal: say so the way torchrun's agent does, so the signal is diagnosed
            feed2, close2 = session.line_feeder("job status")
            feed2(f"failed (exitcode: {rc}) local_rank: 0 (pid: {proc.pid}) of binary: {cmd[0]}")
            close2()
        if kill is not None and kill.verdict == "oom-killer":
            feed3, close3 = session.line_feeder("kernel log")
            for e in kill.evidence:
                feed3(e)
            close3()
        action = _report(session, cmd, fmt, use_host and rc != 0, no_color, exit_code, report, exit_codes, kill)
    if exit_codes == "default":
        return exit_code
    code = action_exit_code(action, exit_codes)
    message(f"ddoctor: action {action.value} (exit {code} under --exit-codes {exit_codes}; the job exited "
            f"with {exit_code})")
    return code


def _interrupt(proc, watch, tail, lock, interrupts):
    """Ctrl-C: where each rank was (py-spy before SIGINT reaches the job; else the KeyboardInterrupt
    tracebacks the ranks print), then the job stopped."""
    from ddoctor.hang.snapshot import Options

    sys.stderr.write("ddoctor: interrupted; reading where each rank is before passing Ctrl-C on "
                     "(Ctrl-C again to kill the job now)...\n")
    sys.stderr.flush()
    view = watch.view()
    have_pyspy = Options().pyspy is not None
    snap = None
    if have_pyspy and (view.ranks or view.lone):
        snap = watch.snapshot(trigger="interrupt", timeout=INTERRUPT_SNAPSHOT_S, view=view)
    kill_group(proc.pid, signal.SIGINT)
    forwarders = {p.pid for _, p in view.launchers}  # torchrun, mpirun, ... pass SIGINT on to their ranks
    for r in view.ranks:
        try:
            if r.info.ppid not in forwarders and os.getpgid(r.info.pid) != proc.pid:
                os.kill(r.info.pid, signal.SIGINT)  # outside the job's group, under no launcher that forwards
        except OSError:
            pass
    deadline = time.monotonic() + GRACE_S
    while proc.poll() is None and time.monotonic() < deadline and interrupts[0] < 2:
        time.sleep(0.05)
    if snap is not None and any(r.threads for r in snap.ranks):
        return snap
    time.sleep(0.2)  # the pumps hand over the last lines
    with lock:
        lines = list(tail)
    fallback = _interrupt_stacks(lines)
    notes = () if fallback else ("no KeyboardInterrupt traceback was printed with a rank to place it",)
    return watch.snapshot(trigger="interrupt", timeout=3.0, view=view, fallback=fallback, notes=notes)


def _interrupt_stacks(lines):
    from ddoctor.hang.analyze import stacks_from_tracebacks
    from ddoctor.parse.parser import LogParser

    tbs = []
    parser = LogParser(lambda *_a: None, tbs.append, lambda _f: None)
    for i, line in enumerate(lines, 1):
        parser.feed(i, line)
    parser.close()
    return stacks_from_tracebacks(tbs)


def _sigkill_cause(watch, rc: int, pid: int, lines):
    """Who sent the SIGKILL that ended the job or one of its ranks (None: no SIGKILL)."""
    from ddoctor.parse.parser import LogParser

    failures = []
    parser = LogParser(lambda *_a: None, lambda _t: None, failures.append)
    for i, line in enumerate(lines, 1):
        parser.feed(i, line)
    parser.close()
    killed = [f for f in failures if f.exitcode in (-9, 137) or f.signal == "SIGKILL"]
    if rc != -signal.SIGKILL and not killed:
        return None
    pids = {f.pid for f in killed if f.pid} or {pid}
    return watch.kills.attribute(pids | set(watch.rank_pids()))


def _report(session, cmd: list[str], fmt: str | None, use_host: bool, no_color: bool, exit_code: int,
            path: Path | None, exit_codes: str, kill=None) -> Action:
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
    if kill is not None and kill.verdict == "not-oom":
        # The kernel's own evidence rules the OOM killer out: its diagnosis would send the user the wrong way.
        diagnosis = replace(diagnosis, diagnoses=tuple(d for d in diagnosis.diagnoses if d.name != "host-oom-killed"))
    action = failure_action(diagnosis.diagnoses) if exit_code != 0 else Action.CONTINUE
    contract = None if exit_codes == "default" else (action, action_exit_code(action, exit_codes))
    result = RunReport(command=tuple(cmd), exit_code=exit_code, diagnosis=diagnosis, contract=contract, sigkill=kill)
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
