"""CheckReport → terminal (rich), JSON, JUnit XML and Markdown."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from rich.console import Console, Group
from rich.markup import escape
from rich.text import Text

from ddoctor.model.finding import Finding
from ddoctor.model.report import CheckReport
from ddoctor.model.status import Status
from ddoctor.render.jsonout import envelope

ICON = {Status.PASS: "✓", Status.WARN: "!", Status.FAIL: "✗", Status.ERROR: "☠", Status.SKIP: "-"}
STYLE = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "bold red", Status.ERROR: "magenta",
         Status.SKIP: "dim"}
GROUP_TITLES = {"torch": "PyTorch", "gpu": "GPUs and CUDA", "distributed": "Distributed backends",
                "launch": "Launch and network", "system": "System resources", "requirements": "Requirements",
                "live": "Live collectives", "checkpoint": "Checkpoint"}


def _finding_block(f: Finding, verbose: bool) -> list:
    head = Text()
    head.append(f"[{ICON[f.status]}] ", style=STYLE[f.status])
    head.append(f.title, style="bold")
    head.append(f"  {f.summary}")
    if verbose:
        head.append(f"  [{f.duration_s * 1000:.0f} ms]  ({f.id})", style="dim")
    parts: list = [head]
    if f.remediation:
        parts.append(Text.from_markup(f"    [bold]fix:[/] {escape(f.remediation.summary)}"))
        parts.extend(Text(f"      $ {c}", style="cyan") for c in f.remediation.commands)
        parts.extend(Text(f"      see {u}", style="dim") for u in f.remediation.links)
        if f.remediation.fix_codes:
            parts.append(Text(f"      ddoctor fix --select {','.join(f.remediation.fix_codes)} PATH", style="cyan"))
    if verbose:
        parts.extend(Text(f"    • {d}", style="dim") for d in f.details)
        for k, v in f.evidence.items():
            if v is not None:
                parts.append(Text(f"    · {k} = {v}", style="dim"))
        if f.error and f.error.traceback_text:
            parts.append(Text(f.error.traceback_text.rstrip(), style="dim"))
    elif f.error:
        parts.append(Text(f"    {f.error.type_name}: {f.error.message} (-v for the traceback)", style="dim"))
    return parts


def render_text(report: CheckReport, console: Console, *, verbose: bool, strict: bool,
                title: str = "ddoctor check") -> None:
    shown = [f for f in report.findings if verbose or f.status in (Status.WARN, Status.FAIL, Status.ERROR)]
    h = report.host.to_dict()
    console.print(Text(f"{title} · {h['hostname']} · {h['platform']} · Python {h['python']} · "
                       f"torch {h['torch'] or 'absent'}", style="bold"))
    group = None
    for f in shown:
        if f.group != group:
            group = f.group
            console.print(Text(GROUP_TITLES.get(group, group), style="bold underline"))
        console.print(Group(*_finding_block(f, verbose)))
    c = report.counts
    summary = (f"{c['pass']} passed, {c['warn']} warnings, {c['fail']} failed, {c['error']} errors, "
               f"{c['skip']} skipped in {report.duration_s:.2f} s")
    bad = c["fail"] + c["error"] + (c["warn"] if strict else 0)
    style = "bold red" if bad else ("yellow" if c["warn"] else "bold green")
    verdict = "problems found" if bad else ("ready, with warnings" if c["warn"] else "ready")
    console.print(Text(f"{verdict}: {summary}", style=style))
    if not verbose and len(shown) < len(report.findings):
        console.print(Text("(-v shows every check with its evidence)", style="dim"))


def render_json(report: CheckReport, *, strict: bool, exit_code: int, kind: str = "check",
                exit_codes: str = "default") -> str:
    return envelope(kind, {
        "host": report.host.to_dict(),
        "summary": {**report.counts, "worst": report.worst.value, "strict": strict, "exit_code": exit_code,
                    "exit_codes": exit_codes, "action": report.action.value, "not_run": list(report.not_run),
                    "duration_s": round(report.duration_s, 3)},
        "findings": [{**f.to_dict(), "action": report.actions[f.id].value} if f.id in report.actions else f.to_dict()
                     for f in report.findings],
    })


def render_junit(report: CheckReport, *, strict: bool) -> str:
    """One testcase per check: fail → <failure>, error → <error>, skip → <skipped>, warn → failure if strict."""
    c = report.counts
    suite = ET.Element("testsuite", name="ddoctor.check", tests=str(len(report.findings)),
                       failures=str(c["fail"] + (c["warn"] if strict else 0)), errors=str(c["error"]),
                       skipped=str(c["skip"]), time=f"{report.duration_s:.3f}", hostname=report.host.hostname)
    for f in report.findings:
        case = ET.SubElement(suite, "testcase", classname=f"ddoctor.check.{f.group}", name=f.id,
                             time=f"{f.duration_s:.3f}")
        body = f.summary
        if f.remediation:
            body += "\nfix: " + f.remediation.summary + "".join(f"\n  $ {c}" for c in f.remediation.commands)
        if f.status is Status.FAIL or (strict and f.status is Status.WARN):
            ET.SubElement(case, "failure", message=f.summary, type=f.status.value).text = body
        elif f.status is Status.ERROR:
            ET.SubElement(case, "error", message=f.summary, type="error").text = (
                f.error.traceback_text if f.error and f.error.traceback_text else body)
        elif f.status is Status.SKIP:
            ET.SubElement(case, "skipped", message=f.summary)
        else:
            ET.SubElement(case, "system-out").text = body
    suites = ET.Element("testsuites")
    suites.append(suite)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def _md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: CheckReport, *, verbose: bool) -> str:
    h = report.host.to_dict()
    lines = [f"### ddoctor check — {h['platform']}, Python {h['python']}, torch {h['torch'] or 'absent'}", "",
             "| | check | result |", "|---|---|---|"]
    for f in report.findings:
        if verbose or f.status is not Status.SKIP:
            lines.append(f"| {ICON[f.status]} {f.status.value} | {f.title} | {_md_cell(f.summary)} |")
    fixes = [f for f in report.findings if f.remediation]
    if fixes:
        lines += ["", "**Fixes**", ""]
        for f in fixes:
            lines.append(f"- **{f.title}**: {f.remediation.summary}")
            if f.remediation.commands:
                lines += ["  ```sh", *[f"  {c}" for c in f.remediation.commands], "  ```"]
    c = report.counts
    lines += ["", f"_{c['pass']} passed, {c['warn']} warnings, {c['fail']} failed, {c['error']} errors, "
              f"{c['skip']} skipped — ddoctor {report.ddoctor_version}_", ""]
    return "\n".join(lines)
