"""`ddoctor diagnose`, `ddoctor explain`, `ddoctor signatures`: logs in, root cause and fix out."""

from __future__ import annotations

import gzip
import os
import sys
from dataclasses import replace

from ddoctor.cli.output import Output, error, message, stderr_console
from ddoctor.host.log_input import LogInputError
from ddoctor.model.exit_codes import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE

PROGRESS_MIN = 64 << 20
EMPTY = ("nothing was read: the input is empty. Did the job's errors reach the pipe? Pipe both streams of the "
         "job (torchrun ... 2>&1 | ddoctor diagnose) or pass the log files")


def run_diagnose(*, files: list[str], fmt: str, show_all: bool, use_host: bool, no_color: bool,
                 hints: bool = False, quiet: bool = False) -> int:
    from ddoctor.cli.log_inputs import read_logs
    from ddoctor.kb.engine import Session
    from ddoctor.kb.tailor import tailor
    from ddoctor.model.diagnosis import DiagnoseHost
    from ddoctor.render.options import RenderOptions

    out = Output(no_color=no_color)
    paths = files or ["-"]
    if paths.count("-") > 1:
        error("stdin ('-') can be read only once")
        return EXIT_USAGE
    if "-" in paths and sys.stdin.isatty():
        message("Paste the log, then press Ctrl-D on an empty line (Ctrl-C cancels). Next time: "
                "torchrun ... 2>&1 | ddoctor diagnose, or ddoctor diagnose FILE")
    session = Session()
    from ddoctor.kb.loader import PLUGIN_PROBLEMS

    for problem in PLUGIN_PROBLEMS:
        error(problem)
    try:
        read_logs(session, paths, on_notice=error,
                  progress=lambda name, size: _ProgressBar(name, size) if size >= PROGRESS_MIN else None)
    except LogInputError as exc:
        error(str(exc))
        return EXIT_USAGE
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        error(f"cannot read input: {exc}")
        return EXIT_USAGE
    if session.bytes_read == 0:
        error(EMPTY)
        return EXIT_USAGE
    facts = None
    if use_host:
        from ddoctor.host.summary import local_host_facts

        try:
            facts = local_host_facts() if session.matcher.aggs or session.matcher.failure_evidence else None
        except Exception:  # host facts only refine advice; never fail a diagnosis over them
            facts = None
    origin = session.origin.result()
    result = replace(session.result(tailor=lambda d: tailor(d, facts, origin)), host=DiagnoseHost.of(facts))
    out.emit("diagnosis", fmt, result, RenderOptions(show_all=show_all, hints=hints, quiet=quiet))
    return EXIT_PROBLEMS if result.diagnoses else EXIT_OK


class _ProgressBar:
    """A rich progress bar on stderr for large files (only on a terminal)."""

    def __init__(self, name: str, total: int) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        self.p = Progress("{task.description}", BarColumn(), DownloadColumn(),
                          TransferSpeedColumn(), console=stderr_console(), transient=True)
        self.task = self.p.add_task(f"scanning {os.path.basename(name)}", total=total)
        self.p.start()

    def update(self, done: int) -> None:
        self.p.update(self.task, completed=done)

    def close(self) -> None:
        self.p.stop()


def run_explain(key: str, fmt: str, no_color: bool) -> int:
    from ddoctor.fix.rules import RULE_INFO
    from ddoctor.kb.loader import find_signature, load_signatures

    out = Output(no_color=no_color)
    rule = RULE_INFO.get(key.strip().upper())
    if rule is not None:
        from ddoctor.fix.hints import signatures_fixed_by
        from ddoctor.model.fix import ExplainedRule

        out.emit("fix-rule", fmt, ExplainedRule(info=rule, fixes=tuple(signatures_fixed_by(rule.code,
                                                                                           load_signatures()))))
        return EXIT_OK
    sig = find_signature(key)
    if sig is None:
        names = ", ".join(s.name for s in load_signatures())
        error(f"no signature or fix rule named {key!r}; known: {names}, DDF001-DDF006 "
              "(`ddoctor signatures` lists them)")
        return EXIT_USAGE
    out.emit("signature", fmt, sig)
    return EXIT_OK


def run_signatures(fmt: str, no_color: bool) -> int:
    from ddoctor.kb.loader import load_signatures
    from ddoctor.model.diagnosis import SignatureList

    Output(no_color=no_color).emit("signatures", fmt, SignatureList(signatures=tuple(load_signatures())))
    return EXIT_OK


def run_fr(folder, fmt: str, no_color: bool) -> int:
    from ddoctor.parse.flight_recorder import analyze
    from ddoctor.render.catalog import Format, usage_error

    out = Output(no_color=no_color)
    problem = usage_error("fr", Format(fmt))
    if problem:
        error(problem)
        return EXIT_USAGE
    if not folder.is_dir():
        error(f"{folder}: not a directory of flight-recorder dumps")
        return EXIT_USAGE
    rep = analyze(folder)
    if not rep.ranks:
        error(f"{folder}: no rank dumps found (files named like trace_rank_0, nccl_trace_rank_1)")
        return EXIT_USAGE
    out.emit("fr", fmt, rep)
    return EXIT_PROBLEMS if rep.problems else EXIT_OK


def run_ras(args: list[str], fmt: str, no_color: bool, *, polls: int, interval: float) -> int:
    """`diagnose --ras [HOST:PORT]`: poll NCCL's RAS service and name the culprit ranks."""
    import time

    from ddoctor.host.nccl_ras import DEFAULT_ADDRESS, RasError, parse_address, query
    from ddoctor.parse.ras import RasFormatError, analyze, parse_snapshot
    from ddoctor.render.catalog import Format, usage_error

    problem = usage_error("ras", Format(fmt))
    if problem:
        error(problem)
        return EXIT_USAGE
    if len(args) > 1:
        error("--ras takes one address (HOST:PORT), not log files")
        return EXIT_USAGE
    address = args[0] if args else DEFAULT_ADDRESS
    try:
        parse_address(address)
    except ValueError as exc:
        error(str(exc))
        return EXIT_USAGE
    out = Output(no_color=no_color)
    snaps, problems = [], []
    for i in range(polls):
        if i:
            time.sleep(interval)
        try:
            snaps.append(parse_snapshot(query(address)))
        except (RasError, RasFormatError) as exc:
            problems.append(str(exc))
            if not snaps:
                break  # nothing answers there: do not wait out every poll
    report = analyze(address, snaps, problems)
    out.emit("ras", fmt, report)
    if report.state == "unreachable":
        return EXIT_USAGE  # nothing answered: ddoctor could not look, which is not a verdict on the job
    return EXIT_OK if report.state in ("healthy", "progressing") else EXIT_PROBLEMS
