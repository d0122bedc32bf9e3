"""The terminal layer: where results go (stdout), messages and progress (stderr), and how they look.

One place decides, per stream, the width (`COLUMNS` when set, else the terminal on a TTY, else the terminal
stderr is on when stdout is a pipe, else 100),
colour (`--no-color`, `NO_COLOR` when non-empty, `FORCE_COLOR`, a TTY) and whether only ASCII can be
written (then every symbol has a fallback and no character makes the encoder fail). Every value is
scrubbed of secrets and of control characters before a renderer sees it, and every finished text
is scrubbed again on its way out: stdout, stderr, report files and crash files alike.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ddoctor.model.strings import map_strings
from ddoctor.redact import scrub, scrub_values, secret_values
from ddoctor.render.catalog import Format
from ddoctor.render.options import RenderOptions, Style
from ddoctor.render.safe import asciify, visible

if TYPE_CHECKING:
    from rich.console import Console

DEFAULT_WIDTH = 100
MIN_WIDTH = 20
_PROBE = "✓✗☠·•…—→×─µ"


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def stream_is_ascii(stream: IO[str]) -> bool:
    try:
        _PROBE.encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return True
    return False


def _isatty(stream: IO[str] | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False


def _terminal_width(stream: IO[str]) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, AttributeError, ValueError):
        return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def detect_style(stream: IO[str], environ: Mapping[str, str], *, no_color: bool = False,
                 terminal: IO[str] | None = None) -> Style:
    """`terminal`: a stream on the user's terminal (stderr) whose width `stream` takes when it is a pipe, so
    `ddoctor diagnose job.log | less` (or `| head`, `| tee`) is laid out for the window it is read in."""
    tty = _isatty(stream)
    cols = environ.get("COLUMNS", "").strip()
    if cols.isdigit() and int(cols) > 0:
        width = int(cols)
    elif tty:
        width = _terminal_width(stream)
    elif terminal is not None and _isatty(terminal):
        width = _terminal_width(terminal)
    else:
        width = DEFAULT_WIDTH
    color = not no_color and not environ.get("NO_COLOR") and (
        _flag(environ, "FORCE_COLOR") or (tty and environ.get("TERM") != "dumb"))
    return Style(width=max(width, MIN_WIDTH), color=color, ascii=stream_is_ascii(stream))


def encodable(text: str, stream: IO[str], fmt: Format = Format.TEXT) -> str:
    """`text` in a form the stream's encoding can write: JSON and XML stay valid (escapes, character
    references); text gets ASCII spellings of its symbols and backslash escapes for the rest."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        pass
    except LookupError:
        encoding = "ascii"
    if fmt is Format.JSON:
        from ddoctor.render.jsonout import ascii_json

        return ascii_json(text)
    handler = "xmlcharrefreplace" if fmt is Format.JUNIT else "backslashreplace"
    if fmt is not Format.JUNIT:
        text = asciify(text)
    return text.encode(encoding, handler).decode(encoding)


def _write(stream: IO[str], text: str, fmt: Format = Format.TEXT) -> None:
    stream.write(encodable(text if text.endswith("\n") else text + "\n", stream, fmt))
    stream.flush()


class Output:
    """One command's output. Results go to stdout (or a report file), through `emit` or `write`."""

    def __init__(self, environ: Mapping[str, str] | None = None, *, no_color: bool = False,
                 width: int | None = None, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> None:
        env = dict(os.environ if environ is None else environ)
        self.secrets = secret_values(env)
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.style = detect_style(self.stdout, env, no_color=no_color, terminal=self.stderr)
        self.err_style = detect_style(self.stderr, env, no_color=no_color)
        if width:
            self.style = replace(self.style, width=width)

    @property
    def color(self) -> bool:
        """Whether stdout gets ANSI styles (for output written as bytes, such as `ddoctor fix`'s diffs)."""
        return self.style.color

    def prepare(self, value: object, fmt: Format):
        """Secrets out of every string; control characters made visible (JSON escapes its own)."""
        value = scrub_values(value, self.secrets)
        return value if fmt is Format.JSON else map_strings(value, visible)

    def text_of(self, kind: str, fmt: Format | str, value: object, opts: RenderOptions | None = None, *,
                style: Style | None = None) -> str:
        from ddoctor.render.formats import render

        fmt = Format(fmt)
        opts = replace(opts or RenderOptions(), style=style or self.style)
        return scrub(render(kind, fmt, self.prepare(value, fmt), opts), self.secrets)

    def emit(self, kind: str, fmt: Format | str, value: object, opts: RenderOptions | None = None, *,
             to_stderr: bool = False) -> None:
        """Render `value` as document `kind` in `fmt` and print it (stdout, or stderr for `ddoctor run`)."""
        stream = self.stderr if to_stderr else self.stdout
        _write(stream, self.text_of(kind, fmt, value, opts, style=self.err_style if to_stderr else self.style),
               Format(fmt))

    def report(self, path: Path, kind: str, fmt: Format | str, value: object,
               opts: RenderOptions | None = None) -> None:
        """The document into a file (UTF-8, no colour, 100 columns): the job's own streams stay untouched."""
        text = self.text_of(kind, fmt, value, opts, style=Style())
        path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")

    def write(self, text: str, fmt: Format = Format.TEXT) -> None:
        _write(self.stdout, scrub(text, self.secrets), fmt)

    def render(self, draw: Callable[[Console], object]) -> None:
        """Draw with rich into a buffer of this terminal's style, scrub it, then print it (for output that
        has no document kind yet; prefer `emit`, which also neutralises control characters in values)."""
        from ddoctor.render.console import capture

        _write(self.stdout, scrub(capture(self.style, draw), self.secrets))

    @contextlib.contextmanager
    def status(self, message: str) -> Iterator[Callable[[str], None]]:
        """A spinner on stderr while work runs, only when a person watches; yields `update(message)`."""
        if not self.stderr.isatty():
            yield lambda _message: None
            return
        from ddoctor.render.console import make_console

        console = make_console(self.err_style, self.stderr)
        spinner = "line" if self.err_style.ascii else "dots"
        with console.status(self._clean(message), spinner=spinner) as st:
            yield lambda m: st.update(self._clean(m))

    def _clean(self, message: str) -> str:
        text = visible(scrub(message, self.secrets))
        return asciify(text) if self.err_style.ascii else text


def stderr_console() -> Console:
    """A Console on stderr in this terminal's style, for progress bars and spinners."""
    from ddoctor.render.console import make_console

    return make_console(detect_style(sys.stderr, os.environ), sys.stderr)


def message(text: str) -> None:
    """A line for the person on stderr (scrubbed, controls visible, encodable)."""
    _write(sys.stderr, visible(scrub(text)))


def error(text: str) -> None:
    message(f"ddoctor: error: {text}")
