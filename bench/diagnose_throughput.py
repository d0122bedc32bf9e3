"""`ddoctor diagnose` throughput against grep, in one run, for every shape the floors name.

Floors (research/perf-baselines.md §6 and issue 11's acceptance):
- a clean 1 GiB multi-rank log: >= 1 GB/s and at most 2x the time of `grep -c -E` for the same
  failure words;
- a log where every line contains "error" (Lightning's `val_error=` on every step): >= 300 MB/s;
- a 100 KB paste, end to end (process start to exit): <= 0.15 s;
- peak RSS of the whole process tree < 150 MB in every case.
Every figure is a median of interleaved runs after a warm-up (the hyperscan database is compiled
once and cached, as it is for a user after the first run).
Usage: python bench/diagnose_throughput.py [--bytes N] [--runs N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import median_runs, paired_ratio

CLEAN_MBS, ERROR_MBS, PASTE_S, RSS_MB, GREP_RATIO = 1000.0, 300.0, 0.15, 150.0, 2.0
PATTERN = "Traceback|Error|NCCL WARN|Watchdog caught|timed out|Killed|Segmentation fault"


def error_lines_log(path: str, size: int) -> None:
    """Lightning-style progress on every line, each containing "error", and one real failure."""
    rnd = random.Random(7)
    lines = []
    for step in range(20000):
        lines.append(f"Epoch {step // 500}: {step % 500 * 100 // 500:3d}%|#####     | {step % 500}/500 "
                     f"[00:{step % 60:02d}<00:30, 16.2it/s, loss={rnd.random():.4f}, val_error={rnd.random():.4f}, "
                     f"error_rate={rnd.random():.3f}]\n")
    block = "".join(lines).encode()
    with open(path, "wb") as f:
        written = 0
        while written + len(block) < size:
            f.write(block)
            written += len(block)
        f.write(b"RuntimeError: Distributed package doesn't have NCCL built in\n")


def paste(path: str, size: int = 100_000) -> None:
    unit = Path(__file__).resolve().parents[1] / "fixtures" / "logs" / "f101-nccl-unavailable.log"
    text = unit.read_bytes()
    noise = b"[rank0]:[2026-11-24 17:00:00] INFO trainer.py:12 step 10 loss 0.5\n"
    with open(path, "wb") as f:
        f.write(noise * ((size - len(text)) // len(noise)) + text)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bytes", type=int, default=1 << 30)
    ap.add_argument("--error-bytes", type=int, default=256 << 20)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", help="reuse/keep the generated logs in this folder")
    a = ap.parse_args()
    tmp = a.keep or tempfile.mkdtemp(prefix="ddoctor-bench-")
    os.makedirs(tmp, exist_ok=True)
    clean, errors, small = (os.path.join(tmp, n) for n in ("synth.log", "errors.log", "paste.log"))
    if not os.path.exists(clean) or os.path.getsize(clean) != a.bytes:
        subprocess.run([sys.executable, str(Path(__file__).with_name("gen_synth_log.py")), clean, str(a.bytes)],
                       check=True)
    if not os.path.exists(errors):
        error_lines_log(errors, a.error_bytes)
    paste(small)
    mb, emb = a.bytes / 1e6, os.path.getsize(errors) / 1e6
    env = {**os.environ, "LC_ALL": "C"}
    dd = [sys.executable, "-m", "ddoctor", "diagnose", "--no-host", "--format", "json"]
    try:
        res = median_runs({"ddoctor": [*dd, clean], "grep": ["grep", "-c", "-E", PATTERN, clean],
                           "ddoctor-errors": [*dd, errors], "grep-errors": ["grep", "-c", "-E", PATTERN, errors],
                           "paste": [*dd, small]}, a.runs, env=env)
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    d, g, de, ge, p = (res[k] for k in ("ddoctor", "grep", "ddoctor-errors", "grep-errors", "paste"))
    ratio = paired_ratio(d["walls"], g["walls"])
    peak = max(d["peak_rss"], de["peak_rss"], p["peak_rss"]) / 2**20
    print(f"cpus={os.cpu_count()}, {a.runs} interleaved runs each, medians; pattern for grep: {PATTERN}")
    print(f"clean {a.bytes:,} B: ddoctor {d['median']:.3f} s = {mb / d['median']:,.0f} MB/s "
          f"(floor {CLEAN_MBS:.0f}: {mb / d['median'] / CLEAN_MBS:.2f}x); grep {g['median']:.3f} s = "
          f"{mb / g['median']:,.0f} MB/s; ddoctor/grep {ratio[0]:.2f} ({ratio[1]:.2f}..{ratio[2]:.2f}; "
          f"limit {GREP_RATIO:.1f})")
    print(f"'error' on every line {emb * 1e6:,.0f} B: ddoctor {de['median']:.3f} s = {emb / de['median']:,.0f} MB/s "
          f"(floor {ERROR_MBS:.0f}: {emb / de['median'] / ERROR_MBS:.2f}x); grep {ge['median']:.3f} s")
    print(f"100 KB paste end to end: {p['median']:.3f} s (limit {PASTE_S:.2f} s: {p['median'] / PASTE_S:.2f}x)")
    print(f"peak tree RSS: {peak:.0f} MiB (limit {RSS_MB:.0f}: {peak / RSS_MB:.2f}x)")


if __name__ == "__main__":
    main()
