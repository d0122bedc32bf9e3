"""What a renderer is told: the terminal's capabilities and the command's presentation flags."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, kw_only=True)
class Glyphs:
    """Every symbol text output uses, so that an ASCII-only stream gets a designed fallback."""

    ok: str
    warn: str
    fail: str
    error: str
    skip: str
    dot: str
    bullet: str
    ellipsis: str
    dash: str
    arrow: str
    times: str
    rule: str
    micro: str


UNICODE = Glyphs(ok="✓", warn="!", fail="✗", error="☠", skip="-", dot="·", bullet="•", ellipsis="…", dash="—",
                 arrow="→", times="×", rule="─", micro="µ")
ASCII = Glyphs(ok="+", warn="!", fail="x", error="E", skip="-", dot="-", bullet="*", ellipsis="...", dash="--",
               arrow="->", times="x", rule="-", micro="u")


@dataclass(frozen=True, slots=True, kw_only=True)
class Style:
    """`width`: columns prose wraps to (what people copy is never cut to it); `color`: ANSI styles;
    `ascii`: the stream cannot encode anything beyond ASCII."""

    width: int = 100
    color: bool = False
    ascii: bool = False

    @property
    def glyphs(self) -> Glyphs:
        return ASCII if self.ascii else UNICODE


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderOptions:
    """Presentation flags of the command that asked; each renderer reads the ones it knows."""

    style: Style = field(default_factory=Style)
    verbose: bool = False
    quiet: bool = False
    strict: bool = False
    show_all: bool = False
    hints: bool = False
    write: bool = False
    unsafe: bool = False
    show_diff: bool = True
    title: str | None = None
    exit_codes: str = "default"  # the exit-code contract a check report states (default, slurm, kubeflow)
