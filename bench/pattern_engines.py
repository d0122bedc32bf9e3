"""Which multi-pattern engine to scan logs with: hyperscan vs google-re2's Set vs the old literal
prefilter vs one Python `re` alternation, on the same bytes, with the same pattern set (every
signature line rule plus the structural triggers). Prints MB/s and the hits each engine reports.

re2's Set tells which patterns match a given text but not where, so it has to be run line by line;
hyperscan reports match offsets over a whole buffer. This is the measurement behind choosing
hyperscan (issue 11). Usage: python bench/pattern_engines.py [LOG] [--mib N]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ddoctor.kb.engine import triggers_for
from ddoctor.kb.loader import load_signatures
from ddoctor.parse.multimatch import MultiPattern, _split_flags

OLD_TRIGGERS = (b"rror", b"Traceback", b"WARN", b"illed", b"atchdog", b"dumped")  # the prefilter before hyperscan


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("log", nargs="?")
    ap.add_argument("--mib", type=int, default=256)
    a = ap.parse_args()
    path = a.log
    if not path:
        path = tempfile.mktemp(suffix=".log")
        subprocess.run([sys.executable, str(Path(__file__).with_name("gen_synth_log.py")), path, str(a.mib << 20)],
                       check=True)
    data = Path(path).read_bytes()[: a.mib << 20]
    mb = len(data) / 1e6
    patterns = triggers_for(load_signatures()).patterns.patterns
    print(f"{len(data):,} bytes, {len(patterns)} patterns")

    hs = MultiPattern(patterns, engine="hyperscan")
    if hs.engine == "hyperscan":
        hits: list[int] = []
        el, _ = timed(lambda: hs.scan(data, lambda pid, end: hits.append(end)))
        print(f"hyperscan, one pass over the buffer:   {mb / el:8,.0f} MB/s  {len(hits)} hits")

    def literal_prefilter():
        n = 0
        for lit in OLD_TRIGGERS:
            i = data.find(lit)
            while i != -1:
                n += 1
                e = data.find(b"\n", i)
                i = -1 if e == -1 else data.find(lit, e)
        return n

    el, n = timed(literal_prefilter)
    print(f"old literal prefilter (bytes.find):    {mb / el:8,.0f} MB/s  {n} candidate lines (then parsed in Python)")

    fallback = MultiPattern(patterns, engine="re")
    hits2: list[int] = []
    el, _ = timed(lambda: fallback.scan(data, lambda pid, end: hits2.append(end)))
    print(f"re fallback (literal find + re):       {mb / el:8,.0f} MB/s  {len(hits2)} hits")

    try:
        import re2
    except ImportError:
        print("google-re2: not installed (pip install google-re2 to compare)")
    else:
        opts = re2.Options()
        s = re2.Set.UnanchoredSet(opts)
        for p in patterns:
            body, caseless = _split_flags(p)
            s.Add(("(?i)" if caseless else "") + body)
        s.Compile()
        sample = data[: 16 << 20]
        lines = sample.split(b"\n")
        el, n = timed(lambda: sum(1 for line in lines if s.Match(line)))
        print(f"google-re2 Set, line by line:          {len(sample) / 1e6 / el:8,.0f} MB/s  {n} matching lines "
              "(16 MiB sample)")

    # named groups repeat across patterns (`port`, `rank`): one alternation needs them unnamed
    bodies = (re.sub(r"\(\?P<\w+>", "(?:", _split_flags(p)[0]) for p in patterns)
    alt = re.compile(b"|".join(b"(?:" + b.encode() + b")" for b in bodies), re.M)
    sample = data[: 16 << 20]
    el, n = timed(lambda: sum(1 for _ in alt.finditer(sample)))
    print(f"Python re, one alternation:            {len(sample) / 1e6 / el:8,.0f} MB/s  {n} hits (16 MiB sample)")


if __name__ == "__main__":
    main()
