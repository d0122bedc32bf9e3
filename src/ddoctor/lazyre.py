"""Regular expressions compiled the first time they are used.

Most of ddoctor's module-level patterns serve rare shapes (a Slurm exit line, a kubectl prefix, a
Windows path): a pasted log meets few of them, yet compiling all of them at import cost more than
diagnosing the paste. A `LazyPattern` has the methods ddoctor calls on a compiled pattern and
compiles on the first call; `re`'s own cache does not survive the process, so this is the saving.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

CREATED: list[LazyPattern] = []  # every module-level pattern `lazy_re` made, so that a test compiles each one


class LazyPattern:
    __slots__ = ("_flags", "_rx", "pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self._flags = flags
        self._rx: re.Pattern[str] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        rx = self._rx
        if rx is None:
            rx = self._rx = re.compile(self.pattern, self._flags)
        return rx

    def search(self, string: str, pos: int = 0, endpos: int = 2**63 - 1) -> re.Match[str] | None:
        return (self._rx or self.compiled).search(string, pos, endpos)

    def match(self, string: str, pos: int = 0, endpos: int = 2**63 - 1) -> re.Match[str] | None:
        return (self._rx or self.compiled).match(string, pos, endpos)

    def fullmatch(self, string: str, pos: int = 0, endpos: int = 2**63 - 1) -> re.Match[str] | None:
        return (self._rx or self.compiled).fullmatch(string, pos, endpos)

    def finditer(self, string: str, pos: int = 0, endpos: int = 2**63 - 1) -> Iterator[re.Match[str]]:
        return (self._rx or self.compiled).finditer(string, pos, endpos)

    def findall(self, string: str, pos: int = 0, endpos: int = 2**63 - 1) -> list:
        return (self._rx or self.compiled).findall(string, pos, endpos)

    def sub(self, repl: str | Callable[[re.Match[str]], str], string: str, count: int = 0) -> str:
        return (self._rx or self.compiled).sub(repl, string, count)

    def split(self, string: str, maxsplit: int = 0) -> list:
        return (self._rx or self.compiled).split(string, maxsplit)


def lazy_re(pattern: str, flags: int = 0) -> LazyPattern:
    """`re.compile`, deferred to the first use, for module-level patterns (tests/test_lazyre.py compiles every
    one made at import). Patterns made per run, such as the signature rules, use `LazyPattern` itself: they
    are validated when the signatures are loaded, and nothing keeps them alive after the run."""
    p = LazyPattern(pattern, flags)
    CREATED.append(p)
    return p
