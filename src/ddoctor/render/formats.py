"""The one format dispatch: (kind of document, format) → renderer, checked complete at import time.

Every renderer has the same shape, `(value, RenderOptions) -> str` (pip-audit's
`VulnerabilityFormat.format`). `OFFERED` in `render.catalog` is what the CLI lets people ask for;
importing this module fails when an offered pair has no renderer, or a renderer is not offered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

from ddoctor.render.catalog import OFFERED, Format
from ddoctor.render.options import RenderOptions

Renderer = Callable[[Any, RenderOptions], str]
T, J, X, M, G = Format.TEXT, Format.JSON, Format.JUNIT, Format.MARKDOWN, Format.GITHUB

# "module:function" inside ddoctor.render, imported on first use: a JSON diagnosis never loads rich or
# the other documents' renderers (tests/render/test_formats.py resolves every entry).
RENDERERS: dict[str, dict[Format, str]] = {
    "check": {T: "check:text", J: "check:json", X: "check:junit", M: "check:markdown", G: "github:check"},
    "check-list": {T: "check:list_text", J: "check:list_json"},
    "scenarios": {T: "check:scenarios_text", J: "check:scenarios_json"},
    "cluster": {T: "cluster:text", J: "cluster:json"},
    "smoke-preflight": {T: "check:text", J: "check:preflight_json"},
    "diagnosis": {T: "diagnose:text", J: "diagnosis_json:json", M: "diagnose:markdown", G: "github:diagnose"},
    "fr": {T: "flight_recorder:text", J: "flight_recorder:json"},
    "ras": {T: "ras:text", J: "ras:json"},
    "signature": {T: "diagnose:signature_text", J: "diagnose:signature_json", M: "diagnose:signature_doc"},
    "fix-rule": {T: "fix:rule_text", J: "fix:rule_json", M: "fix:rule_doc_markdown"},
    "signatures": {T: "diagnose:signatures_text", J: "diagnose:signatures_json", M: "diagnose:signatures_markdown"},
    "fix": {T: "fix:text", J: "fix:json", G: "github:fix"},
    "fix-rules": {T: "fix:rules_text", J: "fix:rules_json"},
    "smoke": {T: "smoke:text", J: "smoke:json"},
    "reshard": {T: "reshard:text", J: "reshard:json"},
    "run": {T: "run:text", J: "run:json"},
    "report": {M: "report:markdown", J: "report:json"},
    "snapshot": {T: "hang:text", J: "hang:json"},
}


def resolve(entry: str) -> Renderer:
    """The renderer function an entry names (importing its module)."""
    module, _, name = entry.partition(":")
    return getattr(import_module(f"ddoctor.render.{module}"), name)


class FormatTableError(RuntimeError):
    pass


def verify(offered: Mapping[str, tuple[Format, ...]], renderers: Mapping[str, Mapping[Format, str]]) -> None:
    """Each offered (kind, format) has exactly one renderer, and nothing is rendered that is not offered."""
    problems = [f"{kind}: {fmt.value} is offered but has no renderer"
                for kind, fmts in offered.items() for fmt in fmts if fmt not in renderers.get(kind, {})]
    problems += [f"{kind}: {fmt.value} has a renderer but is not offered"
                 for kind, table in renderers.items() for fmt in table if fmt not in offered.get(kind, ())]
    if problems:
        raise FormatTableError("; ".join(problems))


verify(OFFERED, RENDERERS)


def render(kind: str, fmt: Format, value: object, opts: RenderOptions) -> str:
    return resolve(RENDERERS[kind][fmt])(value, opts)
