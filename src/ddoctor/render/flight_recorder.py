"""Flight-recorder analysis → text and JSON (ddoctor.fr/1)."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from ddoctor.render.jsonout import envelope


def render_text(rep, console: Console) -> None:
    console.print(Text(f"flight recorder: {len(rep.ranks)} rank dump(s)", style="bold"))
    for line in rep.unreadable:
        console.print(Text(f"  unreadable: {line}", style="yellow"))
    if rep.last_completed:
        console.print(Text("  last completed collective per rank: " + ", ".join(
            f"rank {r}: #{c}" for r, c in sorted(rep.last_completed.items())), style="dim"))
    if not rep.problems:
        console.print(Text("every rank issued the same collectives in the same order", style="bold green"))
        return
    for p in rep.problems:
        console.print(Text(f"[✗] process group {p.process_group or 'default'}: {p.text}", style="bold red"))
    console.print(Text("fix: make every rank call the same collectives in the same order (look for rank-dependent "
                       "branches or early returns around this call); TORCH_DISTRIBUTED_DEBUG=DETAIL reports such "
                       "mismatches as errors instead of hangs", style="dim"))


def render_json(rep) -> str:
    return envelope("fr", rep.to_dict())
