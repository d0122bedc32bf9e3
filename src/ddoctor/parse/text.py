"""Bytes of one log line to the text a person meant: encodings, mojibake, overlong lines.

Logs arrive mis-encoded as often as not: a Windows paste in cp1252, UTF-8 read as Mac Roman or
cp1252 and saved again (`distribu√©`, `doesnâ€™t`), PowerShell's UTF-16, a line copied out of a URL
(`undefined%20symbol:%20ncclCommRegister`). The text is repaired
before anything matches it (ftfy does the repair; it is the well-kept library for exactly this),
so signatures see one spelling. Lines of any length are cut to their head, their tail and the
`\\r` segments that matter, so one 500 MB line costs what a short one does.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

MAX_LINE = 16 << 10  # bytes of a line kept whole; longer lines keep head, tail and segments with hits
HEAD = TAIL = 4 << 10
SEGMENT = 2 << 10  # bytes kept around each hit inside an overlong line
MAX_SEGMENTS = 8
CUT = " …[{n} bytes cut]… "


def decode(b: bytes | bytearray) -> str:
    """UTF-8 (the common case), else cp1252 (Windows pastes); mojibake repaired; never raises."""
    try:
        text = b.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = b.decode("cp1252")
        except UnicodeDecodeError:
            text = b.decode("utf-8", errors="replace")
    return repair(text)


@lru_cache(maxsize=1)
def _ftfy() -> Any:
    """Imported at the first non-ASCII line: most logs have none, and the import costs 50 ms."""
    try:
        import ftfy
        from ftfy.badness import is_bad
    except ImportError:  # pragma: no cover - ftfy is a dependency; the repair is best effort without it
        return None
    return ftfy, is_bad


def _percent_decoded(text: str) -> str:
    """A line pasted from a URL (an issue template's link, a browser's address bar, a search query) has its spaces as
    `%20`: decoded, it reads as printed. A line with more spaces than `%20`s is left alone (a URL inside a message)."""
    encoded = text.count("%20")
    if encoded < 2 or text.strip().count(" ") >= encoded:
        return text
    from urllib.parse import unquote  # only such lines pay for the import

    return unquote(text)


# Typographic quotes an editor or chat app put in place of the ASCII ones programs print (`No module named ‘dgl’`):
# Python, torch and the launchers quote with ' and ", so signatures read those
_UNCURL = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})


def repair(text: str) -> str:
    """Undo mojibake (UTF-8 decoded as a single-byte code page), percent-encoding and an editor's curly quotes;
    ASCII lines cost two checks."""
    if "%20" in text:
        text = _percent_decoded(text)
    if text.isascii():
        return text
    lib = _ftfy()
    if lib is not None and lib[1](text):
        text = lib[0].fix_text(text, normalization=None, uncurl_quotes=True, fix_line_breaks=False)
    return text.translate(_UNCURL)


def shorten(line: bytes | bytearray, hit_ends: Iterable[int] = ()) -> bytes | bytearray:
    """An overlong line reduced to its head, its tail and a window around each hit (bounded)."""
    if len(line) <= MAX_LINE:
        return line
    keep: list[tuple[int, int]] = [(0, HEAD)]
    for end in sorted(set(hit_ends))[:MAX_SEGMENTS]:
        # the `\r` segment holding the hit (a progress bar redraw), at most SEGMENT bytes each side
        s = max(line.rfind(b"\r", 0, end) + 1, end - SEGMENT)
        e = line.find(b"\r", end)
        e = min(len(line) if e == -1 else e, end + SEGMENT)
        keep.append((s, e))
    keep.append((len(line) - TAIL, len(line)))
    return _join(line, keep)


def _join(line: bytes | bytearray, spans: list[tuple[int, int]]) -> bytes:
    spans.sort()
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out: list[bytes | bytearray] = []
    pos = 0
    for s, e in merged:
        if s > pos:
            out.append(CUT.format(n=s - pos).encode())
        out.append(line[s:e])
        pos = e
    return b"".join(out)


class LongLine:
    """A line too long to hold, met while streaming: keeps head, tail and hit windows as bytes arrive.

    `add(piece, hit_ends)` takes the next bytes of the line with hit offsets relative to `piece`.
    """

    def __init__(self) -> None:
        self.head = b""
        self.tail = b""
        self.segments: list[bytes] = []
        self.total = 0

    def add(self, piece: bytes, hit_ends: Iterable[int] = ()) -> None:
        if len(self.head) < HEAD:
            self.head += piece[: HEAD - len(self.head)]
        for end in hit_ends:
            if len(self.segments) >= MAX_SEGMENTS:
                break
            s = max(piece.rfind(b"\r", 0, end) + 1, end - SEGMENT, 0)
            e = piece.find(b"\r", end)
            e = min(len(piece) if e == -1 else e, end + SEGMENT)
            self.segments.append(piece[s:e])
        self.tail = (self.tail + piece[-TAIL:])[-TAIL:]
        self.total += len(piece)

    def finish(self) -> bytes:
        cut = CUT.format(n=max(0, self.total - len(self.head) - len(self.tail))).encode()
        middle = cut.join(self.segments)
        return self.head + cut + (middle + cut if middle else b"") + self.tail
