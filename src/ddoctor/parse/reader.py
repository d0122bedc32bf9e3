"""Read logs as bytes in large chunks and hand the parser only the lines that can matter.

Small inputs (pastes) are parsed line by line in full. Large logs are searched in one pass for
every signature pattern and structural trigger at once (`multimatch`, hyperscan); only windows
around hits are decoded and parsed, with a traceback's window extended until the traceback ends.
Line numbers stay exact; memory is bounded by the chunk size whatever the shape of the input
(one endless line, `\\r` progress redraws, a hit on every line).
"""

from __future__ import annotations

import bisect
import itertools
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from ddoctor.parse import margin
from ddoctor.parse import unwrap as unwrapping
from ddoctor.parse.multimatch import MultiPattern
from ddoctor.parse.newlines import marks as line_marks  # newlines before each position, one pass a chunk
from ddoctor.parse.text import MAX_LINE, LongLine, decode, shorten

CHUNK = 8 << 20
# Inputs up to a screenful are parsed line by line; beyond it only the windows around trigger hits are
# (the corpus gives the same diagnoses either way: scripts/corpus_figures.py --windowed), so a pasted
# log costs the scan, not a Python parse of every line.
SMALL = 16 << 10
BEFORE, AFTER = 8, 4
OVERLONG = 4 << 20  # a partial line longer than this is reduced while it streams in
WINDOW_CAP = 20_000  # windows one pattern may open; later hits of a saturated pattern are skipped

Feed = Callable[[int, str], None]
Buf = bytes | bytearray  # a range is read into a buffer its thread reuses


@dataclass(frozen=True, slots=True, kw_only=True)
class Triggers:
    """What opens a window: pattern ids of a `MultiPattern`; `block` ids open a traceback/summary block."""

    patterns: MultiPattern
    block: frozenset[int]


@dataclass(slots=True)
class _Counts:
    """Windows opened per pattern, so a pattern that fires on every line stops costing parse time."""

    per_pattern: dict[int, int] = field(default_factory=dict)
    saturated: set[int] = field(default_factory=set)

    def take(self, pid: int) -> bool:
        if pid in self.saturated:
            return False
        n = self.per_pattern.get(pid, 0) + 1
        self.per_pattern[pid] = n
        if n >= WINDOW_CAP:
            self.saturated.add(pid)
        return True


def looks_binary(head: bytes) -> bool:
    """NUL-heavy or control-heavy input is not a log (a checkpoint, an image, a core dump).

    A leading run of NULs (a log rotated with copytruncate) and ANSI colour escapes are text.
    """
    sample = head.lstrip(b"\x00")[:8192]
    if not sample:
        return False  # nothing but NULs: no text either; the caller reports an empty input
    if sample.count(b"\x00") > len(sample) // 100:
        return True
    ctrl = sum(1 for c in sample if c < 9 or (13 < c < 32 and c != 27))
    return ctrl > len(sample) // 10


def _line_hits(hits: list[int], s: int, e: int) -> list[int]:
    """Hit end offsets inside [s, e], relative to s."""
    i = bisect.bisect_left(hits, s)
    j = bisect.bisect_right(hits, e)
    return [h - s for h in hits[i:j]]


def _decode_line(raw: Buf, hits: list[int] | None = None, start: int = 0) -> str:
    if len(raw) > MAX_LINE:
        raw = shorten(raw, _line_hits(hits, start, start + len(raw)) if hits else ())
    return decode(raw)


def hit_ends(triggers: Triggers, data: bytes, cap: int = 64) -> list[int]:
    """End offsets of the first `cap` trigger hits in `data` (where to look inside an overlong line)."""
    ends: list[int] = []

    def on_hit(_pid: int, end: int) -> bool:
        ends.append(end)
        return len(ends) >= cap

    triggers.patterns.scan(data, on_hit)
    return ends


