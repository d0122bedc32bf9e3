"""RasReport -> terminal text and JSON (schema ddoctor.ras/1)."""

from __future__ import annotations

from rich.text import Text

from ddoctor.model.ras import RasReport
from ddoctor.render.check import STYLE, icon
from ddoctor.render.console import Lines, plural
from ddoctor.render.jsonout import envelope
from ddoctor.render.options import RenderOptions

STATE_WORDS = {"healthy": "no problem reported", "progressing": "collectives are progressing",
               "stuck": "a collective is stuck", "dead": "ranks are dead or unreachable",
               "error": "NCCL reports errors", "idle": "no NCCL progress", "init": "communicators still initialising",
               "in-flight": "operation counts differ (maybe in flight)", "unreachable": "no answer"}


def text(report: RasReport, opts: RenderOptions) -> str:
    out = Lines(opts.style)
    g = out.g
    head = Text()
    head.append("NCCL RAS ", style="bold")
    head.append(f"{report.address}: {STATE_WORDS.get(report.state, report.state)}")
    if report.polls:
        head.append(f"  ({plural(report.polls, 'poll')}, {plural(report.communicators, 'communicator')}, "
                    f"{plural(report.ranks, 'rank')}" + (f", NCCL {report.nccl_version}" if report.nccl_version else "")
                    + ")", style="dim")
    out.prose(head, hang=2)
    for f in report.findings:
        line = Text()
        line.append(f"[{icon(f.status, g)}] ", style=STYLE[f.status])
        line.append(f.title, style="bold")
        line.append(f"  {f.summary}")
        out.prose(line, hang=4)
        for m in f.all_messages:
            out.prose(Text(f"{g.bullet} {m.text}", style="dim"), indent=4, hang=2)
        if f.remediation:
            out.prose(Text("fix: ", style="bold") + Text(f.remediation.summary), indent=4, hang=5)
            for c in f.remediation.commands:
                out.whole(f"$ {c}", indent=6, style="cyan")
    for p in report.problems:
        out.prose(Text(f"note: {p}", style="dim"), indent=2, hang=2)
    return out.render()


def json(report: RasReport, opts: RenderOptions) -> str:
    return envelope("ras", report.to_dict())
