"""DiagnoseResult → terminal text, JSON (ddoctor.diagnosis/1), Markdown; Signature → text, JSON and docs.

A diagnosis is laid out open, without a box: the title wraps, the name and DD code sit whole on
the line below it (what `ddoctor explain` needs), prose wraps with a hanging indent, and commands,
paths and the fix snippet are printed whole on their own lines at any width.
"""

from __future__ import annotations

import re

from rich.text import Text

from ddoctor.model.diagnosis import DiagnoseResult, Diagnosis, Signature, SignatureList
from ddoctor.model.logs import Evidence
from ddoctor.ranksets import plural_ranks
from ddoctor.render.console import Lines, columns, plural
from ddoctor.render.diagnosis_json import fix_hints
from ddoctor.render.jsonout import envelope
from ddoctor.render.options import RenderOptions
from ddoctor.render.safe import md_code, md_fence, md_html_safe, md_text

EVIDENCE_SHOWN = 4
_PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")


def evidence_where(e: Evidence) -> str:
    """`line 22`, or `rank1.log:22` when the run read several inputs."""
    return f"{e.source}:{e.source_line}" if e.source is not None else f"line {e.lineno}"


def diagnosis_block(out: Lines, d: Diagnosis, index: int, *, hints: bool = False) -> None:
    """One diagnosis; `index` 0 is the root cause."""
    g = out.g
    colour = "red" if index == 0 else "yellow"
    out.whole(Text(g.rule * out.style.width, style=colour))
    out.prose(Text(f"{'Root cause' if index == 0 else 'Also'}: {d.title}", style=f"bold {colour}"), hang=2)
    out.whole(Text(f"{d.name} {g.dot} {d.code} {g.dot} confidence {d.score:.2f}", style="dim"), indent=2)
    out.blank()
    out.prose(Text(d.what, style="bold"), indent=2)
    out.blank()
    out.whole(Text("Evidence", style="bold"), indent=2)
    for e in d.evidence[:EVIDENCE_SHOWN]:
        t = Text(evidence_where(e), style="dim")
        if e.rank is not None:
            t.append(f" [rank {e.rank}]", style="dim")
        t.append(": ")
        t.append(e.text, style="yellow")
        out.prose(t, indent=4, hang=2)
    extra = []
    if d.occurrences > len(d.evidence[:EVIDENCE_SHOWN]):
        extra.append(plural(d.occurrences, "occurrence"))
    if d.ranks:
        extra.append(plural_ranks(d.ranks))
    if extra:
        out.prose(Text("(" + "; ".join(extra) + ")", style="dim"), indent=4, hang=1)
    if d.user_frame:
        uf = d.user_frame
        where = f"{uf.filename}:{uf.lineno}" if uf.lineno is not None else uf.filename
        out.whole(Text("your code: ", style="bold") + Text(where + (f" in {uf.function}" if uf.function else "")),
                  indent=4)
    out.blank()
    out.whole(Text("Why", style="bold"), indent=2)
    out.prose(d.why, indent=4)
    out.blank()
    out.prose(Text("Fix: ", style="bold") + Text(d.fix_summary), indent=2, hang=2)
    for note in d.host_notes:
        out.prose(Text("on this host: ", style="bold cyan") + Text(note), indent=4, hang=2)
    for i, step in enumerate(d.fix_steps, 1):
        out.prose(f"{i}. {step}", indent=4, hang=len(f"{i}. "))
    for c in d.commands:
        out.whole(f"$ {c}", indent=4, style="cyan")
    if hints:
        for c in fix_hints(d):
            out.whole(f"$ {c}", indent=4, style="bold cyan")
    if d.snippet:
        out.blank()
        out.code(d.snippet, indent=4)


def text(result: DiagnoseResult, opts: RenderOptions) -> str:
    out = Lines(opts.style)
    g = out.g
    ds = result.diagnoses
    src = ", ".join(result.sources) or "stdin"
    if opts.quiet:
        root = result.root
        out.whole(f"{root.name}: {root.title}" if root else "no failure found")
        return out.render()
    if not ds:
        out.prose(Text(f"No failure found in {plural(result.lines_parsed, 'line')} of {src}.", style="bold green"),
                  hang=2)
        return out.render()
    roots = [d for d in ds if not d.symptom]
    primary = roots[0] if roots else ds[0]
    rest = [d for d in ds if d is not primary]
    diagnosis_block(out, primary, 0, hints=opts.hints)
    shown_rest = rest if opts.show_all else [d for d in rest if not d.symptom][:2]
    for d in shown_rest:
        out.blank()
        diagnosis_block(out, d, 1, hints=opts.hints)
    symptoms = [d for d in rest if d.symptom and d not in shown_rest]
    out.whole(Text(g.rule * opts.style.width, style="dim"))
    if symptoms:
        out.whole(Text("Consequences seen after the root cause:", style="bold"))
        for d in symptoms:
            where = f" on {plural_ranks(d.ranks)}" if d.ranks else ""
            out.prose(f"{g.bullet} {d.title} ({d.name}), {plural(d.occurrences, 'time')}{where}", indent=2, hang=2)
    hidden = len(rest) - len(shown_rest) - len(symptoms)
    out.prose(Text(f"{plural(len(ds), 'cause')} found in {plural(result.lines_parsed, 'line')}, "
                   f"{plural(result.tracebacks, 'traceback')}, from {src}"
                   + (f"; --all shows {hidden} more" if hidden > 0 else ""), style="dim"), hang=2)
    return out.render()


