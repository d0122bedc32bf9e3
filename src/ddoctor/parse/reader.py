"""Read logs as bytes in large chunks and hand the parser only the lines that can matter.

Small inputs (pastes) are parsed line by line in full. Large logs are scanned with C-speed
`bytes.find` for a handful of literals that every failure line contains; only windows around
hits are decoded and parsed, with a traceback's window extended until the traceback ends. Line
numbers stay exact. Memory is bounded by the chunk size.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from typing import BinaryIO

CHUNK = 16 << 20
SMALL = 8 << 20
BEFORE, AFTER = 8, 4
# Every line a signature needs contains one of these, or lies inside a window they open: Error/error
# (every Python exception line, ChildFailedError before torchrun's summary), a traceback header,
# NCCL WARN, Killed/killed (shell and kernel OOM messages), the NCCL watchdog, "core dumped".
TRIGGERS = (b"rror", b"Traceback", b"WARN", b"illed", b"atchdog", b"dumped")
# Hits on these open a window that extends forward to the end of the traceback or summary block.
TRACEBACK_TRIGGERS = (b"Traceback",)
BLOCK_TRIGGER = b"ChildFailedError"

Feed = Callable[[int, str], None]


def decode(b: bytes) -> str:
    """UTF-8 first (the common case), cp1252 for Windows pastes; never raises."""
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("utf-8", errors="replace")


def looks_binary(head: bytes) -> bool:
    """NUL-heavy or control-heavy input is not a log (a checkpoint, an image, a core dump)."""
    if not head:
        return False
    sample = head[:8192]
    if sample.count(b"\x00") > len(sample) // 100:
        return True
    ctrl = sum(1 for c in sample if c < 9 or 13 < c < 32)
    return ctrl > len(sample) // 10


def feed_all(data: bytes, feed: Feed, first_lineno: int = 1) -> int:
    lineno = first_lineno - 1
    for lineno, line in enumerate(data.split(b"\n"), start=first_lineno):
        feed(lineno, decode(line))
    return lineno


def _hit_lines(chunk: bytes, skip: int = 0) -> list[tuple[int, bool]]:
    """(offset of the line start, opens-a-block) for every line at or after `skip` with a trigger."""
    starts: dict[int, bool] = {}
    for lit in TRIGGERS:
        tb = lit in TRACEBACK_TRIGGERS
        i = chunk.find(lit, skip)
        while i != -1:
            s = chunk.rfind(b"\n", 0, i) + 1
            e = chunk.find(b"\n", i)
            opens = tb or (lit == b"rror" and chunk.find(BLOCK_TRIGGER, s, e if e != -1 else len(chunk)) != -1)
            if opens or s not in starts:
                starts[s] = starts.get(s, False) or opens
            if e == -1:
                break
            i = chunk.find(lit, e)
    return sorted(starts.items())


def _extend_block(chunk: bytes, pos: int, limit: int = 5000) -> int:
    """From a traceback header (or torchrun's ChildFailedError line), the offset where it ends."""
    line_end = chunk.find(b"\n", pos)
    if chunk.find(BLOCK_TRIGGER, pos, line_end if line_end != -1 else len(chunk)) != -1:
        # torchrun's summary: up to the closing ===== rule after "Root Cause"
        root = chunk.find(b"Root Cause", pos, pos + 200_000)
        close = chunk.find(b"\n===", root if root != -1 else pos, pos + 400_000)
        return len(chunk) if close == -1 else min(len(chunk), close + 1)
    n = 0
    seen_frame = False
    while pos < len(chunk) and n < limit:
        e = chunk.find(b"\n", pos)
        e = len(chunk) if e == -1 else e
        line = chunk[pos:e]
        body = line.split(b"]:", 1)[-1] if line.startswith(b"[") else line
        if b'File "' in body:
            seen_frame = True
        elif seen_frame and body[:1] not in (b" ", b"\t", b"") and not body.startswith(b"Traceback"):
            # the exception line: include it and a few continuation lines
            return e
        pos = e + 1
        n += 1
    return pos


_LINE, _BLOCK, _CONT = 0, 1, 2
_CONT_STARTS = (b"File ", b"Traceback", b"The above", b"During handling", b"Root Cause", b"Failures:", b"---",
                b"===", b"-- Process")


def _continuation_end(chunk: bytes, pos: int = 0, limit: int = 5000) -> int:
    """Where a traceback or torchrun summary cut by the previous chunk boundary ends in this chunk.

    Continues over lines that can only belong to such a block (indented, frames, chain markers,
    summary rules and fields) and includes the first other line (the exception line, usually).
    """
    n = 0
    while pos < len(chunk) and n < limit:
        e = chunk.find(b"\n", pos)
        e = len(chunk) if e == -1 else e
        line = chunk[pos:e]
        body = line.split(b"]:", 1)[-1] if line.startswith(b"[") else line
        s = body.strip()
        inside = (not s or body[:1] in (b" ", b"\t") or s.startswith(_CONT_STARTS)
                  or (s[:1] == b"[" and s.endswith(b"]:")))
        if not inside:
            return e
        pos, n = e + 1, n + 1
    return min(pos, len(chunk))


def _regions(chunk: bytes, hits: list[tuple[int, int]]) -> list[tuple[int, int]]:
    regions: list[tuple[int, int]] = []
    for start, kind in hits:
        s = start
        for _ in range(BEFORE if kind != _CONT else 0):
            if s == 0:
                break
            s = chunk.rfind(b"\n", 0, s - 1) + 1
        if kind == _BLOCK:
            e = _extend_block(chunk, start)
        else:
            e = _continuation_end(chunk, start) if kind == _CONT else start
        for _ in range(AFTER + 1):
            nxt = chunk.find(b"\n", e)
            if nxt == -1:
                e = len(chunk)
                break
            e = nxt + 1
        if regions and s <= regions[-1][1]:
            regions[-1] = (regions[-1][0], max(regions[-1][1], e))
        else:
            regions.append((s, e))
    return regions


def chunk_regions(chunk: bytes, open_start: bool = False, skip: int = 0) -> list[tuple[int, int]]:
    """Byte ranges of `chunk` that can hold evidence.

    `chunk[:skip]` is the tail of the previous chunk, there only as context before early hits.
    `open_start`: the previous chunk ended inside a window, so a block may continue at `skip`.
    """
    hits = [(s, _BLOCK if b else _LINE) for s, b in _hit_lines(chunk, skip)]
    return _regions(chunk, [(skip, _CONT), *hits] if open_start else hits)


def tail_lines(buf: bytes, n: int = BEFORE, limit: int = 64 << 10) -> bytes:
    """The last `n` whole lines of `buf` (at most `limit` bytes): context for the next chunk."""
    pos = len(buf)
    for _ in range(n):
        if pos == 0:
            break
        pos = buf.rfind(b"\n", 0, pos - 1) + 1
    if len(buf) - pos > limit:
        cut = buf.find(b"\n", len(buf) - limit)
        pos = len(buf) if cut == -1 else cut + 1
    return buf[pos:]


def ends_open(chunk: bytes, regions: list[tuple[int, int]]) -> bool:
    return bool(regions) and regions[-1][1] >= len(chunk)


def region_lines(chunk: bytes, regions: list[tuple[int, int]]) -> list[tuple[int, list[str]]]:
    """(line offset of the region within the chunk, decoded lines) for each region."""
    out, pos, line = [], 0, 0
    for s, e in regions:
        line += chunk.count(b"\n", pos, s)
        piece = chunk[s:e]
        lines = piece.split(b"\n")
        if piece.endswith(b"\n"):
            lines.pop()
        out.append((line, [decode(x) for x in lines]))
        line += piece.count(b"\n")
        pos = e
    return out


class _Feeder:
    """Feeds window lines in order, each line once (windows of neighbouring chunks may overlap)."""

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.last = 0

    def windows(self, first_lineno: int, windows: list[tuple[int, list[str]]]) -> None:
        for offset, lines in windows:
            for i, text in enumerate(lines):
                n = first_lineno + offset + i
                if n > self.last:
                    self.feed(n, text)
                    self.last = n


def scan_stream(stream: BinaryIO, feed: Feed, *, small: int = SMALL, chunk_size: int | None = None,
                on_progress: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Scan a binary stream; returns (bytes read, lines in the input)."""
    chunk_size = chunk_size or CHUNK
    head = stream.read(small + 1)
    if len(head) <= small:
        size = len(head)
        if head.endswith(b"\n"):
            head = head[:-1]
        return size, (feed_all(head, feed) if head else 0)
    total, lineno, carry, is_open, tail = 0, 1, b"", False, b""
    feeder = _Feeder(feed)
    data = head
    while True:
        buf = carry + data
        cut = buf.rfind(b"\n") + 1 if data else len(buf)
        if cut == 0 and data:
            carry = buf  # no newline yet (a huge line): keep reading
            if len(carry) > 4 * chunk_size:  # pathological single line: cap what we keep
                carry = carry[-chunk_size:]
        else:
            block, carry = buf[:cut], buf[cut:]
            if block:
                buf2 = tail + block
                regions = chunk_regions(buf2, is_open, len(tail))
                feeder.windows(lineno - tail.count(b"\n"), region_lines(buf2, regions))
                is_open = ends_open(buf2, regions)
                tail = tail_lines(block)
                lineno += block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
        total += len(data)
        if on_progress:
            on_progress(total)
        if not data:
            break
        data = stream.read(chunk_size)
    return total, lineno - 1


def _scan_range(job: tuple[str, int, int]):
    """Worker: read one line-aligned byte range; return its windows as if the range started
    outside a block and as if it started inside one (the parent knows which is true)."""
    path, start, end = job
    look = min(start, 16 << 10)  # lines before the range: context for hits on its first lines
    with open(path, "rb") as f:
        f.seek(start - look)
        buf = f.read(look + end - start)  # one read, no copy: the range starts at offset `look`
    hits = [(s, _BLOCK if b else _LINE) for s, b in _hit_lines(buf, look)]
    closed = _regions(buf, hits)
    opened = _regions(buf, [(look, _CONT), *hits])
    n_lines = buf.count(b"\n", look) + (0 if buf.endswith(b"\n") else 1)
    return (region_lines(buf, closed), ends_open(buf, closed), region_lines(buf, opened),
            ends_open(buf, opened), n_lines, buf.count(b"\n", 0, look))


def _line_aligned_bounds(path: str, size: int, chunk_size: int) -> list[int]:
    bounds = [0]
    with open(path, "rb") as f:
        for off in range(chunk_size, size, chunk_size):
            f.seek(off)
            f.readline()
            pos = f.tell()
            if bounds[-1] < pos < size:
                bounds.append(pos)
    bounds.append(size)
    return bounds


def scan_file_parallel(path: str, feed: Feed, *, workers: int, chunk_size: int | None = None,
                       on_progress: Callable[[int], None] | None = None) -> tuple[int, int]:
    """The literal prefilter of a large regular file on several cores; windows are fed in order.

    Only the prefilter runs in the workers; the parser stays one sequential state machine in this
    process, so results are identical to the single-process scan.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    size = os.path.getsize(path)
    bounds = _line_aligned_bounds(path, size, chunk_size or CHUNK)
    jobs = [(path, a, b) for a, b in itertools.pairwise(bounds)]
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    lineno, done, is_open = 1, 0, False
    feeder = _Feeder(feed)
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method)) as ex:
        for result, (_, a, b) in zip(ex.map(_scan_range, jobs), jobs, strict=True):
            closed, closed_open, opened, opened_open, nlines, prefix_lines = result
            windows, is_open = (opened, opened_open) if is_open else (closed, closed_open)
            feeder.windows(lineno - prefix_lines, windows)
            lineno += nlines
            done += b - a
            if on_progress:
                on_progress(done)
    return size, lineno - 1