def feed_all(data: bytes, feed: Feed, triggers: Triggers | None = None, first_lineno: int = 1,
             *, unwrap: bytes | None = None) -> int:
    """Feed every line of `data`; with `unwrap` (the paste's margin, maybe b""), a paste a terminal hard-wrapped
    is fed as its logical lines (each numbered as its first physical line). Returns the last physical line's number."""
    physical = data.split(b"\n")
    for index, line in (enumerate(physical) if unwrap is None else unwrapping.logical_lines(physical, unwrap)):
        kept: Buf = shorten(line, hit_ends(triggers, line)) if len(line) > MAX_LINE and triggers is not None else line
        feed(first_lineno + index, _decode_line(kept))
    return first_lineno + len(physical) - 1


def _hits(chunk: Buf, skip: int, triggers: Triggers, counts: _Counts,
          scratch: object | None = None) -> tuple[list[tuple[int, bool]], list[int]]:
    """(line start, opens-a-block) for every line at or after `skip` with a trigger; all hit ends."""
    starts: dict[int, bool] = {}
    ends: list[int] = []
    block = triggers.block
    last_line = [-1, 0]  # [start, end) of the line of the previous hit: skip re-searching it

    def on_hit(pid: int, end: int) -> None:
        end += skip
        ends.append(end)
        if last_line[0] <= end - 1 < last_line[1]:
            s = last_line[0]
        else:
            s = chunk.rfind(b"\n", 0, max(end - 1, 0)) + 1
            e = chunk.find(b"\n", end)
            last_line[0], last_line[1] = s, (len(chunk) if e == -1 else e)
        opens = pid in block
        if (opens or s not in starts) and counts.take(pid):
            starts[s] = starts.get(s, False) or opens

    with memoryview(chunk) as whole, whole[skip:] as view:  # released at once: a reused buffer is resized next
        triggers.patterns.scan(view, on_hit, scratch)
    ends.sort()
    return sorted(starts.items()), ends


BLOCK_TRIGGER = b"ChildFailedError"


def _extend_block(chunk: Buf, pos: int, limit: int = 5000) -> int:
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
        line = chunk[pos:min(e, pos + 4096)]
        body = line.split(b"]:", 1)[-1] if line.startswith(b"[") else line
        if b'File "' in body or b"File \xe2\x80\x9c" in body:
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


def _continuation_end(chunk: Buf, pos: int = 0, limit: int = 5000) -> int:
    """Where a traceback or torchrun summary cut by the previous chunk boundary ends in this chunk.

    Continues over lines that can only belong to such a block (indented, frames, chain markers,
    summary rules and fields) and includes the first other line (the exception line, usually).
    """
    n = 0
    while pos < len(chunk) and n < limit:
        e = chunk.find(b"\n", pos)
        e = len(chunk) if e == -1 else e
        line = chunk[pos:min(e, pos + 4096)]
        body = line.split(b"]:", 1)[-1] if line.startswith(b"[") else line
        s = body.strip()
        inside = (not s or body[:1] in (b" ", b"\t") or s.startswith(_CONT_STARTS)
                  or (s[:1] == b"[" and s.endswith(b"]:")))
        if not inside:
            return e
        pos, n = e + 1, n + 1
    return min(pos, len(chunk))


def _regions(chunk: Buf, hits: list[tuple[int, int]]) -> list[tuple[int, int]]:
    regions: list[tuple[int, int]] = []
    for start, kind in hits:
        if regions and start < regions[-1][1] and kind == _LINE:
            continue  # inside the previous window already (a dense run of hits)
        s = start
        for _ in range(BEFORE if kind != _CONT else 0):
            if s == 0:
                break
            s = chunk.rfind(b"\n", 0, s - 1) + 1
        if kind == _BLOCK:
            # a block inside the previous window resumes where that window's extension stopped:
            # every line is walked once however many headers a run of lines holds
            e = _extend_block(chunk, max(start, regions[-1][1]) if regions and start < regions[-1][1] else start)
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


