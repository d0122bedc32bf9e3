"""`ddoctor check` against `python -m torch.utils.collect_env` on the same machine, interleaved.

Floor (research/perf-baselines.md §2): collect_env ~2.64 s on this class of machine, 220 MiB; the
target is at most 0.6x its wall time. Three ddoctor variants are measured:
  warm  - the default: torch's build facts come from the per-install cache (no `import torch`);
  cold  - `--no-cache`: imports torch in a child process, as the first run on a machine does;
  help  - `ddoctor --help`, the CLI start-up floor (target <= ~0.2 s, never imports torch).
Usage: python bench/check_vs_collect_env.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import median_runs, paired_ratio

TARGET = 0.6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    cache = tempfile.mkdtemp(prefix="ddoctor-bench-cache-")
    env = {**os.environ, "XDG_CACHE_HOME": cache, "NO_COLOR": "1"}
    py = sys.executable
    res = median_runs({
        "collect_env": [py, "-m", "torch.utils.collect_env"],
        "check_warm": [py, "-m", "ddoctor", "check", "-v"],
        "check_cold": [py, "-m", "ddoctor", "check", "-v", "--no-cache"],
        "help": [py, "-m", "ddoctor", "--help"],
    }, a.runs, env=env)
    ce = res["collect_env"]
    print(f"{a.runs} interleaved runs each after a warm-up; median (min..max) wall, peak RSS of the process tree")
    for k, label in (("collect_env", "python -m torch.utils.collect_env"), ("check_warm", "ddoctor check -v"),
                     ("check_cold", "ddoctor check -v --no-cache"), ("help", "ddoctor --help")):
        r = res[k]
        line = (f"  {label:36} {r['median']:.3f} s ({r['min']:.3f}..{r['max']:.3f})  "
                f"peak {r['peak_rss'] / 2**20:.0f} MiB")
        if k != "collect_env":
            m, lo, hi = paired_ratio(r["walls"], ce["walls"])
            line += f"  ratio vs collect_env {m:.2f} ({lo:.2f}..{hi:.2f})"
        print(line)
    warm = paired_ratio(res["check_warm"]["walls"], ce["walls"])[0]
    cold = paired_ratio(res["check_cold"]["walls"], ce["walls"])[0]
    print(f"vs floor: default check at {warm:.2f}x collect_env (target <= {TARGET}x) -> "
          f"{'met' if warm <= TARGET else 'NOT met'}; first run on a machine (cold) {cold:.2f}x")


if __name__ == "__main__":
    main()
