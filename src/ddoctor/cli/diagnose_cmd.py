"""`ddoctor diagnose`, `ddoctor explain`, `ddoctor signatures`: logs in, root cause and fix out."""

from __future__ import annotations

import gzip
import os
import sys

from ddoctor.cli.output import Output, error, stderr_console
from ddoctor.host.log_input import LogInputError
from ddoctor.model.report import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE

PROGRESS_MIN = 64 << 20


def run_diagnose(*, files: list[str], fmt: str, show_all: bool, use_host: bool, no_color: bool,
                 hints: bool = False, quiet: bool = False) -> int:
    from ddoctor.cli.log_inputs import read_logs
    from ddoctor.host.summary import local_host_facts
    from ddoctor.kb.engine import Session
    from ddoctor.kb.tailor import tailor
    from ddoctor.render import diagnose as r

    out = Output(no_color=no_color)
    paths = files or ["-"]
    if paths.count("-") > 1:
        error("stdin ('-') can be read only once")
        return EXIT_USAGE
    if "-" in paths and sys.stdin.isatty():
        error("no input: pipe a log into ddoctor diagnose (torchrun ... 2>&1 | ddoctor diagnose) or pass files")
        return EXIT_USAGE
    session = Session()
    from ddoctor.kb.loader import PLUGIN_PROBLEMS

    for problem in PLUGIN_PROBLEMS:
        error(problem)
    try:
        read_logs(session, paths, on_notice=error,
                  progress=lambda name, size: _progress_bar(name, size) if size >= PROGRESS_MIN else None)
    except LogInputError as exc:
        error(str(exc))
        return EXIT_USAGE
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        error(f"cannot read input: {exc}")
        return EXIT_USAGE
    if session.bytes_read == 0:
        error("nothing was read: the input is empty. Pipe both streams of the job (torchrun ... 2>&1 | ddoctor "
              "diagnose) or pass the log files")
        return EXIT_USAGE
    facts = None
    if use_host:
        try:
            facts = local_host_facts() if session.matcher.aggs or session.matcher.failure_evidence else None
        except Exception:  # host facts only refine advice; never fail a diagnosis over them
            facts = None
    from ddoctor.redact import scrub_values

    origin = session.origin.result()
    result = scrub_values(session.result(tailor=lambda d: tailor(d, facts, origin)), out.secrets)
    if fmt == "json":
        host = None if facts is None else {"system": facts.system, "machine": facts.machine,
                                           "torch": facts.torch_version, "nvidia_gpus": facts.nvidia_gpus,
                                           "driver": facts.driver_version}
        out.write(r.render_json(result, host=host, hints=hints))
    elif fmt == "markdown":
        out.write(r.render_markdown(result))
    elif fmt == "github":
        from ddoctor.render.github import diagnose_annotations

        out.write(diagnose_annotations(result))
    elif quiet:
        root = result.root
        out.write(f"{root.name}: {root.title}" if root else "no failure found")
    else:
        out.render(lambda console: r.render_text(result, console, show_all=show_all, hints=hints))
    return EXIT_PROBLEMS if result.diagnoses else EXIT_OK


class _progress_bar:
    """A rich progress bar on stderr for large files (only on a terminal)."""

    def __init__(self, name: str, total: int) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        self.p = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                          TransferSpeedColumn(), console=stderr_console(), transient=True)
        self.task = self.p.add_task(f"scanning {os.path.basename(name)}", total=total)
        self.p.start()

    def update(self, done: int) -> None:
        self.p.update(self.task, completed=done)

    def close(self) -> None:
        self.p.stop()


def run_explain(key: str, fmt: str, no_color: bool) -> int:
    from ddoctor.kb.loader import find_signature, load_signatures
    from ddoctor.render import diagnose as r
    from ddoctor.render.jsonout import envelope

    out = Output(no_color=no_color)
    from ddoctor.fix.rules import RULE_INFO

    rule = RULE_INFO.get(key.strip().upper())
    if rule is not None:
        from ddoctor.fix.hints import signatures_fixed_by
        from ddoctor.render.fix import rule_markdown

        fixes = signatures_fixed_by(rule.code, load_signatures())
        if fmt == "json":
            out.write(envelope("fix-rule", {**rule.to_dict(), "fixes": list(fixes)}))
        elif fmt == "markdown":
            out.write(rule_markdown(rule, fixes))
        else:
            from rich.markdown import Markdown

            out.render(lambda console: console.print(Markdown(rule_markdown(rule, fixes))))
        return EXIT_OK
    sig = find_signature(key)
    if sig is None:
        names = ", ".join(s.name for s in load_signatures())
        error(f"no signature named {key!r}; known: {names}")
        return EXIT_USAGE
    if fmt == "json":
        out.write(envelope("signature", sig.to_dict()))
    elif fmt == "markdown":
        out.write(r.signature_markdown(sig))
    else:
        out.render(lambda console: r.render_signature(sig, console))
    return EXIT_OK


def run_signatures(fmt: str, no_color: bool) -> int:
    from ddoctor.kb.loader import load_signatures
    from ddoctor.render import diagnose as r
    from ddoctor.render.jsonout import envelope

    sigs = load_signatures()
    out = Output(no_color=no_color)
    if fmt == "json":
        out.write(envelope("signatures", {"signatures": [s.to_dict() for s in sigs]}))
    else:
        out.render(lambda console: r.render_signature_table(sigs, console))
    return EXIT_OK


def run_fr(folder, fmt: str, no_color: bool) -> int:
    from ddoctor.parse.flight_recorder import analyze
    from ddoctor.render import flight_recorder as r

    out = Output(no_color=no_color)
    if not folder.is_dir():
        error(f"{folder}: not a directory of flight-recorder dumps")
        return EXIT_USAGE
    rep = analyze(folder)
    if not rep.ranks:
        error(f"{folder}: no rank dumps found (files named like trace_rank_0, nccl_trace_rank_1)")
        return EXIT_USAGE
    if fmt == "json":
        out.write(r.render_json(rep))
    else:
        out.render(lambda console: r.render_text(rep, console))
    return EXIT_PROBLEMS if rep.problems else EXIT_OK


def run_ras(args: list[str], fmt: str, no_color: bool, *, polls: int, interval: float) -> int:
    """`diagnose --ras [HOST:PORT]`: poll NCCL's RAS service and name the culprit ranks."""
    import time

    from ddoctor.host.nccl_ras import DEFAULT_ADDRESS, RasError, parse_address, query
    from ddoctor.parse.ras import RasFormatError, analyze, parse_snapshot
    from ddoctor.render import ras as r

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
    if fmt == "json":
        out.write(r.render_json(report))
    else:
        out.render(lambda console: r.render_text(report, console))
    if report.state == "unreachable":
        return EXIT_USAGE  # nothing answered: ddoctor could not look, which is not a verdict on the job
    return EXIT_OK if report.state in ("healthy", "progressing") else EXIT_PROBLEMS
