"""DiagnoseResult → terminal panels, JSON (ddoctor.diagnosis/1) and Markdown; Signature → docs."""

from __future__ import annotations

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from ddoctor.model.diagnosis import Diagnosis, Signature
from ddoctor.ranksets import plural_ranks
from ddoctor.render.jsonout import envelope


def _evidence_lines(d: Diagnosis, limit: int = 4) -> list[Text]:
    out = []
    for e in d.evidence[:limit]:
        t = Text("  ")
        t.append(f"line {e.lineno}", style="dim")
        if e.rank is not None:
            t.append(f" [rank {e.rank}]", style="dim")
        t.append(": ")
        t.append(e.text, style="yellow")
        out.append(t)
    return out


def fix_hints(d: Diagnosis) -> list[str]:
    """`ddoctor fix` commands that remove this cause, aimed at the user's file when the log names it."""
    from ddoctor.fix.hints import command_for

    command = command_for(d.fix_codes, d.user_frame.filename if d.user_frame else None)
    return [command] if command else []


def _panel(d: Diagnosis, index: int, hints: bool = False) -> Panel:
    parts: list = []
    parts.append(Text.from_markup(f"[bold]{escape(d.what)}[/]"))
    parts.append(Text(""))
    parts.append(Text("Evidence", style="bold"))
    parts.extend(_evidence_lines(d))
    extra = []
    if d.occurrences > len(d.evidence[:4]):
        extra.append(f"{d.occurrences} occurrences")
    if d.ranks:
        extra.append(plural_ranks(d.ranks))
    if extra:
        parts.append(Text("  (" + "; ".join(extra) + ")", style="dim"))
    if d.user_frame:
        uf = d.user_frame
        parts.append(Text.from_markup(f"  [bold]your code:[/] {escape(uf.filename)}:{uf.lineno}"
                                      + (f" in {escape(uf.function)}" if uf.function else "")))
    parts += [Text(""), Text("Why", style="bold"), Text(d.why)]
    parts += [Text(""), Text("Fix: ", style="bold") + Text(d.fix_summary)]
    for note in d.host_notes:
        parts.append(Text.from_markup(f"  [bold cyan]on this host:[/] {escape(note)}"))
    for i, step in enumerate(d.fix_steps, 1):
        parts.append(Text(f"  {i}. {step}"))
    for c in d.commands:
        parts.append(Text(f"  $ {c}", style="cyan"))
    if hints:
        parts.extend(Text(f"  $ {c}", style="bold cyan") for c in fix_hints(d))
    if d.snippet:
        parts.append(Syntax(d.snippet.strip("\n"), "python", theme="ansi_dark", background_color="default",
                            padding=(0, 2)))
    title = f"[bold red]{'Root cause' if index == 0 else 'Also'}: {escape(d.title)}[/] [dim]({d.name} · {d.code})[/]"
    subtitle = f"[dim]confidence {d.score:.2f}[/]"
    return Panel(Group(*parts), title=title, title_align="left", subtitle=subtitle, subtitle_align="right",
                 border_style="red" if index == 0 else "yellow")


def render_text(result, console: Console, *, show_all: bool, hints: bool = False) -> None:
    ds = result.diagnoses
    src = ", ".join(result.sources) or "stdin"
    if not ds:
        console.print(Text(f"No failure found in {result.lines_parsed:,} line(s) of {src}.", style="bold green"))
        return
    roots = [d for d in ds if not d.symptom]
    primary = roots[:1] if roots else ds[:1]
    rest = [d for d in ds if d not in primary]
    console.print(_panel(primary[0], 0, hints))
    shown_rest = rest if show_all else [d for d in rest if not d.symptom][:2]
    for d in shown_rest:
        console.print(_panel(d, 1, hints))
    symptoms = [d for d in rest if d.symptom and d not in shown_rest]
    if symptoms:
        console.print(Text("Consequences seen after the root cause:", style="bold"))
        for d in symptoms:
            ranks = f" on {plural_ranks(d.ranks)}" if d.ranks else ""
            console.print(Text(f"  • {d.title} ({d.name}), {d.occurrences}×{ranks}"))
    hidden = len(rest) - len(shown_rest) - len(symptoms)
    console.print(Text(f"{len(ds)} cause(s) found in {result.lines_parsed:,} line(s), {result.tracebacks} "
                       f"traceback(s) from {src}" + (f"; --all shows {hidden} more" if hidden > 0 else ""),
                       style="dim"))


def render_json(result, *, host: dict | None, hints: bool = False, extra: dict | None = None) -> str:
    """`extra`: keys a caller adds (`ddoctor run --exit-codes`: action, exit_code)."""
    return envelope("diagnosis", {**(extra or {}),
        "diagnoses": [{**d.to_dict(), **({"fix_hints": fix_hints(d)} if hints else {})} for d in result.diagnoses],
        "sources": list(result.sources),
        "stats": {"bytes": result.bytes_read, "lines": result.lines_parsed, "tracebacks": result.tracebacks},
        "host": host,
    })


def render_markdown(result) -> str:
    if not result.diagnoses:
        return "**ddoctor:** no failure found.\n"
    out = []
    for i, d in enumerate(result.diagnoses):
        out.append(f"### {'Root cause' if i == 0 else 'Also'}: {d.title} (`{d.name}`, {d.code})\n")
        out.append(d.what + "\n")
        out.append("```text\n" + "\n".join(f"line {e.lineno}: {e.text}" for e in d.evidence[:4]) + "\n```\n")
        out.append(f"**Why:** {d.why}\n")
        out.append(f"**Fix:** {d.fix_summary}\n")
        out.extend(f"- on this host: {n}" for n in d.host_notes)
        out.extend(f"{k}. {s}" for k, s in enumerate(d.fix_steps, 1))
        if d.commands:
            out.append("\n```sh\n" + "\n".join(d.commands) + "\n```")
        out.append("")
    return "\n".join(out) + "\n"


def signature_markdown(s: Signature) -> str:
    lines = [f"# {s.name} ({s.code})", "", f"**{s.title}** — category `{s.category}`"
             + (", reported as a consequence (symptom)" if s.symptom else ""), "",
             "## What happened", "", s.what, "", "## Why", "", s.why, "", "## Fix", "", s.fix_summary, ""]
    lines += [f"{i}. {step}" for i, step in enumerate(s.fix_steps, 1)]
    if s.commands:
        lines += ["", "```sh", *s.commands, "```"]
    if s.snippet:
        lines += ["", "```python", s.snippet.strip("\n"), "```"]
    match = [e for e in s.examples if e.kind == "match"]
    if match:
        lines += ["", "## Example log", "", "```text", match[0].text.strip("\n"), "```"]
    if s.references:
        lines += ["", "## References", "", *[f"- {r}" for r in s.references]]
    return "\n".join(lines) + "\n"


def render_signature(s: Signature, console: Console) -> None:
    from rich.markdown import Markdown

    console.print(Markdown(signature_markdown(s)))


def render_signature_table(sigs: tuple[Signature, ...], console: Console) -> None:
    table = Table("code", "name", "title", box=None, show_edge=False)
    for s in sigs:
        table.add_row(s.code, s.name, s.title + (" (symptom)" if s.symptom else ""))
    console.print(table)
