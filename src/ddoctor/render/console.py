"""The one rich Console factory, and the layout every text renderer shares.

Text output is laid out here, not by rich: prose is wrapped to the width with a hanging indent, and
what people copy (commands, code, paths, ids, DD codes) is printed whole on its own line, however
narrow the terminal. Every line is then printed with soft wrapping, so rich never crops or re-wraps
it. Strings are always `Text`, never markup, so `[bold]` or `<package>` in data prints as written.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from typing import IO

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from ddoctor.render.options import Style

_WORD_RE = re.compile(r"[^ ]+")


def make_console(style: Style, file: IO[str]) -> Console:
    """Every Console ddoctor prints through, for stdout, stderr or a buffer."""
    return Console(file=file, width=style.width, force_terminal=style.color, no_color=not style.color,
                   color_system="auto" if style.color else None, highlight=False, markup=False, emoji=False,
                   safe_box=True, legacy_windows=False, force_interactive=False if not style.color else None)


class Lines:
    """A text document built line by line: `prose` wraps, `whole` never breaks."""

    def __init__(self, style: Style) -> None:
        self.style = style
        self.g = style.glyphs
        self.lines: list[Text] = []

    def blank(self) -> None:
        if self.lines and self.lines[-1].plain:
            self.lines.append(Text())

    def whole(self, text: str | Text, *, indent: int = 0, style: str = "") -> None:
        """A line people copy: kept in one piece even when it is wider than the terminal."""
        t = text if isinstance(text, Text) else Text(text, style=style)
        self.lines.append(Text(" " * indent) + t)

    def code(self, source: str, *, indent: int = 0, language: str = "python") -> None:
        """A snippet, line by line, highlighted when colour is on, never wrapped or cropped."""
        source = source.strip("\n")
        if self.style.color:
            from rich.syntax import Syntax

            body = Syntax(source, language, theme="ansi_dark", background_color="default").highlight(source)
            body.rstrip()
            rows = body.split("\n", allow_blank=True)
        else:
            rows = [Text(line) for line in source.split("\n")]
        for row in rows:
            self.whole(row, indent=indent if row.plain else 0)

    def prose(self, text: str | Text, *, indent: int = 0, hang: int = 0, style: str = "") -> None:
        """Words wrapped to the width; continuation lines indented `hang` more. A word longer than a
        line (a path, a URL) is kept whole rather than split."""
        t = text if isinstance(text, Text) else Text(text, style=style)
        for para in t.split("\n", allow_blank=True):
            spans = _wrap(para.plain, self.style.width - indent, self.style.width - indent - hang)
            if not spans:
                self.lines.append(Text(" " * indent) if para.plain else Text())
            for i, (start, end) in enumerate(spans):
                self.lines.append(Text(" " * (indent + (hang if i else 0))) + para[start:end])

    def extend(self, lines: Iterable[Text]) -> None:
        self.lines.extend(lines)

    def render(self) -> str:
        return capture(self.style, lambda console: [console.print(line, soft_wrap=True) for line in self.lines])


def _wrap(text: str, first: int, rest: int) -> list[tuple[int, int]]:
    """Greedy word wrap measured in terminal cells: (start, end) of each line's words in `text`."""
    spans: list[tuple[int, int]] = []
    start = end = None
    for m in _WORD_RE.finditer(text):
        width = first if not spans else rest
        if start is None:
            start, end = m.start(), m.end()
        elif cell_len(text[start:m.end()]) <= max(width, 1):
            end = m.end()
        else:
            spans.append((start, end))
            start, end = m.start(), m.end()
    if start is not None:
        spans.append((start, end))
    return spans


def columns(lines: Lines, rows: Iterable[tuple[Iterable[str | Text], str | Text]], *, indent: int = 0,
            gap: int = 2) -> None:
    """Aligned leading cells printed whole (ids, codes, names) and a last cell of prose that wraps under
    itself; when the leading cells take more than half the width the prose goes on the next line."""
    rows = [(tuple(c if isinstance(c, Text) else Text(c) for c in cells), last) for cells, last in rows]
    if not rows:
        return
    n = max(len(cells) for cells, _ in rows)
    widths = [max((cell_len(cells[i].plain) for cells, _ in rows if i < len(cells)), default=0) for i in range(n)]
    lead = indent + sum(w + gap for w in widths)
    stacked = lead > lines.style.width // 2
    for cells, last in rows:
        head = Text(" " * indent)
        for i, w in enumerate(widths):
            cell = cells[i] if i < len(cells) else Text()
            head.append_text(cell)
            head.append(" " * (w - cell_len(cell.plain) + gap))
        tail = last if isinstance(last, Text) else Text(last)
        if stacked:
            lines.whole(_rstripped(head))
            lines.prose(tail, indent=indent + 4)
            continue
        spans = _wrap(tail.plain, lines.style.width - lead, lines.style.width - lead)
        if not spans:
            lines.whole(_rstripped(head))
        for i, (start, end) in enumerate(spans):
            lines.whole((head if i == 0 else Text(" " * lead)) + tail[start:end])


def _rstripped(t: Text) -> Text:
    t = t.copy()
    t.rstrip()
    return t


def capture(style: Style, draw: Callable[[Console], object]) -> str:
    """What `draw` prints on a Console of this style, as a string."""
    buf = io.StringIO()
    draw(make_console(style, buf))
    return buf.getvalue()


def plural(n: int, one: str, many: str | None = None) -> str:
    """`1 warning`, `2 warnings`, `1 process`, `0 processes`."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def ranks_text(ranks: Iterable[int], ellipsis: str, limit: int = 16) -> str:
    """`rank 3`, `ranks 0,1,2`; a long list ends with an ellipsis and the count."""
    rs = list(ranks)
    shown = ",".join(map(str, rs[:limit])) + (f"{ellipsis} ({len(rs)} in all)" if len(rs) > limit else "")
    return f"{'rank' if len(rs) == 1 else 'ranks'} {shown}"
