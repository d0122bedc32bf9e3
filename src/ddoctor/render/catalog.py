"""Which formats each kind of document has: the one list the CLI offers and the dispatch must fill.

Kept free of rich so that `ddoctor --help` can build every `--format` choice without loading the
renderers; `render.formats` checks at import time that each pair listed here has a renderer.
"""

from __future__ import annotations

from enum import Enum


class Format(str, Enum):
    TEXT = "text"
    JSON = "json"
    JUNIT = "junit"
    MARKDOWN = "markdown"
    GITHUB = "github"


T, J, X, M, G = Format.TEXT, Format.JSON, Format.JUNIT, Format.MARKDOWN, Format.GITHUB

# kind -> formats, in the order --help lists them. The kind is also the JSON schema (`ddoctor.<kind>/1`).
OFFERED: dict[str, tuple[Format, ...]] = {
    "check": (T, J, X, M, G),
    "check-list": (T, J),
    "scenarios": (T, J),
    "cluster": (T, J),
    "smoke-preflight": (T, J),
    "diagnosis": (T, J, M, G),
    "fr": (T, J),
    "ras": (T, J),
    "signature": (T, J, M),
    "fix-rule": (T, J, M),
    "signatures": (T, J, M),
    "fix": (T, J, G),
    "fix-rules": (T, J),
    "smoke": (T, J),
    "reshard": (T, J),
    "run": (T, J),
    "report": (M, J),
    "snapshot": (T, J),
}


def usage_error(kind: str, fmt: Format) -> str | None:
    """Why `fmt` cannot be used for `kind` (naming the valid formats), or None when it can."""
    valid = OFFERED[kind]
    if fmt in valid:
        return None
    return f"--format {fmt.value} is not available here; use one of: {', '.join(f.value for f in valid)}"
