"""Peak memory of `ddoctor reshard` relative to the largest single shard (input or output).

Writes a synthetic ~1 GiB bf16 Meta-format checkpoint (LLaMA-like shapes: dim 2048, 8 layers, 16 heads /
8 KV heads, vocabulary 32000), then reshards 1 -> 4 -> 1. Target: working memory (peak RSS above the
interpreter with torch imported) under 2.5x the largest shard. The raw peak including the ~220 MiB
interpreter is printed too.
Usage: python bench/reshard_memory.py [--dim 2048] [--layers 8]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET = 2.5


def make(out: Path, dim: int, layers: int) -> None:
    import torch

    from ddoctor.llama_format import Params, full_shapes

    p = Params(dim=dim, n_layers=layers, n_heads=16, n_kv_heads=8, vocab_size=32000, multiple_of=256, norm_eps=1e-5)
    out.mkdir(parents=True)
    state = {k: torch.ones(s, dtype=torch.bfloat16) for k, s in full_shapes(p).items()}
    torch.save(state, out / "consolidated.00.pth")
    (out / "params.json").write_text(json.dumps({**p.to_json(), "vocab_size": -1}))


def run(src: Path, out: Path, mp: int) -> dict:
    r = subprocess.run([sys.executable, "-m", "ddoctor", "reshard", str(src), "--mp", str(mp), "--out", str(out),
                        "--format", "json"], capture_output=True, text=True, timeout=3600)
    if r.returncode:
        raise SystemExit(r.stderr)
    return json.loads(r.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dim", type=int, default=2048)
    ap.add_argument("--layers", type=int, default=8)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ddoctor-reshard-bench-"))
    try:
        make(tmp / "mp1", a.dim, a.layers)
        rows = [("1 -> 4", run(tmp / "mp1", tmp / "mp4", 4)), ("4 -> 1", run(tmp / "mp4", tmp / "back1", 1))]
        for label, d in rows:
            largest = max(d["largest_input_shard"], d["largest_output_shard"])
            print(f"{label}: {d['input_bytes'] / 2**20:.0f} MiB checkpoint, largest shard {largest / 2**20:.0f} MiB, "
                  f"{d['seconds']:.1f} s; peak RSS {d['peak_rss'] / 2**20:.0f} MiB "
                  f"({d['peak_rss_vs_largest_shard']:.2f}x), working {(d['peak_rss'] - d['baseline_rss']) / 2**20:.0f} "
                  f"MiB = {d['working_rss_vs_largest_shard']:.2f}x the largest shard (target < {TARGET}x)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
