"""`ddoctor fix`: show (or apply) the codemods that remove distributed/device failure causes.

Diffs are written to stdout as bytes, never through rich: a console would wrap or crop them at its
width and drop carriage returns, and then `git apply` would corrupt the file. A diff that holds a
credential-shaped string is withheld (the file is named) rather than printed or printed redacted.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace

from ddoctor.cli.output import Output, error
from ddoctor.model.fix import FileFix
from ddoctor.model.report import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE


def run_fix(*, paths: list[str], write: bool, unsafe: bool, select: list[str], ignore: list[str], fmt: str,
            show_diff: bool, diff_only: bool, no_color: bool, list_rules: bool) -> int:
    from ddoctor.fix.engine import select_rules
    from ddoctor.fix.rules import RULE_INFO
    from ddoctor.fix.runner import fix_paths
    from ddoctor.render import fix as r
    from ddoctor.render.catalog import Format, usage_error

    out = Output(no_color=no_color)
    problem = usage_error("fix-rules" if list_rules else "fix", Format(fmt))
    if problem:
        error(problem)
        return EXIT_USAGE
    if list_rules:
        out.emit("fix-rules", fmt, tuple(RULE_INFO.values()))
        return EXIT_OK
    if not paths:
        error("give files or directories to check (e.g. ddoctor fix train.py llama/)")
        return EXIT_USAGE
    if diff_only and (write or fmt != "text"):
        error("--diff prints the diff alone; it goes with neither --write nor --format")
        return EXIT_USAGE
    missing = [p for p in paths if not os.path.lexists(p)]
    if missing:
        error(f"{missing[0]}: no such file or directory")
        return EXIT_USAGE
    rules = select_rules(select, ignore)
    if not rules:
        error("--select/--ignore leave no rule; `ddoctor fix --list-rules` shows the codes")
        return EXIT_USAGE
    results: list[FileFix] = []
    for res in fix_paths(paths, rules=rules, unsafe=unsafe, write=write):
        res = _withhold_secrets(res, out)
        results.append(res)
        if fmt == "text" and not diff_only and (res.edits or res.error or res.skipped):
            out.render(lambda console, res=res: r.render_file(res, console, unsafe=unsafe))
        if diff_only:
            for note in (f"skipped: {res.skipped}" if res.skipped else None, f"error: {res.error}" if res.error else
                         None, f"diff not shown: {res.diff_withheld}" if res.diff_withheld else None):
                if note:
                    sys.stderr.write(f"{res.path}: {note}\n")
        if res.diff and fmt == "text" and (diff_only or (show_diff and not write)):
            _write_bytes(r.diff_bytes(res, color=out.color))
    if fmt == "json":
        from ddoctor.redact import scrub_values

        # Scrubbing rewrites what looks like `token = value` in code; the diffs (already checked) stay exact.
        clean = [replace(scrub_values(x, out.secrets), diff=x.diff) for x in results]
        _write_bytes((r.render_json(clean, write=write, unsafe=unsafe) + "\n").encode())
    elif fmt == "github":
        out.emit("fix", fmt, tuple(results))
    elif diff_only:
        sys.stderr.write(r.summary(results, write=write, unsafe=unsafe) + "\n")
    else:
        out.render(lambda console: console.print(r.summary(results, write=write, unsafe=unsafe), style="bold",
                                                 soft_wrap=True))
    if any(x.error for x in results):
        return EXIT_USAGE
    return EXIT_PROBLEMS if any(x.remaining for x in results) else EXIT_OK


def _withhold_secrets(res: FileFix, out: Output) -> FileFix:
    from ddoctor.redact import contains_credential

    if res.diff and contains_credential(res.diff, out.secrets):
        return replace(res, diff="", diff_withheld="it holds a credential-shaped string; --write still applies it")
    return res


def _write_bytes(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
