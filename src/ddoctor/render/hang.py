"""HangSnapshot -> terminal text and JSON (schema ddoctor.snapshot/1).

The finding comes first, in one sentence; then the ranks grouped by stack (outliers first, the
majority once), each group with its innermost user frame and its stack; then what to do, what
the flight recorder and NCCL add, and what could not be done. Everything read from the job (paths,
function names, output lines) is printed as plain text, never as markup.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from ddoctor.model.hang import HangSnapshot, RankStack, StackGroup, short_path, where
from ddoctor.ranksets import plural_ranks
from ddoctor.render.console import Lines, plural
from ddoctor.render.jsonout import envelope
from ddoctor.render.options import RenderOptions, Style
from ddoctor.render.ras import STATE_WORDS

MAX_FRAMES = 12  # of a group's stack in text (JSON has them all)


def _ranks(ranks: tuple[int, ...]) -> str:
    real = [r for r in ranks if r >= 0]
    if len(real) != len(ranks):
        return "process"
    return plural_ranks(real)


def _headline(s: HangSnapshot) -> str:
    n = len([r for r in s.ranks if r.exit is None])
    sources = sorted({r.source for r in s.ranks if r.exit is None and r.source != "none"})
    how = plural(n, "process", "processes") + (f", {', '.join(sources)}" if sources else ", no Python stacks") + \
        f", {s.duration_s:.1f} s"
    if s.trigger == "hang-timeout":
        quiet = f"{s.quiet_s:.0f} s" if s.quiet_s is not None else "too long"
        return f"ddoctor: the job made no progress for {quiet}: it looks hung. Snapshot ({how}):"
    if s.trigger == "interrupt":
        return f"ddoctor: interrupted. Where each rank was ({how}):"
    world = f" of a {s.world_size}-rank job" if s.world_size else ""
    return f"ddoctor snapshot{world} ({how}):"


def _group_head(g: StackGroup, cwd: str | None, suspect: bool, arrow: str) -> Text:
    t = Text()
    t.append(_ranks(g.ranks), style="bold red" if suspect else "bold")
    if len(g.pids) <= 8:
        t.append(f" (pid {', '.join(map(str, g.pids))})", style="dim")
    t.append("  ")
    if g.collective:
        t.append(f"{'waits' if len(g.ranks) == 1 else 'wait'} in {g.collective}")
    elif g.function:
        t.append(f"in {g.function}")
    else:
        t.append(f"no stack: {g.no_stack}", style="yellow")
    if g.user_frame:
        t.append(f" at {where(g.user_frame, cwd)}")
    if suspect:
        t.append(f"  {arrow} suspect", style="bold red")
    return t


def _stack(g: StackGroup, cwd: str | None, arrow: str) -> list[Text]:
    out = []
    if g.native:
        out.append(Text("native: " + f" {arrow} ".join(g.native[:4]), style="dim"))
    for f in g.frames[:MAX_FRAMES]:
        t = Text()
        t.append(f"{f.function or '?'}", style="dim" if f.is_library else "")
        t.append(f"  {short_path(f.filename, cwd)}" + (f":{f.lineno}" if f.lineno else ""), style="dim")
        out.append(t)
    if len(g.frames) > MAX_FRAMES:
        out.append(Text(f"... {len(g.frames) - MAX_FRAMES} outer frames (--format json has them)", style="dim"))
    return out


def _gone(r: RankStack) -> Text:
    t = Text()
    t.append(f"rank {r.rank}" if r.rank is not None else f"pid {r.pid}", style="bold red")
    t.append(f" (pid {r.pid})  not running: {r.exit}", style="")
    return t


def text(s: HangSnapshot, opts: RenderOptions) -> str:
    """Prose wraps with a hanging indent; frames (`file:line`) and commands are never broken."""
    out = Lines(opts.style)
    g = out.g
    back = "<-" if opts.style.ascii else "←"
    out.prose(Text(_headline(s), style="bold"), hang=2)
    v = s.verdict
    line = Text()
    line.append(f"[{g.fail}] " if s.problem else f"[{g.warn}] ", style="bold red" if s.problem else "yellow")
    line.append(v.summary, style="bold")
    out.prose(line, hang=4)
    cwd = next((r.cwd for r in s.ranks if r.cwd), None)
    suspects = set(v.suspects)
    if s.groups or any(r.exit for r in s.ranks):
        out.whole(Text(f"Ranks by stack ({plural(len(s.groups), 'group')})", style="bold underline"))
    ordered = sorted(s.groups, key=lambda grp: (not (set(grp.ranks) & suspects),))
    for grp in ordered:
        out.prose(_group_head(grp, cwd, bool(set(grp.ranks) & suspects), back), indent=2, hang=4)
        if grp.frames and (opts.verbose or len(s.groups) <= 6):
            for t in _stack(grp, cwd, back):
                out.whole(t, indent=6)
    for r in s.ranks:
        if r.exit is not None:
            out.prose(_gone(r), indent=2, hang=4)
            if r.kill is not None:
                out.prose(Text(r.kill.summary, style="yellow"), indent=6, hang=2)
    if s.missing:
        out.prose(Text(f"{_ranks(s.missing)} not found on this host", style="bold red"), indent=2, hang=2)
    if s.remote:
        out.prose(Text(f"{_ranks(s.remote)} run on other hosts (not examined here)", style="dim"), indent=2, hang=2)
    for r in s.ranks:
        if r.last_line and (opts.verbose or r.rank in suspects):
            out.prose(Text(f"rank {r.rank} last printed: {r.last_line[:300]}", style="dim"), indent=2, hang=4)
    if v.next_steps or v.commands:
        out.whole(Text("Next", style="bold underline"))
        for step in v.next_steps:
            out.prose(f"{g.bullet} {step}", indent=2, hang=2)
        for c in v.commands:
            out.whole(Text(f"$ {c}", style="cyan"), indent=4)
    if s.fr is not None:
        fr = s.fr
        head = f"Flight recorder ({fr.how}; dumps of {_ranks(fr.ranks) if fr.ranks else 'no rank'})"
        out.prose(Text(head, style="bold underline"), hang=2)
        for p in fr.problems:
            out.prose(Text(f"[{g.fail}] {p}", style="bold red"), indent=2, hang=4)
        if fr.ranks and not fr.problems:
            out.prose(Text("every rank issued the same collectives in the same order", style="green"), indent=2)
        for u in fr.unreadable:
            out.prose(Text(f"unreadable: {u}", style="yellow"), indent=2, hang=2)
    if s.ras is not None:
        out.prose(Text(f"NCCL RAS ({s.ras.address}): {STATE_WORDS.get(s.ras.state, s.ras.state)}",
                       style="bold underline"), hang=2)
        for f in s.ras.findings:
            out.prose(f"{f.title}: {f.summary}", indent=2, hang=2)
    if s.launchers:
        out.prose(Text("Launchers: " + ", ".join(s.launchers), style="dim"), hang=2)
    for n in s.notes:
        out.prose(Text(f"note: {n}", style="dim"), hang=6)
    return out.render()


def render_text(s: HangSnapshot, console: Console, *, verbose: bool = False) -> None:
    """Draw onto a console of the caller's (the bundle's plain-text member)."""
    console.file.write(text(s, RenderOptions(style=Style(width=console.width or 100), verbose=verbose)))


def render_json(s: HangSnapshot) -> str:
    return envelope("snapshot", {**s.to_dict(), "problem": s.problem})


def json(s: HangSnapshot, opts: RenderOptions) -> str:
    return render_json(s)
