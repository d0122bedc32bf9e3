"""The product's face, pinned: exact text of every renderer, at 60 and 100 columns and in ASCII mode.

Each kind of document has one golden file, `golden/<kind>.txt`, with a section per case. The values
go through the real output layer (secrets scrubbed, controls made visible) as the CLI prints them.
After a deliberate change: `DDOCTOR_UPDATE_GOLDEN=1 python -m pytest tests/render` and review the diff.
"""

from __future__ import annotations

import difflib
import io
import os
import re
from pathlib import Path

import pytest

from ddoctor.cli.output import Output
from ddoctor.render.catalog import OFFERED, Format
from ddoctor.render.options import RenderOptions, Style
from tests.render.samples import SAMPLES

GOLDEN = Path(__file__).with_name("golden")
UPDATE = os.environ.get("DDOCTOR_UPDATE_GOLDEN") == "1"
HEADER_RE = re.compile(r"^======== (.+) ========$", re.M)

OPTIONS: dict[str, dict[str, RenderOptions]] = {
    "check": {"default": RenderOptions(), "verbose": RenderOptions(verbose=True, strict=True),
              "quiet": RenderOptions(quiet=True)},
    "smoke-preflight": {"default": RenderOptions(verbose=True, title="ddoctor smoke --ckpt-dir /ckpt/llama-2-13b")},
    "diagnosis": {"default": RenderOptions(), "all-hints": RenderOptions(show_all=True, hints=True),
                  "quiet": RenderOptions(quiet=True)},
    "fix": {"default": RenderOptions(), "write": RenderOptions(write=True)},
    "smoke": {"default": RenderOptions(), "verbose": RenderOptions(verbose=True)},
}
# Options beyond the default that change a machine format's output (text gets every option set).
MACHINE_OPTIONS = {("check", "verbose"), ("diagnosis", "all-hints"), ("fix", "write")}
STYLES = {"w60": Style(width=60), "w100": Style(width=100), "ascii": Style(width=100, ascii=True)}


def cases() -> list[tuple[str, str, Format, str, str]]:
    """Text at every width and in ASCII; Markdown (symbols) also in ASCII; other formats once."""
    out = []
    for kind, samples in SAMPLES.items():
        for sample in samples:
            for fmt in OFFERED[kind]:
                for opt in OPTIONS.get(kind, {"default": RenderOptions()}):
                    if fmt is not Format.TEXT and opt != "default" and (kind, opt) not in MACHINE_OPTIONS:
                        continue
                    variants = {Format.TEXT: STYLES, Format.MARKDOWN: ("w100", "ascii")}.get(fmt, ("w100",))
                    out += [(kind, sample, fmt, opt, v) for v in variants]
    return out


CASES = cases()


def case_id(case) -> str:
    kind, sample, fmt, opt, variant = case
    return f"{kind} {sample} {fmt.value} {opt} {variant}"


def render(kind: str, sample: str, fmt: Format, opt: str, variant: str) -> str:
    out = Output(environ={}, stdout=io.StringIO(), stderr=io.StringIO())
    opts = OPTIONS.get(kind, {"default": RenderOptions()})[opt]
    return out.text_of(kind, fmt, SAMPLES[kind][sample], opts, style=STYLES[variant])


def read_golden(kind: str) -> dict[str, str]:
    path = GOLDEN / f"{kind}.txt"
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    heads = list(HEADER_RE.finditer(text))
    return {m.group(1): text[m.end() + 1:(heads[i + 1].start() if i + 1 < len(heads) else len(text)) - 1]
            for i, m in enumerate(heads)}


def write_golden() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for kind in SAMPLES:
        parts = [f"======== {case_id(c)} ========\n{render(*c)}\n" for c in CASES if c[0] == kind]
        (GOLDEN / f"{kind}.txt").write_text("".join(parts), encoding="utf-8")


if UPDATE:
    write_golden()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_exact_text(case):
    expected = read_golden(case[0]).get(case_id(case))
    assert expected is not None, f"no golden for {case_id(case)}: run with DDOCTOR_UPDATE_GOLDEN=1"
    got = render(*case)
    assert got == expected, "\n" + "".join(difflib.unified_diff(expected.splitlines(True), got.splitlines(True),
                                                                 "golden", "rendered"))


def test_every_kind_has_a_sample():
    assert set(OFFERED) - set(SAMPLES) == set()


def test_every_golden_section_is_still_rendered():
    known = {case_id(c) for c in CASES}
    stale = [f"{kind}: {name}" for kind in SAMPLES for name in read_golden(kind) if name not in known]
    assert stale == []


@pytest.mark.parametrize("kind", [k for k in SAMPLES if set(OFFERED[k]) - {Format.TEXT, Format.MARKDOWN}])
def test_machine_formats_do_not_depend_on_the_terminal(kind):
    sample = next(iter(SAMPLES[kind]))
    opt = next(iter(OPTIONS.get(kind, {"default": None})))
    for fmt in set(OFFERED[kind]) - {Format.TEXT, Format.MARKDOWN}:
        wide = render(kind, sample, fmt, opt, "w100")
        assert render(kind, sample, fmt, opt, "w60") == wide
        assert render(kind, sample, fmt, opt, "ascii") == wide
