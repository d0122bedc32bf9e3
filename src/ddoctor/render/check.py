"""CheckReport → terminal text, JSON (ddoctor.check/1), JUnit XML and Markdown; the check and scenario lists."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from rich.text import Text

from ddoctor.model.finding import Finding, Level
from ddoctor.model.report import CheckList, CheckReport, ScenarioList, check_exit_code, contract_exit_code
from ddoctor.model.status import Status
from ddoctor.render.console import Lines, columns, plural
from ddoctor.render.jsonout import envelope
from ddoctor.render.options import Glyphs, RenderOptions
from ddoctor.render.safe import md_fence, md_text, xml_text
from ddoctor.units import human_bytes

STYLE = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "bold red", Status.ERROR: "magenta",
         Status.SKIP: "dim"}
GROUP_TITLES = {"torch": "PyTorch", "gpu": "GPUs and CUDA", "distributed": "Distributed backends",
                "launch": "Launch and network", "system": "System resources", "requirements": "Requirements",
                "live": "Live collectives", "checkpoint": "Checkpoint"}


# Evidence keys that hold byte counts: text shows them in binary units beside the exact value.
BYTE_KEYS = {"total", "free", "available", "swap", "memlock_soft", "memlock_hard", "size", "used", "largest_shard"}
NBSP = "\u00a0"  # keeps a number and its unit on one line when prose wraps


def evidence_value(key: str, value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1 << 20 and (
            key in BYTE_KEYS or key.endswith(("_bytes", "_memory"))):
        return f"{value} ({human_bytes(value)})"
    return str(value)


def icon(status: Status, g: Glyphs) -> str:
    return {Status.PASS: g.ok, Status.WARN: g.warn, Status.FAIL: g.fail, Status.ERROR: g.error,
            Status.SKIP: g.skip}[status]


def counts_text(report: CheckReport) -> str:
    c = report.counts
    return (f"{c['pass']} passed, {plural(c['warn'], 'warning')}, {c['fail']} failed, {plural(c['error'], 'error')}, "
            f"{c['skip']} skipped")


def verdict(report: CheckReport, strict: bool) -> str:
    c = report.counts
    if check_exit_code(report, strict=strict):
        return "problems found"
    return "ready, with warnings" if c["warn"] else "ready"


def simulated_banner(report: CheckReport) -> str:
    return (f"SIMULATED host (--simulate {report.simulated}): these findings describe a made-up machine, "
            "not this one")


def _finding(out: Lines, f: Finding, verbose: bool) -> None:
    g = out.g
    head = Text()
    head.append(f"[{icon(f.status, g)}] ", style=STYLE[f.status])
    head.append(f.title, style="bold")
    head.append(f"  {f.summary}")
    if verbose:
        head.append(f"  [{f.duration_s * 1000:.0f}{NBSP}ms] ({f.id})", style="dim")
    out.prose(head, hang=4)
    if f.remediation:
        r = f.remediation
        out.prose(Text("fix: ", style="bold") + Text(r.summary), indent=4, hang=5)
        for c in r.commands:
            out.whole(f"$ {c}", indent=6, style="cyan")
        for u in r.links:
            out.whole(f"see {u}", indent=6, style="dim")
        if r.fix_codes:
            out.whole(f"$ ddoctor fix --select {','.join(r.fix_codes)} PATH", indent=6, style="cyan")
    if verbose:
        for m in f.all_messages:
            label = {Level.INFO: f"{g.bullet} ", Level.HINT: "hint: ", Level.ERROR: "error: "}[m.level]
            out.prose(Text(label + m.text, style="dim" if m.level is Level.INFO else ""), indent=4, hang=len(label))
            if m.url:
                out.whole(f"see {m.url}", indent=4 + len(label), style="dim")
        for k, v in f.evidence.items():
            if v is not None:
                out.whole(f"{g.dot} {k} = {evidence_value(k, v)}", indent=4, style="dim")
        if f.error and f.error.traceback_text:
            for line in f.error.traceback_text.rstrip().split("\n"):
                out.whole(line, indent=4, style="dim")
    elif f.error:
        out.prose(Text(f"{f.error.type_name}: {f.error.message} (-v for the traceback)", style="dim"), indent=4,
                  hang=2)


def text(report: CheckReport, opts: RenderOptions) -> str:
    out = Lines(opts.style)
    g = out.g
    if opts.quiet:
        out.whole(f"{verdict(report, opts.strict)}: {counts_text(report)}"
                  + (f" (simulated: {report.simulated})" if report.simulated else ""))
        _action(out, report, opts)
        return out.render()
    shown = [f for f in report.findings if opts.verbose or f.status in (Status.WARN, Status.FAIL, Status.ERROR)]
    h = report.host.to_dict()
    title = opts.title or "ddoctor check"
    out.prose(Text(f"{title} {g.dot} {h['hostname']} {g.dot} {h['platform']} {g.dot} Python {h['python']} {g.dot} "
                   f"torch {h['torch'] or 'absent'}", style="bold"), hang=2)
    if report.simulated:
        out.prose(Text(simulated_banner(report), style="bold magenta"), hang=2)
    group = None
    for f in shown:
        if f.group != group:
            group = f.group
            out.whole(Text(GROUP_TITLES.get(group, group), style="bold underline"))
        _finding(out, f, opts.verbose)
    bad = check_exit_code(report, strict=opts.strict)
    c = report.counts
    style = "bold red" if bad else ("yellow" if c["warn"] else "bold green")
    out.prose(Text(f"{verdict(report, opts.strict)}: {counts_text(report)} in {report.duration_s:.2f} s", style=style),
              hang=2)
    if not opts.verbose and len(shown) < len(report.findings):
        out.whole(Text("(-v shows every check with its evidence)", style="dim"))
    _action(out, report, opts)
    return out.render()


def _action(out: Lines, report: CheckReport, opts: RenderOptions) -> None:
    """What a scheduler is told, when it asked for its own exit codes."""
    if opts.exit_codes != "default":
        code = contract_exit_code(report, strict=opts.strict, contract=opts.exit_codes)
        out.whole(f"action: {report.action.value} (exit {code} under --exit-codes {opts.exit_codes})")


def _json(report: CheckReport, opts: RenderOptions, kind: str) -> str:
    return envelope(kind, {
        "host": report.host.to_dict(),
        "simulated": report.simulated,
        "summary": {**report.counts, "worst": report.worst.value, "strict": opts.strict,
                    "exit_code": contract_exit_code(report, strict=opts.strict, contract=opts.exit_codes),
                    "exit_codes": opts.exit_codes, "action": report.action.value, "not_run": list(report.not_run),
                    "duration_s": round(report.duration_s, 3)},
        "findings": [{**f.to_dict(), "action": report.actions[f.id].value} if f.id in report.actions else f.to_dict()
                     for f in report.findings],
    })


def json(report: CheckReport, opts: RenderOptions) -> str:
    return _json(report, opts, "check")


def preflight_json(report: CheckReport, opts: RenderOptions) -> str:
    return _json(report, opts, "smoke-preflight")


def junit(report: CheckReport, opts: RenderOptions) -> str:
    """One testcase per check: fail → <failure>, error → <error>, skip → <skipped>, warn → failure if strict."""
    c = report.counts
    strict = opts.strict
    suite = ET.Element("testsuite", name="ddoctor.check", tests=str(len(report.findings)),
                       failures=str(c["fail"] + (c["warn"] if strict else 0)), errors=str(c["error"]),
                       skipped=str(c["skip"]), time=f"{report.duration_s:.3f}", hostname=xml_text(report.host.hostname))
    if report.simulated:
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="simulated", value=xml_text(report.simulated))
    for f in report.findings:
        case = ET.SubElement(suite, "testcase", classname=f"ddoctor.check.{f.group}", name=f.id,
                             time=f"{f.duration_s:.3f}")
        body = f.summary
        if f.remediation:
            body += "\nfix: " + f.remediation.summary + "".join(f"\n  $ {c}" for c in f.remediation.commands)
        summary, body = xml_text(f.summary), xml_text(body)
        if f.status is Status.FAIL or (strict and f.status is Status.WARN):
            ET.SubElement(case, "failure", message=summary, type=f.status.value).text = body
        elif f.status is Status.ERROR:
            tb = f.error.traceback_text if f.error and f.error.traceback_text else ""
            ET.SubElement(case, "error", message=summary, type="error").text = xml_text(tb) or body
        elif f.status is Status.SKIP:
            ET.SubElement(case, "skipped", message=summary)
        else:
            ET.SubElement(case, "system-out").text = body
    suites = ET.Element("testsuites")
    suites.append(suite)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def markdown(report: CheckReport, opts: RenderOptions) -> str:
    h = report.host.to_dict()
    g = opts.style.glyphs
    lines = [f"### ddoctor check {g.dash} {md_text(h['platform'])}, Python {md_text(h['python'])}, "
             f"torch {md_text(h['torch'] or 'absent')}", ""]
    if report.simulated:
        lines += [f"> **Simulated host** (`--simulate {report.simulated}`): not a real machine.", ""]
    lines += ["| | check | result |", "|---|---|---|"]
    for f in report.findings:
        if opts.verbose or f.status is not Status.SKIP:
            lines.append(f"| {icon(f.status, g)} {f.status.value} | {md_text(f.title, cell=True)} | "
                         f"{md_text(f.summary, cell=True)} |")
    fixes = [f for f in report.findings if f.remediation]
    if fixes:
        lines += ["", "**Fixes**", ""]
        for f in fixes:
            lines.append(f"- **{md_text(f.title)}**: {md_text(f.remediation.summary)}")
            if f.remediation.commands:
                lines += md_fence("\n".join(f.remediation.commands), "sh", indent="  ")
    lines += ["", f"_{counts_text(report)} {g.dash} ddoctor {report.ddoctor_version}_", ""]
    return "\n".join(lines)


def list_text(checks: CheckList, opts: RenderOptions) -> str:
    out = Lines(opts.style)
    columns(out, [((c.id, c.group), c.description) for c in checks.checks])
    return out.render()


def list_json(checks: CheckList, opts: RenderOptions) -> str:
    return envelope("check-list", {"checks": [c.to_dict() for c in checks.checks]})


def scenarios_text(scenarios: ScenarioList, opts: RenderOptions) -> str:
    out = Lines(opts.style)
    out.prose("Simulated hosts for `ddoctor check --simulate NAME` (demos and tests; the findings describe the "
              "scenario, never this machine):", hang=2)
    columns(out, [((s.name,), s.description) for s in scenarios.scenarios], indent=2)
    return out.render()


def scenarios_json(scenarios: ScenarioList, opts: RenderOptions) -> str:
    return envelope("scenarios", {"scenarios": [{"name": s.name, "description": s.description}
                                                for s in scenarios.scenarios]})

