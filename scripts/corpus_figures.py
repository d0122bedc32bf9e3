"""Diagnosis figures on the real-world corpus, per split: top-1, failing logs called clean, clean logs
called failed. Misses are listed for the tuning split only: the test split is never looked at
case by case (it measures generalisation; tuning on it would make the figure meaningless).

Usage: python scripts/corpus_figures.py [INDEX.jsonl ...] [--windowed] [--show-tune-misses] [--round N]
Default indexes: fixtures/realworld/*/index.jsonl and ../shared/corpus/index.jsonl.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from ddoctor.host.log_input import open_log
from ddoctor.kb.engine import Session

ROOT = Path(__file__).resolve().parents[1]


def entries(index: Path) -> list[dict]:
    out = []
    for line in index.read_text(encoding="utf-8").splitlines():
        if line.strip():
            e = json.loads(line)
            e["_path"] = index.parent / e["file"]
            e.setdefault("split", "shared")
            out.append(e)
    return out


def diagnose(path: Path, windowed: bool) -> list[str]:
    """As `ddoctor diagnose FILE` reads it (open_log: gzip, UTF-16); `windowed` forces the large-log scan
    on every input (by default only inputs over reader.SMALL take it)."""
    s = Session(small=0) if windowed else Session()
    inp = open_log(str(path))
    try:
        s.add_stream(inp.stream, path.name)
    finally:
        inp.close()
    return [d.name for d in s.result().diagnoses]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("index", nargs="*", type=Path)
    ap.add_argument("--windowed", action="store_true", help="force the large-log (windowed) scan")
    ap.add_argument("--show-tune-misses", action="store_true")
    ap.add_argument("--round", type=int, help="only the logs of this corpus round (a hold-out measured once)")
    a = ap.parse_args()
    indexes = a.index or sorted(ROOT.glob("fixtures/realworld/*/index.jsonl"))
    if not a.index and (ROOT.parent / "shared" / "corpus" / "index.jsonl").exists():
        indexes.append(ROOT.parent / "shared" / "corpus" / "index.jsonl")
    rows: dict[str, Counter] = {}
    misses = []
    for index in indexes:
        for e in entries(index):
            if a.round is not None and e.get("round") != a.round:
                continue
            names = diagnose(e["_path"], a.windowed)
            got = names[0] if names else "none"
            want = e["cause"].removeprefix("NEW:")
            c = rows.setdefault(e["split"], Counter())
            c["logs"] += 1
            c["top1"] += got == want
            c["failing"] += want != "none"
            c["clean"] += want == "none"
            c["failing_called_clean"] += want != "none" and got == "none"
            c["clean_called_failed"] += want == "none" and got != "none"
            if got != want and e["split"] != "test":
                misses.append((e["split"], e["file"], want, names[:3]))
    print(f"{'split':8} {'logs':>5} {'top-1':>7} {'failing->clean':>15} {'clean->failed':>14}")
    for split, c in sorted(rows.items()):
        print(f"{split:8} {c['logs']:5d} {c['top1'] / max(c['logs'], 1):7.3f} "
              f"{c['failing_called_clean']:6d}/{c['failing']:<8d} {c['clean_called_failed']:5d}/{c['clean']:<8d}")
    if a.show_tune_misses:
        for split, f, want, got in misses:
            print(f"  miss [{split}] {f}: want {want}, got {got}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
