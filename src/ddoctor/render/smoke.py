"""SmokeReport → terminal text and JSON (ddoctor.smoke/1)."""

from __future__ import annotations

from rich.text import Text

from ddoctor.model.smoke import SmokeReport
from ddoctor.render.check import STYLE, icon
from ddoctor.render.console import Lines, columns, plural
from ddoctor.render.diagnose import diagnosis_block
from ddoctor.render.jsonout import envelope
from ddoctor.render.options import RenderOptions
from ddoctor.units import human_bytes


def _duration(s: float | None) -> str:
    return "" if s is None else (f"{s * 1000:.0f} ms" if s < 10 else f"{s:.1f} s")


def text(r: SmokeReport, opts: RenderOptions) -> str:
    out = Lines(opts.style)
    g = out.g
    if opts.quiet:
        out.whole(f"{'PASS' if r.ok else 'FAIL'}: {r.summary}")
        return out.render()
    c = r.config
    what = f"checkpoint {c['checkpoint']}" if c.get("checkpoint") else "tiny LLaMA"
    out.prose(Text(f"ddoctor smoke {g.dot} {what}, {plural(c['world_size'], 'rank')} {g.dot} {c['backend']} on "
                   f"{c['device']} {g.dot} {c['reason']}", style="bold"), hang=2)
    columns(out, [((Text(f"[{icon(s.status, g)}]", style=STYLE[s.status]), Text(s.name, style="bold"),
                    _duration(s.duration_s)), s.detail) for s in r.steps], gap=1)
    m = r.metrics
    if "tokens_per_s" in m:
        mem = ", ".join(human_bytes(x) for x in m["peak_memory_per_rank"])
        out.prose(Text(f"rendezvous {_duration(m['rendezvous_s'])} {g.dot} shard load {_duration(m['shard_load_s'])} "
                       f"{g.dot} first token {_duration(m['first_token_s'])} {g.dot} {m['tokens_per_s']:.0f} tokens/s "
                       f"{g.dot} collective latency {m['collective_latency_s'] * 1e6:.0f} {g.micro}s "
                       f"({m['collectives_per_step']:.0f} collectives per step) {g.dot} peak memory per rank {mem}",
                       style="dim"), hang=2)
    if opts.verbose and r.outputs:
        for prompt, generated in zip(r.outputs["prompts"], r.outputs["greedy"], strict=False):
            out.prose(Text(f"{prompt!r} {g.arrow} {generated!r}", style="dim"), indent=2, hang=2)
    if not r.ok:
        if [x for x in r.ranks if x.exitcode not in (0,) or x.killed_by_ddoctor]:
            columns(out, [((Text("rank", style="bold"), Text("exit", style="bold")), Text("last phase", style="bold"))]
                    + [((str(x.rank), "stopped" if x.killed_by_ddoctor else str(x.exitcode)),
                        x.last_phase + (" (stopped by ddoctor: it did not finish)" if x.killed_by_ddoctor else ""))
                       for x in r.ranks])
        for i, d in enumerate(r.diagnoses if opts.verbose else r.diagnoses[:2]):
            diagnosis_block(out, d, i)
        if r.diagnoses:
            out.whole(Text(g.rule * opts.style.width, style="dim"))
    out.prose(Text(f"{'PASS' if r.ok else 'FAIL'}: {r.summary} ({r.duration_s:.1f} s)",
                   style="bold green" if r.ok else "bold red"), hang=2)
    if r.workdir:
        out.whole(Text("checkpoint and logs kept in ", style="dim") + Text(r.workdir, style="dim"))
    return out.render()


def json(r: SmokeReport, opts: RenderOptions) -> str:
    return envelope("smoke", r.to_dict())
