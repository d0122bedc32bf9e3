"""Read logs as bytes in large chunks and hand the parser only the lines that can matter.

Small inputs (pastes) are parsed line by line in full. Large logs are scanned with C-speed
`bytes.find` for a handful of literals that every failure line contains; only windows around
hits are decoded and parsed, with a traceback's window extended until the traceback ends. Line
numbers stay exact. Memory is bounded by the chunk size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

CHUNK = 16 << 20
SMALL = 8 << 20
BEFORE, AFTER = 8, 4
# Every line a signature needs contains one of these (Error/error, NCCL WARN, torchrun's
# exitcode lines, Killed/killed, watchdog, core dumped) or starts a traceback.
TRIGGERS = (b"rror", b"Traceback", b"xception", b"WARN", b"exitcode", b"illed", b"atchdog", b"dumped",
            b"Root Cause", b"Expected all tensors", b"not implemented for", b"imed out", b"ssert")
TRACEBACK_TRIGGERS = (b"Traceback", b"terminated with the following error", b"Root Cause", b"Failures:")

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


def _hit_lines(chunk: bytes) -> list[tuple[int, bool]]:
    """(offset of the line start, starts-a-traceback) for every line containing a trigger."""
    starts: dict[int, bool] = {}
    for lit in TRIGGERS:
        tb = lit in TRACEBACK_TRIGGERS
        i = chunk.find(lit)
        while i != -1:
            s = chunk.rfind(b"\n", 0, i) + 1
            if tb or s not in starts:
                starts[s] = starts.get(s, False) or tb
            e = chunk.find(b"\n", i)
            if e == -1:
                break
            i = chunk.find(lit, e)
    return sorted(starts.items())


def _extend_traceback(chunk: bytes, pos: int, limit: int = 5000) -> int:
    """From a traceback header, the offset where the traceback (with its exception line) ends."""
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


def scan_chunk(chunk: bytes, feed: Feed, first_lineno: int) -> None:
    """Feed the windows of `chunk` (which ends on a line boundary) that can hold evidence."""
    hits = _hit_lines(chunk)
    if not hits:
        return
    regions: list[tuple[int, int]] = []
    for start, is_tb in hits:
        s = start
        for _ in range(BEFORE):
            if s == 0:
                break
            s = chunk.rfind(b"\n", 0, s - 1) + 1
        e = _extend_traceback(chunk, start) if is_tb else start
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
    pos, lineno = 0, first_lineno
    for s, e in regions:
        lineno += chunk.count(b"\n", pos, s)
        piece = chunk[s:e]
        lines = piece.split(b"\n")
        if piece.endswith(b"\n"):
            lines.pop()
        for i, line in enumerate(lines):
            feed(lineno + i, decode(line))
        lineno += piece.count(b"\n")
        pos = e


def scan_stream(stream: BinaryIO, feed: Feed, *, small: int = SMALL, chunk_size: int = CHUNK,
                on_progress: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Scan a binary stream; returns (bytes read, lines in the input)."""
    head = stream.read(small + 1)
    if len(head) <= small:
        size = len(head)
        if head.endswith(b"\n"):
            head = head[:-1]
        return size, (feed_all(head, feed) if head else 0)
    total, lineno, carry = 0, 1, b""
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
                scan_chunk(block, feed, lineno)
                lineno += block.count(b"\n")
        total += len(data)
        if on_progress:
            on_progress(total)
        if not data:
            break
        data = stream.read(chunk_size)
    return total, lineno - 1 + (1 if carry else 0)
