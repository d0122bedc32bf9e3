"""`ddoctor check` and `ddoctor report` against `python -m torch.utils.collect_env`, interleaved.

Floors (research/perf-baselines.md §2): collect_env ~2.64 s on this class of machine, 220 MiB, which is
~1.3x a bare `python -c "import torch"`. Targets (issue 17):
  check warm  <= 0.1x collect_env   - `ddoctor check` as users run it: torch's build facts come from the
                                      per-install cache (`check -v`, which renders every check, is shown too);
  check cold  <= 1.1x import torch  - `--no-cache`: torch is imported in a child, as on a machine's first run;
  report      <= 0.5x collect_env   - `ddoctor report`, everything collect_env prints plus the verdicts;
  help        (the CLI start-up floor, never imports torch).
One run prints every ratio against its floor. Usage: python bench/check_vs_collect_env.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import median_runs, paired_ratio

TARGETS = {"check_warm": ("collect_env", 0.1), "check_warm_v": ("collect_env", 0.1),
           "check_cold": ("import_torch", 1.1), "report": ("collect_env", 0.5)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    cache = tempfile.mkdtemp(prefix="ddoctor-bench-cache-")
    env = {**os.environ, "XDG_CACHE_HOME": cache, "NO_COLOR": "1"}
    py = sys.executable
    commands = {
        "collect_env": [py, "-m", "torch.utils.collect_env"],
        "import_torch": [py, "-c", "import torch"],
        "check_warm": [py, "-m", "ddoctor", "check"],
        "check_warm_v": [py, "-m", "ddoctor", "check", "-v"],
        "check_cold": [py, "-m", "ddoctor", "check", "-v", "--no-cache"],
        "report": [py, "-m", "ddoctor", "report"],
        "help": [py, "-m", "ddoctor", "--help"],
    }
    labels = {"collect_env": "python -m torch.utils.collect_env", "import_torch": 'python -c "import torch"',
              "check_warm": "ddoctor check", "check_warm_v": "ddoctor check -v",
              "check_cold": "ddoctor check -v --no-cache",
              "report": "ddoctor report", "help": "ddoctor --help"}
    res = median_runs(commands, a.runs, env=env)
    print(f"{a.runs} interleaved runs each after a warm-up; median (min..max) wall, peak RSS of the process tree")
    for k, label in labels.items():
        r = res[k]
        line = (f"  {label:36} {r['median']:.3f} s ({r['min']:.3f}..{r['max']:.3f})  cpu {r['cpu_median']:.3f} s  "
                f"peak {r['peak_rss'] / 2**20:.0f} MiB")
        if k in TARGETS:
            floor = TARGETS[k][0]
            m, lo, hi = paired_ratio(r["walls"], res[floor]["walls"])
            line += f"  {m:.2f}x {floor} ({lo:.2f}..{hi:.2f})"
        print(line)
    print("vs floors (paired wall-time ratio; CPU-time ratio in brackets):")
    for k, (floor, target) in TARGETS.items():
        m = paired_ratio(res[k]["walls"], res[floor]["walls"])[0]
        c = paired_ratio(res[k]["cpus"], res[floor]["cpus"])[0]
        print(f"  {labels[k]:36} {m:.2f}x [{c:.2f}x] {labels[floor]} (target <= {target}x) -> "
              f"{'met' if m <= target else 'NOT met'}")


if __name__ == "__main__":
    main()
