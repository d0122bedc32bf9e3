"""`ddoctor report`: everything collect_env prints, plus ddoctor's verdicts, as one value to render."""

from __future__ import annotations

from dataclasses import dataclass

from ddoctor.model.report import CheckReport


@dataclass(frozen=True, slots=True, kw_only=True)
class Section:
    """A titled list of facts; `block` holds verbatim text (lscpu) shown folded in Markdown."""

    title: str
    rows: tuple[tuple[str, str], ...] = ()
    block: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvReport:
    sections: tuple[Section, ...]
    check: CheckReport
    duration_s: float
