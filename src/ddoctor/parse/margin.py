"""The margin a paste carries on every line: a Markdown code block's indent, an e-mail or Markdown quote.

People paste logs into issues, chats and mails indented by four spaces or quoted with `> `. Every
line then starts with the same few characters, which Python never printed: a traceback's exception
line is no longer at its margin, `^usage:` no longer starts a line, a frame's source line looks like
a continuation. The margin is found once, from the head of the input, and taken off every line that
carries it, so the parser reads the lines as the program printed them.

Only a margin shared by every non-blank line of the head counts (a log whose lines merely happen
to be indented differently keeps its shape), only indent and quote characters make one, and
spaces alone only from four on (two is the indent programs print themselves).
"""

from __future__ import annotations

import os
from collections.abc import Callable

MARGIN_CHARS = b" \t>"
HEAD = 16 << 10  # bytes of the input the margin is learned from
MIN_LINES = 3  # a margin needs this many non-blank lines to be told from one indented line
# Spaces alone make a margin only from a Markdown code block's four on: Python's frames, torchrun's summary fields
# and most programs' own continuation lines are indented by two, and a paste of just those lines keeps them.
MIN_SPACES = 4


def find(head: bytes | bytearray) -> str:
    """The margin every non-blank line of `head` starts with ("" when there is none).

    A line made only of margin characters (`>` on a quoted blank line) is blank. A last line cut
    short can only shorten the margin, never invent one.
    """
    lines = (line.rstrip(b"\r") for line in bytes(head[:HEAD]).split(b"\n"))
    # each non-blank line's leading run of margin characters (a line of nothing else is blank)
    runs = [line[:len(line) - len(stripped)].decode("ascii") for line in lines
            if (stripped := line.lstrip(MARGIN_CHARS))]
    # character by character is what a margin is (not path components)
    common = os.path.commonprefix(runs) if len(runs) >= MIN_LINES else ""  # noqa: RUF071
    return "" if common.strip(" ") == "" and len(common) < MIN_SPACES else common


def stripper(margin: str, feed: Callable[[int, str], None]) -> Callable[[int, str], None]:
    """`feed` with the margin taken off each line that carries it; a blank quoted line becomes blank."""
    if not margin:
        return feed
    n = len(margin)
    bare = margin.rstrip()

    def strip(lineno: int, text: str) -> None:
        if text.startswith(margin):
            text = text[n:]
        elif bare and text.rstrip() == bare:
            text = ""
        feed(lineno, text)

    return strip
