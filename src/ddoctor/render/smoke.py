"""SmokeReport → terminal and JSON (ddoctor.smoke/1)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ddoctor.model.smoke import SmokeReport
from ddoctor.render.check import ICON, STYLE
from ddoctor.render.diagnose import _panel
from ddoctor.render.jsonout import envelope
from ddoctor.units import human_bytes


def _ms(s: float | None) -> str:
    return "" if s is None else (f"{s * 1000:.0f} ms" if s < 10 else f"{s:.1f} s")


def render_text(r: SmokeReport, console: Console, *, verbose: bool = False) -> None:
    c = r.config
    what = f"checkpoint {c['checkpoint']}" if c.get("checkpoint") else "tiny LLaMA"
    console.print(Text(f"ddoctor smoke · {what}, {c['world_size']} rank(s) · {c['backend']} on {c['device']} · "
                       f"{c['reason']}", style="bold"))
    table = Table(box=None, show_header=False, pad_edge=False)
    for s in r.steps:
        table.add_row(Text(f"[{ICON[s.status]}]", style=STYLE[s.status]), Text(s.name, style="bold"),
                      _ms(s.duration_s), s.detail)
    console.print(table)
    m = r.metrics
    if "tokens_per_s" in m:
        mem = ", ".join(human_bytes(x) for x in m["peak_memory_per_rank"])
        console.print(Text(f"rendezvous {_ms(m['rendezvous_s'])} · shard load {_ms(m['shard_load_s'])} · first token "
                           f"{_ms(m['first_token_s'])} · {m['tokens_per_s']:.0f} tokens/s · collective latency "
                           f"{m['collective_latency_s'] * 1e6:.0f} µs ({m['collectives_per_step']:.0f} collectives per "
                           f"step) · peak memory per rank {mem}", style="dim"))
    if verbose and r.outputs:
        for prompt, out in zip(r.outputs["prompts"], r.outputs["greedy"], strict=False):
            console.print(Text(f"  {prompt!r} → {out!r}", style="dim"))
    if not r.ok:
        bad = [x for x in r.ranks if x.exitcode not in (0,) or x.killed_by_ddoctor]
        if bad:
            rt = Table("rank", "exit", "last phase", "", box=None, header_style="bold")
            for x in r.ranks:
                rt.add_row(str(x.rank), "stopped" if x.killed_by_ddoctor else str(x.exitcode), x.last_phase,
                           "stopped by ddoctor (did not finish)" if x.killed_by_ddoctor else "")
            console.print(rt)
        for i, d in enumerate(r.diagnoses[:2] if not verbose else r.diagnoses):
            console.print(_panel(d, i))
    style = "bold green" if r.ok else "bold red"
    console.print(Text(f"{'PASS' if r.ok else 'FAIL'}: {r.summary} ({r.duration_s:.1f} s)", style=style))
    if r.workdir:
        console.print(Text(f"checkpoint and logs kept in {r.workdir}", style="dim"))


def render_json(r: SmokeReport) -> str:
    return envelope("smoke", r.to_dict())
