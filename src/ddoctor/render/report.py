"""EnvReport → Markdown (one paste for an issue) and JSON (`ddoctor.report/1`).

Findings go through the same Markdown escaping as `check --format markdown`; the environment's rows
keep collect_env's spelling (`[pip] numpy`) and lose only what could render live (HTML, links).
"""

from __future__ import annotations

from ddoctor.model.envreport import EnvReport
from ddoctor.model.report import check_exit_code
from ddoctor.model.status import Status
from ddoctor.render.check import counts_text, icon
from ddoctor.render.jsonout import envelope
from ddoctor.render.options import RenderOptions
from ddoctor.render.safe import md_code, md_fact, md_fence, md_text


def markdown(rep: EnvReport, opts: RenderOptions) -> str:
    g = opts.style.glyphs
    c, h = rep.check, rep.check.host.to_dict()
    counts = c.counts
    bad = counts["fail"] + counts["error"]
    verdict = "problems found" if bad else ("ready, with warnings" if counts["warn"] else "ready")
    lines = [f"## ddoctor report {g.dash} {h['hostname']} {g.dot} {h['platform']} {g.dot} "
             f"Python {h['python']} {g.dot} "
             f"torch {h['torch'] or 'absent'}", "",
             f"**{verdict}**: {counts_text(c)} (action: {c.action.value})", ""]
    problems = [f for f in c.findings if f.status in (Status.WARN, Status.FAIL, Status.ERROR)]
    if problems:
        lines += ["| | check | result | fix |", "|---|---|---|---|"]
        for f in problems:
            fix = f.remediation.summary if f.remediation else ""
            cmds = "; ".join(md_code(cmd) for cmd in f.remediation.commands) if f.remediation else ""
            advice = " ".join(x for x in (fix, cmds) if x)
            lines.append(f"| {icon(f.status, g)} {f.status.value} | {md_text(f.title, cell=True)} | "
                         f"{md_text(f.summary, cell=True)} | {md_text(advice, cell=True)} |")
        lines.append("")
    for sec in rep.sections:
        if sec.block:
            lines += [f"<details><summary>{md_fact(sec.title)}</summary>", "", *md_fence("\n".join(sec.block), "text"),
                      "", "</details>", ""]
            continue
        lines += [f"### {sec.title}", "", "| | |", "|---|---|"]
        lines += [f"| {md_fact(k)} | {md_fact(v)} |" for k, v in sec.rows] or ["| (none found) | |"]
        lines.append("")
    lines.append(f"_ddoctor {c.ddoctor_version}, {rep.duration_s:.2f} s; secrets redacted_")
    return "\n".join(lines) + "\n"


def json(rep: EnvReport, opts: RenderOptions) -> str:
    c = rep.check
    exit_code = check_exit_code(c, strict=False)
    return envelope("report", {
        "host": c.host.to_dict(),
        "environment": {sec.title: dict(sec.rows) if not sec.block else list(sec.block) for sec in rep.sections},
        "check": {"summary": {**c.counts, "worst": c.worst.value, "action": c.action.value, "exit_code": exit_code,
                              "not_run": list(c.not_run), "duration_s": round(c.duration_s, 3)},
                  "findings": [f.to_dict() for f in c.findings]},
        "duration_s": round(rep.duration_s, 3),
    })
