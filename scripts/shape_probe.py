"""Does a right diagnosis survive the shapes users paste a log in? Tune split only.

Every tune-split log that is diagnosed right is re-shaped the ways real logs arrive (machine
translation into seven languages, mojibake, `srun --label` prefixes, a logging handler's record
prefix, loguru colours, a paste indented as a code block or quoted, CRLF, a paste cut short) with the corpus's own
variant builders, and diagnosed again; each shape that changes the answer is listed. The test
split is never read (it measures generalisation; probing it case by case would be tuning on it).

Usage: python scripts/shape_probe.py [SHAPE ...]
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path

from ddoctor.kb.engine import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "fixtures" / "realworld"))
import variants as V  # noqa: E402  (the corpus's variant builders live beside the corpus)


def diagnose(text: str) -> str:
    s = Session(small=1 << 20)
    s.add_stream(io.BytesIO(text.encode("utf-8", "surrogateescape")), "probe")
    names = [d.name for d in s.result().diagnoses]
    return names[0] if names else "none"


SHAPES: dict[str, Callable[[str], str]] = {
    "timestamps": lambda t: V.timestamps(t, b"probe"),
    "logger": lambda t: V.logger(t, b"probe"),
    "ansi": lambda t: V.ansi(t, b"probe"),
    "srun-label": V.prefixed,
    **{f"translated-{lang}": partial(V.translate, lang=lang) for lang in V.LANGS},
    "mojibake-cp1252": lambda t: V.mojibake(t, "cp1252"),
    "mojibake-mac": lambda t: V.mojibake(t, "mac_roman"),
    "indented": lambda t: "".join("    " + ln for ln in t.splitlines(True)),
    "quoted": lambda t: "".join("> " + ln for ln in t.splitlines(True)),
    "crlf": lambda t: t.replace("\n", "\r\n"),
    "ipython": lambda t: ipython(t),
    "harmless-start": lambda t: _HARMLESS_START + t,
    # partial pastes: the user copied only part of the output
    "cut-last-line": lambda t: _cut(t, drop_tail=1),
    "cut-last-3": lambda t: _cut(t, drop_tail=3),
    "first-half": lambda t: _cut(t, keep_head=0.5),
    "last-10": lambda t: _cut(t, keep_tail=10),
    # the selection began inside the first line (`rank1]: ValueError: ...`)
    "last-10-midline": lambda t: _cut(t, keep_tail=10)[3:],
}


_PY_FRAME = re.compile(r'^(\s*)File "([^"]+)", line (\d+), in (\S+)\s*$')
_EXC = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit|Warning))(?::|$)")


def ipython(text: str) -> str:
    """Python tracebacks as IPython 8 prints them in a notebook: a dashed rule and the exception type over the
    frames, `File path:N, in func()`, the failing line under an arrow."""
    lines = text.splitlines()
    out: list[str] = []
    changed = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("Traceback (most recent call last)"):
            exc = next((m.group(1) for later in lines[i + 1:i + 400] if (m := _EXC.match(later.strip()))), None)
            if exc is None:
                out.append(line)
                i += 1
                continue
            out += ["-" * 75, f"{exc:<42}Traceback (most recent call last)"]
            i += 1
            changed = True
            while i < len(lines) and (fm := _PY_FRAME.match(lines[i])):
                out.append(f"File {fm.group(2)}:{fm.group(3)}, in {fm.group(4)}()")
                i += 1
                if i < len(lines) and lines[i].startswith(fm.group(1) + "  ") and not _PY_FRAME.match(lines[i]):
                    out.append(f"-> {fm.group(3)} {lines[i].strip()}")
                    i += 1
                out.append("")
            continue
        out.append(line)
        i += 1
    if not changed:
        raise ValueError("no traceback to reformat")
    return "\n".join(out) + "\n"


# Notices healthy distributed runs print at start-up (torch, torchrun, NCCL, transformers): a log that failed for
# another reason holds them too, and they must not take its diagnosis
_HARMLESS_START = (Path(__file__).with_name("shape_probe_notices.txt")).read_text(encoding="utf-8")


def _cut(text: str, drop_tail: int = 0, keep_head: float = 0.0, keep_tail: int = 0) -> str:
    lines = [ln for ln in text.splitlines(True) if ln.strip()]
    if drop_tail:
        lines = lines[:-drop_tail]
    elif keep_head:
        lines = lines[:max(1, int(len(lines) * keep_head))]
    elif keep_tail:
        lines = lines[-keep_tail:]
    if len(lines) < 2:
        raise ValueError("too short to cut")
    return "".join(lines)


def main() -> int:
    only = set(sys.argv[1:])
    changed: Counter[str] = Counter()
    for index in sorted(ROOT.glob("fixtures/realworld/*/index.jsonl")):
        for line in index.read_text(encoding="utf-8").splitlines():
            e = json.loads(line)
            if e["split"] != "tune":
                continue
            want = e["cause"].removeprefix("NEW:")
            try:
                text = (index.parent / e["file"]).read_bytes().decode("utf-8")
            except UnicodeDecodeError:
                continue  # UTF-16 and NUL-prefixed logs are shapes of their own
            if diagnose(text) != want:
                continue
            for name, shape in SHAPES.items():
                if only and name not in only:
                    continue
                try:
                    shaped = shape(text)
                except ValueError:
                    continue  # nothing this shape changes (no message it can translate, nothing non-ASCII)
                got = diagnose(shaped) if shaped != text else want
                if got != want:
                    changed[name] += 1
                    print(f"{name:18} {e['file']}: want {want}, got {got}")
    print("answers changed per shape:", dict(changed.most_common()) or "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
