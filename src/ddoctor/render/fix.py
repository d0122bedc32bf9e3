"""Fix results → ruff-style issue lines, the exact diff bytes, a summary, and JSON (ddoctor.fix/1); fix rules →
text, JSON and docs.

Diff lines are printed whole (never wrapped or cropped) so that a copied diff applies with `git apply`;
`ddoctor fix` itself writes them as the file's own bytes (`diff_bytes`).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from ddoctor.model.fix import Applicability, Edit, ExplainedRule, FileFix, RuleInfo
from ddoctor.render.console import Lines, columns
from ddoctor.render.jsonout import envelope
from ddoctor.render.options import RenderOptions

_APPLICABILITY_TEXT = {Applicability.SAFE: "safe", Applicability.UNSAFE: "unsafe (needs --unsafe-fixes)",
                       Applicability.DISPLAY_ONLY: "display-only (shown, never applied)"}


def _mark(r: FileFix, e: Edit, *, unsafe: bool) -> tuple[str, str]:
    if e in r.applied:
        return ("[fixed]", "green") if r.written else ("[*]", "cyan")
    if e.applicability is Applicability.UNSAFE and not unsafe:
        return "[unsafe]", "yellow"
    return "[manual]", "magenta"


def render_file(r: FileFix, console: Console, *, unsafe: bool) -> None:
    """One file's issues (or why it was skipped or failed), one line each, never wrapped."""
    if r.skipped:
        console.print(Text(f"{r.path}: skipped: {r.skipped}", style="dim"), soft_wrap=True)
    for e in r.edits:
        mark, style = _mark(r, e, unsafe=unsafe)
        t = Text(f"{r.path}:{e.line}:{e.col}: ", style="bold")
        t.append(e.code, style="red")
        t.append(f" {e.message} ")
        t.append(mark, style=style)
        console.print(t, soft_wrap=True)
    if r.diff_withheld:
        console.print(Text(f"{r.path}: diff not shown: {r.diff_withheld}", style="yellow"), soft_wrap=True)
    if r.error:
        console.print(Text(f"{r.path}: error: {r.error}", style="bold red"), soft_wrap=True)


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(results: Sequence[FileFix], *, write: bool, unsafe: bool) -> str:
    """"Checked 12 files: 3 issues, 2 fixable; ..." — what was found, what --write does, what is left."""
    checked = sum(1 for r in results if r.skipped is None and r.error is None)
    edits = [(r, e) for r in results for e in r.edits]
    head = f"Checked {_n(checked, 'file')}: "
    if not edits:
        head += "no issues"
    elif write:
        fixed = sum(len(r.applied) for r in results if r.written)
        head += f"{_n(len(edits), 'issue')}, {fixed} fixed in {_n(sum(1 for r in results if r.written), 'file')}"
    else:
        head += f"{_n(len(edits), 'issue')}, {sum(len(r.applied) for r in results)} fixable"
    notes = []
    if not write and any(r.applied for r in results):
        notes.append("--write applies them")
    held = sum(1 for r, e in edits if e not in r.applied and e.applicability is Applicability.UNSAFE and not unsafe)
    if held:
        notes.append(f"{held} more with --unsafe-fixes")
    manual = sum(1 for r, e in edits if e not in r.applied and not (e.applicability is Applicability.UNSAFE
                                                                    and not unsafe))
    if manual:
        notes.append(f"{manual} to change by hand (ddoctor explain CODE)")
    errors = sum(1 for r in results if r.error)
    if errors:
        notes.append(f"{_n(errors, 'file')} could not be read or parsed (above)")
    skipped = sum(1 for r in results if r.skipped)
    if skipped:
        notes.append(f"{skipped} skipped")
    return head + ("; " + ", ".join(notes) if notes else "")


_COLORS = {"+": b"\x1b[32m", "-": b"\x1b[31m", "@": b"\x1b[36m", "\\": b"\x1b[2m"}


def diff_bytes(r: FileFix, *, color: bool = False) -> bytes:
    """The diff exactly as `git apply` needs it: the file's own encoding and line endings, never wrapped."""
    encoding = "utf-8" if r.encoding in ("utf-8", "utf-8-sig") else r.encoding
    data = r.diff.encode(encoding, errors="surrogateescape")
    if not color:
        return data
    out = []
    for line in data.splitlines(keepends=True):
        body = line.rstrip(b"\r\n")
        style = b"\x1b[1m" if line.startswith((b"--- ", b"+++ ")) else _COLORS.get(line[:1].decode("latin-1"))
        out.append(style + body + b"\x1b[0m" + line[len(body):] if style else line)
    return b"".join(out)


