"""EnvReport → Markdown (one paste for an issue) and JSON (`ddoctor.report/1`)."""

from __future__ import annotations

from ddoctor.model.envreport import EnvReport
from ddoctor.model.status import Status
from ddoctor.render.check import ICON, _md_cell
from ddoctor.render.jsonout import envelope


def _fence(lines: tuple[str, ...]) -> list[str]:
    """A code block whose fence no line of the text can close."""
    longest = max((len(x) - len(x.lstrip("`")) for x in lines), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + "text", *lines, fence]


def render_markdown(rep: EnvReport) -> str:
    c, h = rep.check, rep.check.host.to_dict()
    counts = c.counts
    bad = counts["fail"] + counts["error"]
    verdict = "problems found" if bad else ("ready, with warnings" if counts["warn"] else "ready")
    lines = [f"## ddoctor report — {h['hostname']} · {h['platform']} · Python {h['python']} · "
             f"torch {h['torch'] or 'absent'}", "",
             f"**{verdict}**: {counts['pass']} passed, {counts['warn']} warnings, {counts['fail']} failed, "
             f"{counts['error']} errors, {counts['skip']} skipped (action: {c.action.value})", ""]
    problems = [f for f in c.findings if f.status in (Status.WARN, Status.FAIL, Status.ERROR)]
    if problems:
        lines += ["| | check | result | fix |", "|---|---|---|---|"]
        for f in problems:
            fix = f.remediation.summary if f.remediation else ""
            cmds = "; ".join(f"`{cmd}`" for cmd in f.remediation.commands) if f.remediation else ""
            lines.append(f"| {ICON[f.status]} {f.status.value} | {_md_cell(f.title)} | {_md_cell(f.summary)} | "
                         f"{_md_cell(' '.join(x for x in (fix, cmds) if x))} |")
        lines.append("")
    for sec in rep.sections:
        if sec.block:
            lines += [f"<details><summary>{sec.title}</summary>", "", *_fence(sec.block), "", "</details>", ""]
            continue
        lines += [f"### {sec.title}", "", "| | |", "|---|---|"]
        lines += [f"| {_md_cell(k)} | {_md_cell(v)} |" for k, v in sec.rows] or ["| (none found) | |"]
        lines.append("")
    lines.append(f"_ddoctor {c.ddoctor_version}, {rep.duration_s:.2f} s; secrets redacted_")
    return "\n".join(lines) + "\n"


def render_json(rep: EnvReport, *, exit_code: int) -> str:
    c = rep.check
    return envelope("report", {
        "host": c.host.to_dict(),
        "environment": {sec.title: dict(sec.rows) if not sec.block else list(sec.block) for sec in rep.sections},
        "check": {"summary": {**c.counts, "worst": c.worst.value, "action": c.action.value, "exit_code": exit_code,
                              "not_run": list(c.not_run), "duration_s": round(c.duration_s, 3)},
                  "findings": [f.to_dict() for f in c.findings]},
        "duration_s": round(rep.duration_s, 3),
    })
