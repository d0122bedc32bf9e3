"""Where results go: stdout, scrubbed of secrets; progress and messages go to stderr."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable

from rich.console import Console

from ddoctor.redact import scrub, secret_values


class Output:
    def __init__(self, environ: dict | None = None, *, no_color: bool = False, width: int | None = None) -> None:
        env = dict(os.environ if environ is None else environ)
        self.secrets = secret_values(env)
        self.color = not no_color and "NO_COLOR" not in env and sys.stdout.isatty()
        self.width = width

    def write(self, text: str) -> None:
        sys.stdout.write(scrub(text, self.secrets))
        if not text.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()

    def render(self, draw: Callable[[Console], None]) -> None:
        """Render with rich into a buffer, scrub it, then print: no secret reaches the terminal."""
        buf = io.StringIO()
        console = Console(file=buf, force_terminal=self.color, no_color=not self.color, highlight=False,
                          width=self.width or (None if self.color else 100),
                          emoji=False)
        draw(console)
        sys.stdout.write(scrub(buf.getvalue(), self.secrets))
        sys.stdout.flush()


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, emoji=False)


def error(message: str) -> None:
    sys.stderr.write(f"ddoctor: error: {message}\n")
