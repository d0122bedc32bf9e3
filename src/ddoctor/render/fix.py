"""Fix results → ruff-style issue lines, the exact diff bytes, a summary, and JSON (ddoctor.fix/1); rules → docs."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from ddoctor.model.fix import Applicability, Edit, FileFix, RuleInfo
from ddoctor.render.jsonout import envelope

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
    checked = sum(1 for r in results if r.skipped is None)
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
        notes.append(_n(errors, "error"))
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