def chunk_regions(chunk: Buf, hit_starts: list[tuple[int, bool]], open_start: bool = False,
                  skip: int = 0) -> list[tuple[int, int]]:
    """Byte ranges of `chunk` that can hold evidence.

    `chunk[:skip]` is the tail of the previous chunk, there only as context before early hits.
    `open_start`: the previous chunk ended inside a window, so a block may continue at `skip`.
    """
    hits = [(s, _BLOCK if b else _LINE) for s, b in hit_starts]
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


def ends_open(chunk: Buf, regions: list[tuple[int, int]]) -> bool:
    return bool(regions) and regions[-1][1] >= len(chunk)


def region_lines(chunk: Buf, regions: list[tuple[int, int]], hits: list[int],
                 marks: dict[int, int] | None = None) -> list[tuple[int, list[str]]]:
    """(line offset of the region within the chunk, decoded lines) for each region.
    `marks`: `line_marks` of the chunk for (at least) every region start."""
    if marks is None:
        marks = line_marks(chunk, (s for s, _ in regions))
    out = []
    for s, e in regions:
        lines, at = [], s
        while at < e:
            nl = chunk.find(b"\n", at, e)
            stop = e if nl == -1 else nl
            lines.append(_decode_line(chunk[at:stop], hits, at))
            at = stop + 1
        out.append((marks[s], lines))
    return out


# Windows of a large file wait, up to this many characters, to be fed once the scan threads are done: the parser
# and the matcher hold the GIL, and feeding while the threads scan hands it back and forth with every hyperscan
# callback and every release (a clean 1 GiB log took 1.1 s overlapped against 0.6 s scanning + 0.3 s feeding)
HOLD_CHARS = 8 << 20
TAIL = 8  # the input's last lines are always fed: what a log ends on (a wait still repeating, a prompt) is evidence


def _last_lines(data: Buf, last_lineno: int, n: int = TAIL) -> list[tuple[int, str]]:
    """The last `n` lines of `data`, numbered so that the last is `last_lineno`."""
    body = bytes(data[:-1] if data.endswith(b"\n") else data)
    pieces = body.split(b"\n")[-n:] if body else []
    first = last_lineno - len(pieces) + 1
    return [(first + i, _decode_line(p)) for i, p in enumerate(pieces)]


class _Feeder:
    """Feeds window lines in order, each line once (windows of neighbouring chunks may overlap)."""

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.last = 0

    def lines(self, numbered: Iterable[tuple[int, str]]) -> None:
        for n, text in numbered:
            if n > self.last:
                self.feed(n, text)
                self.last = n

    def windows(self, first_lineno: int, windows: list[tuple[int, list[str]]]) -> None:
        for offset, lines in windows:
            self.lines(enumerate(lines, start=first_lineno + offset))


def _blocks(stream: BinaryIO, first: bytes, chunk_size: int, triggers: Triggers,
            on_read: Callable[[int], None]) -> Iterator[bytes]:
    """Line-aligned blocks of the stream; a line longer than OVERLONG arrives reduced (LongLine)."""
    carry = b""
    long: LongLine | None = None
    data = first or stream.read(chunk_size)
    while data:
        on_read(len(data))
        if long is not None:
            nl = data.find(b"\n")
            piece = data if nl == -1 else data[:nl]
            long.add(piece, hit_ends(triggers, piece))
            if nl == -1:
                data = stream.read(chunk_size)
                continue
            yield long.finish() + b"\n"
            long, data = None, data[nl + 1:]
            if not data:
                data = stream.read(chunk_size)
                continue
        buf = carry + data if carry else data
        cut = buf.rfind(b"\n") + 1
        block, carry = buf[:cut], buf[cut:]
        if block:
            yield block
        if len(carry) > OVERLONG:
            long = LongLine()
            long.add(carry, hit_ends(triggers, carry))
            carry = b""
        data = stream.read(chunk_size)
    if long is not None:
        yield long.finish()
    elif carry:
        yield carry


