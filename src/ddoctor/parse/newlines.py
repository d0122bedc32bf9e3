"""Counting newlines in large buffers without holding the GIL, and without handing it back and forth.

Line numbers of a large log cost one newline count over every byte. `bytes.count` holds the GIL for
the whole call (about 2 GB/s), so the ranges that `scan_file` scans on several threads (hyperscan
releases the GIL) would queue behind each other's counts. numpy's comparison releases it and runs
at memory speed; counting the resulting mask is a fast loop. Each release is also a hand-over: a
thread that gives the GIL up waits for it again while another thread runs Python (up to the switch
interval, 5 ms), so a chunk is compared in one call, into a mask the thread keeps, and every count
within the chunk is read from that mask. Without numpy the count is cut into slices so the other
threads get the GIL between them.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
from typing import Any

SLICE = 1 << 20
MASK_MIN = 1 << 20  # below this one `bytes.count` costs less than a numpy call


@functools.cache
def _numpy() -> Any:
    try:
        import numpy
    except ImportError:  # numpy is optional: most torch environments have it
        return None
    return numpy


class _Masks(threading.local):
    mask: Any = None  # one boolean array per thread, a little longer than the largest chunk it counted


_MASKS = _Masks()


def marks(buf: bytes | bytearray, positions: Iterable[int]) -> dict[int, int]:
    """For each position in `buf`, the newlines before it (`buf.count(b"\\n", 0, position)`).

    One comparison over the buffer into the thread's mask, then a fast count per span: the mask never
    leaves this call, so a later call on the same thread cannot change counts already given."""
    out: dict[int, int] = {}
    np = _numpy() if len(buf) >= MASK_MIN else None  # a paste never pays for importing numpy
    view: Any = None
    if np is not None:
        mask = _MASKS.mask
        if mask is None or len(mask) < len(buf):
            # headroom: line-aligned ranges differ by a line's length, and a new array costs its page faults again
            mask = _MASKS.mask = np.empty(len(buf) + (len(buf) >> 3) + (1 << 20), dtype=bool)
        view = mask[:len(buf)]
        np.equal(np.frombuffer(buf, dtype=np.uint8), 10, out=view)  # the one long call; releases the GIL
    pos = line = 0
    for m in sorted({min(max(p, 0), len(buf)) for p in positions}):
        line += count_newlines(buf, pos, m) if np is None else int(np.count_nonzero(view[pos:m]))
        out[m] = line
        pos = m
    return out


def count_newlines(buf: bytes | bytearray, start: int = 0, end: int | None = None) -> int:
    """`buf.count(b"\\n", start, end)`, computed in slices that release the GIL where numpy exists."""
    end = len(buf) if end is None else min(end, len(buf))
    if end - start <= SLICE:
        return buf.count(b"\n", start, end)
    np = _numpy()
    n = 0
    if np is None:
        for i in range(start, end, SLICE):
            n += buf.count(b"\n", i, min(i + SLICE, end))
        return n
    view = np.frombuffer(buf, dtype=np.uint8)
    for i in range(start, end, SLICE):
        n += int(np.count_nonzero(view[i:min(i + SLICE, end)] == 10))
    return n
