"""Lines a terminal or console wrapped at its width, joined again before they are read.

A log copied out of a terminal that hard-wraps (Windows' console, `screen`, a notebook's output cell,
a web terminal) arrives with every long line cut at the window's width: `Watchdog caught collective
opera` / `tion timeout: WorkNCCL(...)`, a frame's path split inside `python3.8/`. No message and no
path then reads as the program printed it. A wrapped paste is recognised by its shape, not its
words: its longest lines all have exactly the window's width, and the line after each one carries
on from it (it does not start the way its predecessor did, as the next record of a templated log
would). Each such line is joined with the lines that continue it; a logical line keeps the number
of its first physical line, so evidence still points at the paste.

Only pastes (the small-input path) are unwrapped: large logs come from files, which nobody wrapped.
"""

from __future__ import annotations

import unicodedata

MIN_WIDTH = 60  # narrower than any terminal a log is read in
MAX_WIDTH = 1000
MIN_WRAPPED = 2  # wrapped lines needed to call a paste wrapped (one long line of exactly the max width is chance)
_BOX = frozenset("│┃|╮╯┓┛╭╰┏┗─━")
_START = 4  # how much of a line's start tells a record's kind (`serv`er3:..., `fram`e #2, `  Fi`le)
_RECORD_HEAD = 8  # a templated log's records start alike; a wrapped line's continuation does not


def width(line: bytes) -> int:
    """Terminal columns of `line` (East Asian wide characters take two)."""
    if line.isascii():
        return len(line)
    text = line.decode("utf-8", "replace")
    return len(text) + sum(unicodedata.east_asian_width(ch) in "WF" for ch in text)


def _continues(line: bytes, after: bytes) -> bool:
    if not after.strip() or line[-2:] == b"  ":  # a console pads a line that ended short with spaces
        return False
    last = line.decode("utf-8", "replace").rstrip()[-1:]
    first = after.decode("utf-8", "replace").lstrip()[:1]
    if last in _BOX or first in _BOX:  # rich's boxes draw every line to the same width
        return False
    return line[:_RECORD_HEAD] != after[:_RECORD_HEAD]


def _mid_word(line: bytes, after: bytes) -> bool:
    """The window's edge fell inside a word (`asynchr` / `onous`, `NumelO` / `ut`): no program ends a line so, and
    the next line starts in lower case or a digit, as no record after a complete line does."""
    return line[-1:].isalnum() and (after[:1].islower() or after[:1].isdigit())


def logical_lines(lines: list[bytes], margin: bytes = b"") -> list[tuple[int, bytes]]:
    """(index of the first physical line, the line) for each logical line of `lines`.

    Unchanged (one entry per physical line) unless the lines are a wrapped paste. `margin`: what the paste put
    before every physical line (margin.py), which a continuation loses when it is joined.
    """
    stripped = [line.removesuffix(b"\r") for line in lines]
    bare = [line.removeprefix(margin) for line in stripped] if margin else stripped  # as the terminal showed them
    widths = [width(line) for line in bare]
    edge = max(widths, default=0)
    at_edge = [i for i, w in enumerate(widths) if w == edge and i + 1 < len(lines)]
    # how lines that surely start a line begin (those after a shorter line): a continuation does not begin so
    starts = {line[:_START] for j, line in enumerate(bare) if j == 0 or widths[j - 1] < edge}
    wrapped = {i for i in at_edge if _continues(bare[i], bare[i + 1]) and bare[i + 1][:_START] not in starts}
    # distinct joints: ranks printing one message of the window's width each are no evidence of a window
    inside_words = len({(bare[i], bare[i + 1]) for i in wrapped if _mid_word(bare[i], bare[i + 1])})
    # one joint inside a word is enough where another line of the window's width carries on too (a long message cut
    # at a space as often as inside a word): two lines of exactly the longest width are rare by chance
    joints = len({(bare[i], bare[i + 1]) for i in wrapped})
    enough = inside_words >= MIN_WRAPPED or (inside_words >= 1 and joints >= MIN_WRAPPED)
    if not MIN_WIDTH <= edge <= MAX_WIDTH or not enough or 2 * len(wrapped) < len(at_edge):
        return list(enumerate(lines))
    out: list[tuple[int, bytes]] = []
    i = 0
    while i < len(lines):
        start, parts = i, [stripped[i]]
        while i in wrapped:
            i += 1
            parts.append(bare[i])
        out.append((start, b"".join(parts)))
        i += 1
    return out