def scan_stream(stream: BinaryIO, feed: Feed, *, triggers: Triggers, small: int = SMALL,
                chunk_size: int | None = None, on_progress: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Scan a binary stream; returns (bytes read, lines in the input)."""
    chunk_size = chunk_size or CHUNK
    head = stream.read(small + 1)
    if len(head) > small and len(head) < margin.HEAD:
        head += stream.read(margin.HEAD - len(head))  # enough to learn a paste's margin from
    paste_margin = margin.find(head if len(head) > small else head + b"\n")
    feed = margin.stripper(paste_margin, feed)
    if len(head) <= small:
        size = len(head)
        if head.endswith(b"\n"):
            head = head[:-1]
        return size, (feed_all(head, feed, triggers, unwrap=paste_margin.encode()) if head else 0)
    total = [0]

    def on_read(n: int) -> None:
        total[0] += n
        if on_progress:
            on_progress(total[0])

    lineno, is_open, tail = 1, False, b""
    feeder = _Feeder(feed)
    counts = _Counts()
    for block in _blocks(stream, head, chunk_size, triggers, on_read):
        buf2 = tail + block
        starts, ends = _hits(buf2, len(tail), triggers, counts)
        regions = chunk_regions(buf2, starts, is_open, len(tail))
        marks = line_marks(buf2, itertools.chain((len(tail), len(buf2)), (r[0] for r in regions)))
        feeder.windows(lineno - marks[len(tail)], region_lines(buf2, regions, ends, marks))
        is_open = ends_open(buf2, regions)
        lineno += marks[len(buf2)] - marks[len(tail)] + (0 if block.endswith(b"\n") else 1)
        tail = tail_lines(block)
    feeder.lines(_last_lines(tail, lineno - 1))
    return total[0], lineno - 1


# -- regular files: ranges scanned concurrently (hyperscan releases the GIL) -------------------------
@dataclass(frozen=True, slots=True)
class _RangeResult:
    closed: list[tuple[int, list[str]]]
    closed_open: bool
    opened: list[tuple[int, list[str]]]
    opened_open: bool
    lines: int
    prefix_lines: int


class _ThreadState(threading.local):
    """What a scan thread keeps between its ranges: the read buffer and hyperscan's working memory.

    A fresh 8 MiB `bytes` per range costs the kernel a page fault for every 4 KiB of it (a third of the
    CPU time of a cached 1 GiB log went to faults); one buffer per thread, refilled with `readinto`, is
    faulted in once. Nothing a range returns refers to it (windows are decoded to `str`)."""

    buf: bytearray | None = None
    scratch: object | None = None
    scratch_for: object | None = None


_THREAD = _ThreadState()


def _read_range(path: str, offset: int, size: int) -> bytearray:
    buf = _THREAD.buf
    if buf is None:
        buf = _THREAD.buf = bytearray(size)
    elif len(buf) != size:
        buf[size:] = b""  # shrink in place
        if len(buf) < size:
            buf.extend(bytes(size - len(buf)))
    got = 0
    with open(path, "rb", buffering=0) as f, memoryview(buf) as view:  # released even if a read fails
        f.seek(offset)
        while got < size:
            with view[got:] as rest:
                n = f.readinto(rest)
            if not n:
                break
            got += n
    if got < size:
        del buf[got:]  # the file shrank while it was read
    return buf


def _scratch(triggers: Triggers) -> object | None:
    if _THREAD.scratch_for is not triggers.patterns:
        _THREAD.scratch, _THREAD.scratch_for = triggers.patterns.scratch(), triggers.patterns
    return _THREAD.scratch


def _scan_range(path: str, start: int, end: int, triggers: Triggers, counts: _Counts) -> _RangeResult:
    """One line-aligned byte range; its windows as if it started outside a block and as if inside
    one (the caller knows which is true once the previous range is done)."""
    look = min(start, 16 << 10)  # lines before the range: context for hits on its first lines
    buf = _read_range(path, start - look, look + end - start)
    starts, ends = _hits(buf, look, triggers, counts, _scratch(triggers))
    closed = chunk_regions(buf, starts, False, look)
    opened = chunk_regions(buf, starts, True, look)
    marks = line_marks(buf, itertools.chain((look, len(buf)), (r[0] for r in closed), (r[0] for r in opened)))
    n_lines = marks[len(buf)] - marks[look] + (0 if buf.endswith(b"\n") else 1)
    return _RangeResult(region_lines(buf, closed, ends, marks), ends_open(buf, closed),
                        region_lines(buf, opened, ends, marks), ends_open(buf, opened), n_lines, marks[look])


def _feed_held(feeder: _Feeder, held: list[tuple[int, list[tuple[int, list[str]]]]]) -> None:
    """Feed the held ranges' windows in order and forget them."""
    for first_lineno, windows in held:
        feeder.windows(first_lineno, windows)
    held.clear()


def _line_aligned_bounds(path: str, size: int, chunk_size: int) -> list[int] | None:
    """Range bounds just after a newline near every chunk_size; None when a line is too long to
    split at (the caller then streams the file, which bounds overlong lines)."""
    bounds = [0]
    with open(path, "rb") as f:
        for off in range(chunk_size, size, chunk_size):
            if off <= bounds[-1]:
                continue
            f.seek(off)
            pos, found, step = off, -1, 4 << 10  # a line is short: a page is read first, then more if it is not
            while found == -1 and pos - off < OVERLONG:
                piece = f.read(step)
                step = min(step * 4, 1 << 20)
                if not piece:
                    break
                found = piece.find(b"\n")
                pos += len(piece) if found == -1 else found + 1
            if found == -1:
                return None
            if bounds[-1] < pos < size:
                bounds.append(pos)
    bounds.append(size)
    return bounds


def scan_file(path: str, feed: Feed, *, triggers: Triggers, workers: int, chunk_size: int | None = None,
              on_progress: Callable[[int], None] | None = None) -> tuple[int, int]:
    """A large regular file scanned on several threads; windows are fed in order to one parser,
    so results are identical to the sequential scan."""
    chunk_size = chunk_size or CHUNK
    size = os.path.getsize(path)
    bounds = _line_aligned_bounds(path, size, chunk_size)
    if bounds is None:
        with open(path, "rb") as f:
            return scan_stream(f, feed, triggers=triggers, small=-1, chunk_size=chunk_size,
                               on_progress=on_progress)
    from concurrent.futures import ThreadPoolExecutor  # only large files are scanned on threads

    with open(path, "rb") as f:
        feed = margin.stripper(margin.find(f.read(margin.HEAD)), feed)
    jobs = list(itertools.pairwise(bounds))
    lineno, done, is_open = 1, 0, False
    feeder = _Feeder(feed)
    counts = _Counts()
    held: list[tuple[int, list[tuple[int, list[str]]]]] = []
    held_chars = 0
    ex = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ddoctor-scan")
    try:
        # a bounded look-ahead: ranges in flight hold their windows until fed in order
        pending = deque(ex.submit(_scan_range, path, a, b, triggers, counts) for a, b in jobs[:workers * 2])
        nxt = len(pending)
        for a, b in jobs:
            res = pending.popleft().result()
            if nxt < len(jobs):
                pending.append(ex.submit(_scan_range, path, *jobs[nxt], triggers, counts))
                nxt += 1
            windows, is_open = (res.opened, res.opened_open) if is_open else (res.closed, res.closed_open)
            held.append((lineno - res.prefix_lines, windows))
            held_chars += sum(len(text) for _, lines in windows for text in lines)
            if held_chars > HOLD_CHARS:
                _feed_held(feeder, held)
                held_chars = 0
            lineno += res.lines
            done += b - a
            if on_progress:
                on_progress(done)
        _feed_held(feeder, held)
    finally:
        # SIGTERM/Ctrl-C land here in the main thread: queued ranges are dropped, running ones finish
        # their few megabytes, and nothing is left waiting (threads, not a process pool to deadlock)
        ex.shutdown(wait=True, cancel_futures=True)
    with open(path, "rb") as f:
        f.seek(max(0, size - (64 << 10)))
        end = f.read(64 << 10)
    feeder.lines(_last_lines(tail_lines(end, TAIL), lineno - 1))
    return size, lineno - 1
