"""ReshardReport → text and JSON (ddoctor.reshard/1)."""

from __future__ import annotations

import shlex

from rich.text import Text

from ddoctor.model.reshard import ReshardReport
from ddoctor.render.console import Lines, plural
from ddoctor.render.jsonout import envelope
from ddoctor.render.options import RenderOptions
from ddoctor.units import human_bytes


def text(r: ReshardReport, opts: RenderOptions) -> str:
    out = Lines(opts.style)
    working = r.peak_rss - r.baseline_rss
    out.prose(Text(f"resharded MP={r.from_mp} into MP={r.to_mp}: {plural(r.keys, 'key')}, "
                   f"{human_bytes(r.input_bytes)}, in {r.seconds:.1f} s", style="bold"), hang=2)
    out.whole(f"from: {r.input}", indent=2)
    out.whole(f"into: {r.output}", indent=2)
    out.prose(f"peak memory {human_bytes(r.peak_rss)} ({human_bytes(working)} above the interpreter, "
              f"{working / r.largest_shard:.2f}x the largest shard)", indent=2, hang=2)
    out.whole(Text("run it with:", style="bold"))
    out.whole(f"$ torchrun --nproc_per_node {r.to_mp} ... --ckpt_dir {shlex.quote(r.output)}", indent=2, style="cyan")
    return out.render()


def json(r: ReshardReport, opts: RenderOptions) -> str:
    return envelope("reshard", r.to_dict())