def render_json(results: Sequence[FileFix], *, write: bool, unsafe: bool) -> str:
    return envelope("fix", {
        "write": write, "unsafe_fixes": unsafe,
        "files": [r.to_dict() for r in results if r.edits or r.error or r.skipped],
        "summary": {"checked": sum(1 for r in results if r.skipped is None),
                    "issues": sum(len(r.edits) for r in results),
                    "applicable": sum(len(r.applied) for r in results),
                    "fixed": sum(len(r.applied) for r in results if r.written),
                    "errors": sum(1 for r in results if r.error),
                    "skipped": sum(1 for r in results if r.skipped)}})


def rule_list(rules: Sequence[RuleInfo]) -> str:
    return "\n".join(f"{r.code}  {r.name:30} {r.applicability.value:12}  {r.summary}" for r in rules)


def rule_markdown(info: RuleInfo, fixes: Sequence[str] = ()) -> str:
    """A rule's page in ruff's shape; `fixes` are the causes whose knowledge-base entry names this rule."""
    lines = [f"# {info.name} ({info.code})", "", f"**{info.summary}** — fix applicability: "
             f"{_APPLICABILITY_TEXT[info.applicability]}", "", "## What it does", "", info.what, "",
             "## Why", "", info.why, "", "## Example", "", "```python", info.before, "```", "", "Becomes:", "",
             "```python", info.after, "```", "", "## Fix safety", "", info.fix_safety, ""]
    if fixes:
        lines += [f"Removes the cause of: {', '.join(fixes)}", ""]
    return "\n".join(lines)


_DIFF_STYLE = (("+++", "bold"), ("---", "bold"), ("@@", "cyan"), ("+", "green"), ("-", "red"))


def text(results: Sequence[FileFix], opts: RenderOptions) -> str:
    """The whole run as text: each file's issue lines, its diff (lines whole), then the summary."""
    out = Lines(opts.style)
    for r in results:
        if r.skipped:
            out.whole(Text(f"{r.path}: skipped: {r.skipped}", style="dim"))
        for e in r.edits:
            mark, style = _mark(r, e, unsafe=opts.unsafe)
            t = Text(f"{r.path}:{e.line}:{e.col}: ", style="bold")
            t.append(e.code, style="red")
            t.append(f" {e.message} ")
            t.append(mark, style=style)
            out.prose(t, hang=4)
        if r.diff_withheld:
            out.whole(Text(f"{r.path}: diff not shown: {r.diff_withheld}", style="yellow"))
        if r.error:
            out.whole(Text(f"{r.path}: error: {r.error}", style="bold red"))
        if r.diff and opts.show_diff and not opts.write:
            for line in r.diff.rstrip("\n").split("\n"):
                out.whole(line, style=next((s for prefix, s in _DIFF_STYLE if line.startswith(prefix)), ""))
    out.prose(Text(summary(results, write=opts.write, unsafe=opts.unsafe), style="bold"), hang=2)
    return out.render()


def json(results: Sequence[FileFix], opts: RenderOptions) -> str:
    return render_json(results, write=opts.write, unsafe=opts.unsafe)


def rule_text(doc: ExplainedRule, opts: RenderOptions) -> str:
    info = doc.info
    out = Lines(opts.style)
    g = out.g
    out.prose(Text(info.summary, style="bold"), hang=2)
    out.whole(Text(f"{info.name} {g.dot} {info.code} {g.dot} fix applicability: "
                   f"{_APPLICABILITY_TEXT[info.applicability]}", style="dim"), indent=2)
    for title, prose in (("What it does", info.what), ("Why", info.why)):
        out.blank()
        out.whole(Text(title, style="bold"))
        out.prose(prose, indent=2)
    out.blank()
    out.whole(Text("Example", style="bold"))
    out.code(info.before, indent=2)
    out.whole(Text("Becomes", style="bold"))
    out.code(info.after, indent=2)
    out.blank()
    out.whole(Text("Fix safety", style="bold"))
    out.prose(info.fix_safety, indent=2)
    if doc.fixes:
        out.blank()
        out.prose(f"Removes the cause of: {', '.join(doc.fixes)}", hang=2)
    return out.render()


def rule_json(doc: ExplainedRule, opts: RenderOptions) -> str:
    return envelope("fix-rule", {**doc.info.to_dict(), "fixes": list(doc.fixes)})


def rule_doc_markdown(doc: ExplainedRule, opts: RenderOptions) -> str:
    return rule_markdown(doc.info, doc.fixes)


def rules_text(rules: Sequence[RuleInfo], opts: RenderOptions) -> str:
    out = Lines(opts.style)
    columns(out, [((r.code, r.name, r.applicability.value), r.summary) for r in rules])
    return out.render()


def rules_json(rules: Sequence[RuleInfo], opts: RenderOptions) -> str:
    return envelope("fix-rules", {"rules": [r.to_dict() for r in rules]})
