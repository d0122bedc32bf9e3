"""RasReport -> terminal text and JSON (schema ddoctor.ras/1)."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from ddoctor.model.ras import RasReport
from ddoctor.render.check import ICON, STYLE
from ddoctor.render.jsonout import envelope

STATE_WORDS = {"healthy": "no problem reported", "progressing": "collectives are progressing",
               "stuck": "a collective is stuck", "dead": "ranks are dead or unreachable",
               "error": "NCCL reports errors", "idle": "no NCCL progress", "init": "communicators still initialising",
               "in-flight": "operation counts differ (maybe in flight)", "unreachable": "no answer"}


def render_text(report: RasReport, console: Console) -> None:
    head = Text()
    head.append("NCCL RAS ", style="bold")
    head.append(f"{report.address}: {STATE_WORDS.get(report.state, report.state)}")
    if report.polls:
        head.append(f"  ({report.polls} polls, {report.communicators} communicators, {report.ranks} ranks"
                    + (f", NCCL {report.nccl_version}" if report.nccl_version else "") + ")", style="dim")
    console.print(head)
    for f in report.findings:
        line = Text()
        line.append(f"[{ICON[f.status]}] ", style=STYLE[f.status])
        line.append(f.title, style="bold")
        line.append(f"  {f.summary}")
        console.print(line)
        for d in f.details:
            console.print(Text(f"    • {d}", style="dim"))
        if f.remediation:
            console.print(Text(f"    fix: {f.remediation.summary}"))
            for c in f.remediation.commands:
                console.print(Text(f"      $ {c}", style="cyan"), soft_wrap=True)
    for p in report.problems:
        console.print(Text(f"  note: {p}", style="dim"))


def render_json(report: RasReport) -> str:
    return envelope("ras", report.to_dict())
