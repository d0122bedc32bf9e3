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
from ddoctor.render.console import capture
from ddoctor.render.jsonout import envelope
from ddoctor.render.options import RenderOptions
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
    how = f"{n} process(es)" + (f", {', '.join(sources)}" if sources else ", no Python stacks") + \
        f", {s.duration_s:.1f} s"
    if s.trigger == "hang-timeout":
        quiet = f"{s.quiet_s:.0f} s" if s.quiet_s is not None else "too long"
        return f"ddoctor: the job made no progress for {quiet}: it looks hung. Snapshot ({how}):"
    if s.trigger == "interrupt":
        return f"ddoctor: interrupted. Where each rank was ({how}):"
    world = f" of a {s.world_size}-rank job" if s.world_size else ""
    return f"ddoctor snapshot{world} ({how}):"


def _group_head(g: StackGroup, cwd: str | None, suspect: bool) -> Text:
    t = Text("  ")
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
        t.append("  <- suspect", style="bold red")
    return t


def _stack(g: StackGroup, cwd: str | None) -> list[Text]:
    out = []
    if g.native:
        out.append(Text("      native: " + " <- ".join(g.native[:4]), style="dim"))
    for f in g.frames[:MAX_FRAMES]:
        t = Text("      ")
        t.append(f"{f.function or '?'}", style="dim" if f.is_library else "")
        t.append(f"  {short_path(f.filename, cwd)}" + (f":{f.lineno}" if f.lineno else ""), style="dim")
        out.append(t)
    if len(g.frames) > MAX_FRAMES:
        out.append(Text(f"      ... {len(g.frames) - MAX_FRAMES} outer frames (--format json has them)", style="dim"))
    return out


def _gone(r: RankStack) -> Text:
    t = Text("  ")
    t.append(f"rank {r.rank}" if r.rank is not None else f"pid {r.pid}", style="bold red")
    t.append(f" (pid {r.pid})  not running: {r.exit}", style="")
    return t


def render_text(s: HangSnapshot, console: Console, *, verbose: bool = False) -> None:
    console.print(Text(_headline(s), style="bold"))
    v = s.verdict
    line = Text()
    line.append("[✗] " if s.problem else "[!] ", style="bold red" if s.problem else "yellow")
    line.append(v.summary, style="bold")
    console.print(line)
    cwd = next((r.cwd for r in s.ranks if r.cwd), None)
    suspects = set(v.suspects)
    if s.groups or any(r.exit for r in s.ranks):
        console.print(Text(f"Ranks by stack ({len(s.groups)} group{'s' if len(s.groups) != 1 else ''})",
                           style="bold underline"))
    ordered = sorted(s.groups, key=lambda g: (not (set(g.ranks) & suspects),))
    for g in ordered:
        console.print(_group_head(g, cwd, bool(set(g.ranks) & suspects)))
        if g.frames and (verbose or len(s.groups) <= 6):
            for t in _stack(g, cwd):
                console.print(t)
    for r in s.ranks:
        if r.exit is not None:
            console.print(_gone(r))
            if r.kill is not None:
                console.print(Text(f"      {r.kill.summary}", style="yellow"))
    if s.missing:
        console.print(Text(f"  {_ranks(s.missing)} not found on this host", style="bold red"))
    if s.remote:
        console.print(Text(f"  {_ranks(s.remote)} run on other hosts (not examined here)", style="dim"))
    for r in s.ranks:
        if r.last_line and (verbose or r.rank in suspects):
            console.print(Text(f"  rank {r.rank} last printed: {r.last_line[:300]}", style="dim"))
    if v.next_steps or v.commands:
        console.print(Text("Next", style="bold underline"))
        for step in v.next_steps:
            console.print(Text(f"  • {step}"))
        for c in v.commands:
            console.print(Text(f"    $ {c}", style="cyan"), soft_wrap=True)
    if s.fr is not None:
        fr = s.fr
        head = f"Flight recorder ({fr.how}; dumps of {_ranks(fr.ranks) if fr.ranks else 'no rank'})"
        console.print(Text(head, style="bold underline"))
        for p in fr.problems:
            console.print(Text(f"  [✗] {p}", style="bold red"))
        if fr.ranks and not fr.problems:
            console.print(Text("  every rank issued the same collectives in the same order", style="green"))
        for u in fr.unreadable:
            console.print(Text(f"  unreadable: {u}", style="yellow"))
    if s.ras is not None:
        console.print(Text(f"NCCL RAS ({s.ras.address}): {STATE_WORDS.get(s.ras.state, s.ras.state)}",
                           style="bold underline"))
        for f in s.ras.findings:
            console.print(Text(f"  {f.title}: {f.summary}"))
    if s.launchers:
        console.print(Text("Launchers: " + ", ".join(s.launchers), style="dim"))
    for n in s.notes:
        console.print(Text(f"note: {n}", style="dim"))


def render_json(s: HangSnapshot) -> str:
    return envelope("snapshot", {**s.to_dict(), "problem": s.problem})


def text(s: HangSnapshot, opts: RenderOptions) -> str:
    """The format table's entry: the snapshot drawn in the terminal's style (width, colour, ASCII)."""
    return capture(opts.style, lambda console: render_text(s, console, verbose=opts.verbose))


def json(s: HangSnapshot, opts: RenderOptions) -> str:
    return render_json(s)
