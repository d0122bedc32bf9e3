"""GitHub Actions workflow commands: findings, diagnoses and fix edits become run annotations."""

from __future__ import annotations

from collections.abc import Sequence

from ddoctor.model.diagnosis import DiagnoseResult
from ddoctor.model.fix import FileFix
from ddoctor.model.report import CheckReport
from ddoctor.model.status import Status
from ddoctor.render.check import counts_text, simulated_banner
from ddoctor.render.options import RenderOptions


def _esc(s: str) -> str:
    """Workflow-command escaping (data: %, CR, LF; properties also : and ,)."""
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(s: str) -> str:
    return _esc(s).replace(":", "%3A").replace(",", "%2C")


def check(report: CheckReport, opts: RenderOptions) -> str:
    lines = [f"::notice title=ddoctor simulated host::{_esc(simulated_banner(report))}"] if report.simulated else []
    levels = {Status.FAIL: "error", Status.ERROR: "error", Status.WARN: "error" if opts.strict else "warning"}
    for f in report.findings:
        level = levels.get(f.status)
        if level is None:
            continue
        body = f.summary
        if f.remediation:
            body += "\nfix: " + f.remediation.summary + "".join(f"\n$ {c}" for c in f.remediation.commands)
        lines.append(f"::{level} title={_prop('ddoctor ' + f.id)}::{_esc(body)}")
    lines.append(f"ddoctor check: {counts_text(report)}")
    return "\n".join(lines)


def diagnose(result: DiagnoseResult, opts: RenderOptions) -> str:
    lines = []
    for i, d in enumerate(result.diagnoses):
        level = "error" if i == 0 else "warning"
        where = ""
        if d.user_frame and d.user_frame.lineno:
            where = f"file={_prop(d.user_frame.filename)},line={d.user_frame.lineno},"
        body = d.what + "\nfix: " + d.fix_summary + "".join(f"\n$ {c}" for c in d.commands)
        lines.append(f"::{level} {where}title={_prop(f'{d.code} {d.name}: {d.title}')}::{_esc(body)}")
    if not lines:
        lines.append("ddoctor diagnose: no failure found")
    return "\n".join(lines)


def fix(results: Sequence[FileFix], opts: RenderOptions) -> str:
    lines = []
    for r in results:
        if r.error:
            lines.append(f"::error file={_prop(r.path)},title=ddoctor fix::{_esc(r.error)}")
        for e in r.edits:
            lines.append(f"::error file={_prop(r.path)},line={e.line},col={e.col},"
                         f"title={_prop(e.code)}::{_esc(e.message)}")
    return "\n".join(lines) or "ddoctor fix: no issues found"
