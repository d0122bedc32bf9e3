"""Fix results → ruff-style text with diffs, and JSON (ddoctor.fix/1)."""

from __future__ import annotations

from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

from ddoctor.render.jsonout import envelope


def render_text(results, console: Console, *, write: bool, unsafe: bool, show_diff: bool) -> None:
    fixable = sum(len(r.applied) for r in results)
    total = sum(len(r.edits) for r in results)
    for r in results:
        if r.error:
            console.print(Text(f"{r.path}: error: {r.error}", style="bold red"))
            continue
        for e in r.edits:
            mark = "[*]" if e in r.applied else "[unsafe]"
            t = Text(f"{r.path}:{e.line}:{e.col}: ", style="bold")
            t.append(e.code, style="red")
            t.append(f" {e.message} ")
            t.append(mark, style="cyan" if e in r.applied else "yellow")
            console.print(t)
        if show_diff and r.diff and not write:
            console.print(Syntax(r.diff, "diff", theme="ansi_dark", background_color="default"))
    files = sum(1 for r in results if r.edits)
    unsafe_left = total - fixable
    if write:
        msg = f"Fixed {fixable} issue(s) in {sum(1 for r in results if r.applied)} file(s)"
        if unsafe_left:
            msg += f"; {unsafe_left} more need --unsafe-fixes"
    elif total:
        msg = f"Found {total} issue(s) in {files} file(s): {fixable} fixable with --write"
        if unsafe_left:
            msg += f", {unsafe_left} more with --write --unsafe-fixes"
    else:
        msg = "No issues found"
    console.print(Text(msg, style="bold"))


def render_json(results, *, write: bool) -> str:
    return envelope("fix", {"write": write, "files": [r.to_dict() for r in results if r.edits or r.error],
                            "summary": {"issues": sum(len(r.edits) for r in results),
                                        "applicable": sum(len(r.applied) for r in results),
                                        "errors": sum(1 for r in results if r.error)}})


def rule_markdown(info) -> str:
    return "\n".join([
        f"# {info.name} ({info.code})", "", f"**{info.summary}** — fix applicability: "
        f"{'safe' if info.safe else 'unsafe (needs --unsafe-fixes)'}", "", "## Why", "", info.why, "",
        "## Example", "", "```python", info.before, "```", "", "Becomes:", "", "```python", info.after, "```", "",
        "## When it is not safe", "", info.unsafe_when, "",
        f"Removes the cause of: {', '.join(info.fixes)}" if info.fixes else "", ""])
