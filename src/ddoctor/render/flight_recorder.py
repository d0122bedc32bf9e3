"""Flight-recorder analysis → text and JSON (ddoctor.fr/1)."""

from __future__ import annotations

from rich.text import Text

from ddoctor.model.flight_recorder import FrReport
from ddoctor.render.console import Lines, plural
from ddoctor.render.jsonout import envelope
from ddoctor.render.options import RenderOptions


def text(rep: FrReport, opts: RenderOptions) -> str:
    out = Lines(opts.style)
    g = out.g
    out.whole(Text(f"flight recorder: {plural(len(rep.ranks), 'rank dump')}", style="bold"))
    for line in rep.unreadable:
        out.prose(Text(f"unreadable: {line}", style="yellow"), indent=2, hang=2)
    if rep.last_completed:
        out.prose(Text("last completed collective per rank: " + ", ".join(
            f"rank {r}: #{c}" for r, c in sorted(rep.last_completed.items())), style="dim"), indent=2, hang=2)
    if not rep.problems:
        out.prose(Text("every rank issued the same collectives in the same order", style="bold green"), hang=2)
        return out.render()
    for p in rep.problems:
        out.prose(Text(f"[{g.fail}] process group {p.process_group or 'default'}: {p.text}", style="bold red"), hang=4)
    out.prose(Text("fix: make every rank call the same collectives in the same order (look for rank-dependent "
                   "branches or early returns around this call); TORCH_DISTRIBUTED_DEBUG=DETAIL reports such "
                   "mismatches as errors instead of hangs", style="dim"), hang=5)
    return out.render()


def json(rep: FrReport, opts: RenderOptions) -> str:
    return envelope("fr", rep.to_dict())
