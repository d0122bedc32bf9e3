"""`ddoctor smoke` (2 ranks, Gloo on CPU) against the bare distributed floor, interleaved in one run.

Floor (research/perf-baselines.md §3): two plain processes that import torch, init Gloo, all_reduce
and exit: ~2.6 s on this class of machine. Target: the whole smoke test (checkpoint write, rendezvous,
sharded load, greedy + top-p generation, unsharded reference, verification) within 1.5x the floor.
Usage: python bench/smoke_vs_floor.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import median_runs, paired_ratio

TARGET = 1.5


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    py = sys.executable
    env = {**os.environ, "NO_COLOR": "1"}
    res = median_runs({
        "floor": [py, str(Path(__file__).with_name("dist_floor.py")), "2"],
        "smoke": [py, "-m", "ddoctor", "smoke", "--nproc", "2", "--no-host"],
    }, a.runs, env=env)
    f, s = res["floor"], res["smoke"]
    ratio = paired_ratio(s["walls"], f["walls"])
    print(f"{a.runs} interleaved runs each after a warm-up, cpus={os.cpu_count()}")
    print(f"  bare floor (2 procs: import torch, gloo init, all_reduce): {f['median']:.3f} s "
          f"({f['min']:.3f}..{f['max']:.3f}), peak {f['peak_rss'] / 2**20:.0f} MiB per process")
    print(f"  ddoctor smoke --nproc 2:                                   {s['median']:.3f} s "
          f"({s['min']:.3f}..{s['max']:.3f}), peak {s['peak_rss'] / 2**20:.0f} MiB per process")
    print(f"vs floor: smoke/floor (paired) {ratio[0]:.2f} ({ratio[1]:.2f}..{ratio[2]:.2f}); target <= {TARGET} -> "
          f"{'met' if ratio[0] <= TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
