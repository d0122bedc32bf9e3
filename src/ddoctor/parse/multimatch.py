"""Many regular expressions matched in one pass over a buffer, in linear time by construction.

Large logs are searched for every signature pattern and every structural trigger (traceback
headers, exception lines, launcher exit lines) at once. Hyperscan compiles the whole set into one
automaton that never backtracks, scans at memory speed and releases the GIL, so the cost does not
depend on how many lines contain a common word such as "error". Where no hyperscan wheel exists the
same interface falls back to C-speed literal search (`bytes.find`) plus `re` on the candidate lines.

Compiling the set takes a noticeable fraction of a second, so the compiled database is cached on
disk, keyed by the patterns and the engine version (`~/.cache/ddoctor/`).
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

try:  # pragma: no cover - exercised where the wheel exists (every CI platform)
    import hyperscan as _hs
except ImportError:  # pragma: no cover
    _hs = None  # type: ignore[assignment]

# hit(pattern_id, end_offset) -> True to stop scanning
OnHit = Callable[[int, int], "bool | None"]
_META = set(".^$*+?{}[]\\|()")


def required_literal(pattern: str) -> str | None:
    """The longest plain-text run every match must contain (a cheap `in` prefilter), if any."""
    if pattern.startswith("(?i)"):
        return None
    depth, runs, cur, i = 0, [], [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if (nxt in _META or nxt in "-/'\" ") and depth == 0:  # inside a group nothing is collected
                cur.append(nxt)
                i += 2
                continue
            runs.append("".join(cur))
            cur = []
            i += 2
            continue
        if c == "|" and depth == 0:
            return None
        if c in "([":
            runs.append("".join(cur))
            cur = []
            depth += 1
            if c == "[":
                j = pattern.find("]", i + 2)
                i = j + 1 if j != -1 else len(pattern)
                depth -= 1
                continue
        elif c == ")":
            depth -= 1
            runs.append("".join(cur))
            cur = []
        elif c in "*?{":
            if cur:
                cur.pop()  # the quantified character is optional/repeated
            runs.append("".join(cur))
            cur = []
            if c == "{":
                j = pattern.find("}", i)
                i = j + 1 if j != -1 else len(pattern)
                continue
        elif c in "+.^$":
            runs.append("".join(cur))
            cur = []
        elif depth == 0:
            cur.append(c)
        i += 1
    runs.append("".join(cur))
    best = max(runs, key=len, default="")
    return best if len(best) >= 3 else None


def _split_flags(pattern: str) -> tuple[str, bool]:
    """A leading `(?i)` becomes the caseless flag (hyperscan takes flags, not inline groups)."""
    if pattern.startswith("(?i)"):
        return pattern[4:], True
    return pattern, False


@dataclass(frozen=True, slots=True)
class PatternError:
    index: int
    pattern: str
    reason: str


class MultiPattern:
    """A fixed set of patterns; `scan(buf, on_hit)` reports (pattern index, end offset) for each match.

    Patterns are Python-syntax regexes restricted to what both engines support (no lookaround or
    backreferences). Matches never span lines in practice: `^`/`$` are per line and callers verify
    each candidate line with `re` when they need captures.
    """

    def __init__(self, patterns: Sequence[str], *, cache_dir: Path | None = None, engine: str | None = None) -> None:
        self.patterns = tuple(patterns)
        want = engine or os.environ.get("DDOCTOR_SCAN_ENGINE") or ("hyperscan" if _hs is not None else "re")
        self.engine = "hyperscan" if want == "hyperscan" and _hs is not None else "re"
        if self.engine == "hyperscan":
            self._db: Any = _load_or_compile(self.patterns, cache_dir)
        else:
            self._regex = tuple(re.compile(p.encode(), re.MULTILINE) for p in self.patterns)
            self._literals = tuple((required_literal(p) or "").encode() for p in self.patterns)

    # -- scanning ---------------------------------------------------------------------------------
    def scratch(self) -> Any:
        """Per-thread working memory for concurrent scans (hyperscan's scratch)."""
        return _hs.Scratch(self._db) if self.engine == "hyperscan" else None

    def scan(self, buf: bytes | memoryview, on_hit: OnHit, scratch: Any = None) -> None:
        if not len(buf):
            return
        if self.engine == "hyperscan":
            def handler(pid: int, _start: int, end: int, _flags: int, _ctx: object) -> bool | None:
                return on_hit(pid, end)

            try:
                if scratch is None:
                    self._db.scan(buf, match_event_handler=handler)
                else:
                    self._db.scan(buf, match_event_handler=handler, scratch=scratch)
            except _hs.ScanTerminated:
                pass
            return
        self._scan_re(bytes(buf), on_hit)

    def _scan_re(self, buf: bytes, on_hit: OnHit) -> None:
        hits: list[tuple[int, int]] = []
        for pid, (rx, lit) in enumerate(zip(self._regex, self._literals, strict=True)):
            if lit:
                i = buf.find(lit)
                while i != -1:
                    s = buf.rfind(b"\n", 0, i) + 1
                    e = buf.find(b"\n", i)
                    e = len(buf) if e == -1 else e
                    m = rx.search(buf, s, e)
                    if m:
                        hits.append((m.end(), pid))
                    i = buf.find(lit, e)
            else:
                hits.extend((m.end(), pid) for m in rx.finditer(buf))
        for end, pid in sorted(hits):
            if on_hit(pid, end):
                return

    def matching(self, text: str) -> list[int]:
        """Indexes of the patterns that match somewhere in one line (used on window lines)."""
        data = text.encode("utf-8", "surrogatepass")
        found: list[int] = []
        self.scan(data, lambda pid, _end: found.append(pid) if pid not in found else None)
        return found


# -- the compiled database, cached on disk ----------------------------------------------------------
def user_cache_dir() -> Path:
    """ddoctor's folder in the user's cache (XDG_CACHE_HOME, else ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ddoctor"


def _machine() -> str:
    """The CPU architecture a database is compiled for (os.uname: importing `platform` costs more)."""
    return os.uname().machine if hasattr(os, "uname") else os.environ.get("PROCESSOR_ARCHITECTURE", "")


def _key(patterns: Sequence[str]) -> str:
    h = hashlib.sha256()
    h.update(f"{getattr(_hs, '__version__', '-')}|{_machine()}|{sys.platform}".encode())
    for p in patterns:
        h.update(b"\0" + p.encode())
    return h.hexdigest()[:32]


def check_patterns(patterns: Sequence[str]) -> list[PatternError]:
    """Patterns the one-pass engine cannot take (each compiled alone, to name the culprit)."""
    bad: list[PatternError] = []
    for i, p in enumerate(patterns):
        try:
            re.compile(p)
        except re.error as exc:
            bad.append(PatternError(i, p, f"not a valid regex: {exc}"))
            continue
        if _hs is not None:
            try:
                _compile([p])
            except _hs.error as exc:
                bad.append(PatternError(i, p, f"hyperscan cannot compile it: {exc}"))
    return bad


def _compile(patterns: Sequence[str]) -> Any:
    exprs, flags = [], []
    for p in patterns:
        body, caseless = _split_flags(p)
        exprs.append(body.encode())
        f = _hs.HS_FLAG_MULTILINE
        if caseless:
            f |= _hs.HS_FLAG_CASELESS
        flags.append(f)
    db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
    db.compile(expressions=exprs, ids=list(range(len(exprs))), flags=flags)
    return db


@lru_cache(maxsize=8)
def _load_or_compile_cached(patterns: tuple[str, ...], cache_dir: str) -> Any:
    path = Path(cache_dir) / f"hs-{_key(patterns)}.db"
    try:
        db = _hs.loadb(path.read_bytes(), _hs.HS_MODE_BLOCK)
        db.scratch = _hs.Scratch(db)  # a deserialised database comes without working memory
        return db
    except (OSError, _hs.error, TypeError, ValueError, AttributeError):
        pass
    db = _compile(patterns)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".hs-")
        with os.fdopen(fd, "wb") as f:
            f.write(_hs.dumpb(db))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only or full cache only costs the compile next time
    return db


def _load_or_compile(patterns: tuple[str, ...], cache_dir: Path | None) -> object:
    return _load_or_compile_cached(patterns, str(cache_dir or user_cache_dir()))


def engine_name() -> str:
    return "hyperscan" if _hs is not None else "re"