def markdown(result: DiagnoseResult, opts: RenderOptions) -> str:
    """For PR comments and job summaries: everything from the log is inert (fenced or escaped)."""
    if not result.diagnoses:
        return "**ddoctor:** no failure found.\n"
    out = []
    for i, d in enumerate(result.diagnoses):
        out.append(f"### {'Root cause' if i == 0 else 'Also'}: {md_text(d.title)} ({md_code(d.name)}, {d.code})\n")
        out.append(md_text(d.what) + "\n")
        out.extend(md_fence("\n".join(f"{evidence_where(e)}: {e.text}" for e in d.evidence[:EVIDENCE_SHOWN]),
                            "text"))
        if d.user_frame:
            out.append(f"\nyour code: {md_code(d.user_frame.filename)}"
                       + (f" line {d.user_frame.lineno}" if d.user_frame.lineno is not None else ""))
        out.append(f"\n**Why:** {md_text(d.why)}\n")
        out.append(f"**Fix:** {md_text(d.fix_summary)}\n")
        out.extend(f"- on this host: {md_text(n)}" for n in d.host_notes)
        out.extend(f"{k}. {md_text(s)}" for k, s in enumerate(d.fix_steps, 1))
        commands = [*d.commands, *(fix_hints(d) if opts.hints else [])]
        if commands:
            out.append("")
            out.extend(md_fence("\n".join(commands), "sh"))
        if d.snippet:
            out.append("")
            out.extend(md_fence(d.snippet.strip("\n"), "python"))
        out.append("")
    return "\n".join(out) + "\n"


# -- the knowledge base: explain and signatures -----------------------------------------------------------
def generic(text: str) -> str:
    """A signature's text before a log fills it: `{exc}` reads as the placeholder `<exc>`."""
    return _PLACEHOLDER_RE.sub(lambda m: f"<{m.group(1)}>", text)


def signature_markdown(s: Signature) -> str:
    """The docs page of one signature (also `ddoctor explain X --format markdown`)."""
    def md(t: str) -> str:
        return md_html_safe(generic(t))

    lines = [f"# {s.name} ({s.code})", "", f"**{md(s.title)}** — category `{s.category}`"
             + (", reported as a consequence (symptom)" if s.symptom else ""), "",
             "## What happened", "", md(s.what), "", "## Why", "", md(s.why), "", "## Fix", "", md(s.fix_summary), ""]
    lines += [f"{i}. {md(step)}" for i, step in enumerate(s.fix_steps, 1)]
    if s.commands:
        lines += ["", *md_fence("\n".join(generic(c) for c in s.commands), "sh")]
    if s.snippet:
        lines += ["", *md_fence(s.snippet.strip("\n"), "python")]
    match = [e for e in s.examples if e.kind == "match"]
    if match:
        lines += ["", "## Example log", "", *md_fence(match[0].text.strip("\n"), "text")]
    if s.references:
        lines += ["", "## References", "", *[f"- {r}" for r in s.references]]
    return "\n".join(lines) + "\n"


def signature_doc(s: Signature, opts: RenderOptions) -> str:
    """`ddoctor explain --format markdown`: the same page docs/signatures/ holds."""
    return signature_markdown(s)


def signature_text(s: Signature, opts: RenderOptions) -> str:
    out = Lines(opts.style)
    g = out.g
    out.prose(Text(generic(s.title), style="bold"), hang=2)
    out.whole(Text(f"{s.name} {g.dot} {s.code} {g.dot} category {s.category}"
                   + (f" {g.dot} reported as a consequence (symptom)" if s.symptom else ""), style="dim"), indent=2)
    out.blank()
    out.whole(Text("What happened", style="bold"))
    out.prose(generic(s.what), indent=2)
    out.blank()
    out.whole(Text("Why", style="bold"))
    out.prose(generic(s.why), indent=2)
    out.blank()
    out.prose(Text("Fix: ", style="bold") + Text(generic(s.fix_summary)), hang=2)
    for i, step in enumerate(s.fix_steps, 1):
        out.prose(generic(f"{i}. {step}"), indent=2, hang=len(f"{i}. "))
    for c in s.commands:
        out.whole(f"$ {generic(c)}", indent=2, style="cyan")
    if s.snippet:
        out.blank()
        out.code(s.snippet, indent=2)
    match = [e for e in s.examples if e.kind == "match"]
    if match:
        out.blank()
        out.whole(Text("Example log", style="bold"))
        for line in match[0].text.strip("\n").split("\n"):
            out.whole(line, indent=2, style="yellow")
    if s.references:
        out.blank()
        out.whole(Text("References", style="bold"))
        for r in s.references:
            out.whole(r, indent=2)
    return out.render()


def signature_json(s: Signature, opts: RenderOptions) -> str:
    return envelope("signature", s.to_dict())


def signatures_text(sigs: SignatureList, opts: RenderOptions) -> str:
    out = Lines(opts.style)
    columns(out, [((s.code, s.name), generic(s.title) + (" (symptom)" if s.symptom else ""))
                  for s in sigs.signatures])
    return out.render()


def signatures_json(sigs: SignatureList, opts: RenderOptions) -> str:
    return envelope("signatures", {"signatures": [s.to_dict() for s in sigs.signatures]})


def signatures_markdown(sigs: SignatureList, opts: RenderOptions) -> str:
    lines = ["| code | name | title |", "|---|---|---|"]
    lines += [f"| {s.code} | {md_code(s.name)} | {md_text(generic(s.title), cell=True)}"
              f"{' (symptom)' if s.symptom else ''} |" for s in sigs.signatures]
    return "\n".join(lines) + "\n"
