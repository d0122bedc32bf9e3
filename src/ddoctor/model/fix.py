"""What `ddoctor fix` found and did, per rule and per file: the values its renderers consume."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Applicability(str, Enum):
    """How far a fix may be trusted, in ruff's terms.

    `safe` keeps the program's meaning where it already worked and is applied by `--write`;
    `unsafe` can change behaviour (placement, dtype, speed) and also needs `--unsafe-fixes`;
    `display_only` is shown with its advice and never applied, because only a person can choose.
    """

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display_only"

    def applies(self, *, unsafe: bool) -> bool:
        return self is Applicability.SAFE or (unsafe and self is Applicability.UNSAFE)


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleInfo:
    """A rule's documentation, kept beside its code; `ddoctor explain` and docs/fixes/ are made from it.

    `applicability` is the rule's usual one (its `--write` behaviour); single edits may be less
    trusted (display-only) when the rule sees a reason to leave the choice to the user.
    """

    code: str
    name: str
    summary: str
    applicability: Applicability
    what: str
    why: str
    fix_safety: str
    before: str
    after: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "summary": self.summary,
                "applicability": self.applicability.value, "what": self.what, "why": self.why,
                "unsafe_when": self.fix_safety,  # the field's name in ddoctor.fix-rule/1
                "example": {"before": self.before, "after": self.after}}


@dataclass(frozen=True, slots=True, kw_only=True)
class ExplainedRule:
    """`ddoctor explain DDF00N`: the rule and the causes whose knowledge-base entry names it."""

    info: RuleInfo
    fixes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Edit:
    """One place a rule flagged, at the line and column of the file as the user has it."""

    code: str
    line: int
    col: int
    message: str
    applicability: Applicability

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "line": self.line, "col": self.col, "message": self.message,
                "applicability": self.applicability.value}


@dataclass(frozen=True, slots=True, kw_only=True)
class FileFix:
    """One file's outcome. `diff` is what `--write` would change (or changed), ready for `git apply`.

    `path` is the path as shown and as the diff names it; `skipped` says why a path was not read
    (not a regular file), `error` why it could not be parsed, read or written, `diff_withheld` why
    the diff is not shown (it would print a credential).
    """

    path: str
    edits: tuple[Edit, ...] = ()
    applied: tuple[Edit, ...] = ()
    diff: str = ""
    encoding: str = "utf-8"
    written: bool = False
    error: str | None = None
    skipped: str | None = None
    diff_withheld: str | None = None

    @property
    def remaining(self) -> tuple[Edit, ...]:
        """What a --write run leaves (all of it in check mode, where nothing is written)."""
        return tuple(e for e in self.edits if e not in self.applied) if self.written else self.edits

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "edits": [e.to_dict() for e in self.edits],
                "applied": [e.to_dict() for e in self.applied], "diff": self.diff, "encoding": self.encoding,
                "written": self.written, "error": self.error, "skipped": self.skipped,
                "diff_withheld": self.diff_withheld}
