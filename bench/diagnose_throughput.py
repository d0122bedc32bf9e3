"""`ddoctor diagnose` throughput on a generated 1 GiB multi-rank log, against `grep -c -E`.

Floors (research/perf-baselines.md §6): grep -E ~1,678 MB/s on this class of machine; the target
is at least 300 MB/s (about 1/6 of grep) with a peak RSS under 150 MB for the whole process tree.
Both tools search the same literal set: the triggers ddoctor's prefilter uses.
Usage: python bench/diagnose_throughput.py [--bytes N] [--runs N] [--keep PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import median_runs, paired_ratio

from ddoctor.parse.reader import TRIGGERS

TARGET_MBS = 300.0
TARGET_RSS_MB = 150.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bytes", type=int, default=1 << 30)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", help="reuse/keep the generated log at this path")
    a = ap.parse_args()
    tmp = None
    path = a.keep
    if not path:
        tmp = tempfile.mkdtemp(prefix="ddoctor-bench-")
        path = os.path.join(tmp, "synth.log")
    if not os.path.exists(path) or os.path.getsize(path) != a.bytes:
        subprocess.run([sys.executable, str(Path(__file__).with_name("gen_synth_log.py")), path, str(a.bytes)],
                       check=True)
    pattern = "|".join(t.decode() for t in TRIGGERS)
    env = {**os.environ, "LC_ALL": "C"}
    try:
        res = median_runs({
            "ddoctor": [sys.executable, "-m", "ddoctor", "diagnose", "--no-host", "--format", "json", path],
            "grep": ["grep", "-c", "-E", pattern, path],
        }, a.runs, env=env)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    mb = a.bytes / 1e6
    d, g = res["ddoctor"], res["grep"]
    ratio = paired_ratio(d["walls"], g["walls"])
    print(f"input: {a.bytes:,} bytes, {a.runs} interleaved runs each, cpus={os.cpu_count()}")
    print(f"grep -c -E '{pattern}' (LC_ALL=C): median {g['median']:.3f} s  -> {mb / g['median']:,.0f} MB/s")
    print(f"ddoctor diagnose:  median {d['median']:.3f} s ({d['min']:.3f}..{d['max']:.3f})  -> "
          f"{mb / d['median']:,.0f} MB/s, peak tree RSS {d['peak_rss'] / 2**20:.0f} MiB")
    print(f"ddoctor/grep wall (paired): {ratio[0]:.2f} ({ratio[1]:.2f}..{ratio[2]:.2f})")
    print(f"vs floor: throughput {mb / d['median'] / TARGET_MBS:.2f}x the 300 MB/s target; "
          f"RSS {d['peak_rss'] / 2**20 / TARGET_RSS_MB:.2f}x the 150 MB budget")


if __name__ == "__main__":
    main()
