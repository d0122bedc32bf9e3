"""Cluster fingerprints → a table of what differs across ranks and nodes; JSON (ddoctor.cluster/1)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ddoctor.render.jsonout import envelope


def _ranks(rs: list[int]) -> str:
    return ",".join(map(str, rs[:16])) + ("…" if len(rs) > 16 else "")


def render_text(fps, diffs, slow, console: Console) -> None:
    hosts = sorted({fp["host"] for fp in fps})
    console.print(Text(f"ddoctor check --cluster · {len(fps)} rank(s) on {len(hosts)} host(s)", style="bold"))
    same = [f"{k} {fps[0][k]}" for k in ("torch", "torch_cuda", "nccl", "driver", "python")
            if not any(d["field"] == k for d in diffs)]
    console.print(Text("identical on every rank: " + ", ".join(same), style="green"))
    if diffs:
        t = Table("", "differs", "value", "ranks", box=None, header_style="bold")
        for d in diffs:
            first = True
            for value, ranks in d["values"].items():
                t.add_row(Text("✗" if d["critical"] else "!", style="bold red" if d["critical"] else "yellow")
                          if first else "", d["field"] if first else "", value, _ranks(ranks))
                first = False
        console.print(t)
    for rank, late in slow:
        console.print(Text(f"straggler: rank {rank} arrived {late:.1f} s after the first", style="yellow"))
    bad = [fp for fp in fps if fp["failed_checks"]]
    for fp in bad:
        console.print(Text(f"rank {fp['rank']} ({fp['host']}) failed checks: {fp['failed_checks']} — run "
                           f"`ddoctor check` there", style="red"))
    critical = [d for d in diffs if d["critical"]]
    verdict = ("skew that causes hangs or failures: " + ", ".join(d["field"] for d in critical) if critical else
               "no critical differences" if not bad else "some ranks failed their own checks")
    console.print(Text(verdict, style="bold red" if critical or bad else "bold green"))


def render_json(fps, diffs, slow) -> str:
    return envelope("cluster", {"ranks": fps, "differences": diffs,
                                "stragglers": [{"rank": r, "late_s": round(s, 3)} for r, s in slow]})
