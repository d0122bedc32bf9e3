"""Ingest a corpus round's staged logs into fixtures/realworld/threads.

    python scripts/corpus_ingest.py ROUND STAGING_DIR [STAGING_DIR ...]

Each staging folder holds `index.jsonl` and `tNNNN-<cause>.log` files written by a gatherer following
fixtures/realworld/briefs/common.md. A log is skipped when its thread is already in the corpus (or would be a
third log of one thread), when its label is not one check_index.py knows (relabel `NEW:` labels first, in the
staging index, saying why in `why`), or when its file is missing. Files are renamed to the next free number when
theirs is taken and to end in their cause; the split is recomputed from the source (the hash rule), and `round` is
added so `scripts/corpus_figures.py --round N` can measure the round once, before any change for it.
Exit status: 0 when something was added or nothing was offered, 1 when every offered log was skipped.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "realworld"
sys.path.insert(0, str(ROOT))
import check_index  # noqa: E402  (stdlib-only, beside the corpus)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("round", type=int)
    ap.add_argument("staging", nargs="+", type=Path)
    a = ap.parse_args(argv)
    dest = ROOT / "threads"
    index = dest / "index.jsonl"
    have = check_index.load(index)
    per_source: dict[str, int] = {}
    for e in have:
        per_source[e["source"]] = per_source.get(e["source"], 0) + 1
    old_sources = set(per_source)
    used_files = {e["file"] for e in have}
    added: list[dict] = []
    skipped: list[tuple[str, ...]] = []
    for folder in a.staging:
        for e in check_index.load(folder / "index.jsonl"):
            where = (folder.name, str(e.get("file")), str(e.get("source")))
            if e["source"] in old_sources or per_source.get(e["source"], 0) >= 2:
                skipped.append((*where, "source already in the corpus"))
                continue
            if e["cause"] not in check_index.LABELS:
                skipped.append((*where, f"label {e['cause']} (relabel it, or add it to CORPUS_LABELS)"))
                continue
            src = folder / e["file"]
            if not src.is_file():
                skipped.append((*where, "no such file"))
                continue
            number = int(e["file"][1:5])
            name = f"t{number:04d}-{e['cause']}.log"
            while name in used_files:
                number += 1
                name = f"t{number:04d}-{e['cause']}.log"
            used_files.add(name)
            classes = [k for k in e.get("classes", []) if k in check_index.CLASSES and k != "clean"]
            if e["cause"] == "none":
                classes.append("clean")
            e.update(file=name, split=check_index.split_for(e["source"]), round=a.round, classes=classes)
            shutil.copyfile(src, dest / name)
            per_source[e["source"]] = per_source.get(e["source"], 0) + 1
            added.append(e)
    with index.open("a", encoding="utf-8") as f:
        for e in added:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    test = sum(e["split"] == "test" for e in added)
    print(f"added {len(added)}: test {test}, tune {len(added) - test}")
    for s in skipped:
        print("skipped", *s)
    return 1 if skipped and not added else 0


if __name__ == "__main__":
    sys.exit(main())
