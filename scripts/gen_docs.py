"""Generate docs/signatures/*.md and docs/fixes/*.md from the knowledge base and the fix rules.

`python scripts/gen_docs.py` writes them; `--check` exits 1 if any page is stale or missing (the
test suite runs it, so CI fails when the data and the docs drift apart).
"""

from __future__ import annotations

import sys
from pathlib import Path

from ddoctor.fix.hints import signatures_fixed_by
from ddoctor.fix.rules import RULE_INFO
from ddoctor.kb.loader import load_signatures
from ddoctor.render.diagnose import signature_markdown
from ddoctor.render.fix import rule_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def pages() -> dict[Path, str]:
    out: dict[Path, str] = {}
    sigs = load_signatures()
    rules = sorted(RULE_INFO.values(), key=lambda r: r.code)
    for s in sigs:
        out[DOCS / "signatures" / f"{s.code}-{s.name}.md"] = signature_markdown(s)
    for r in rules:
        out[DOCS / "fixes" / f"{r.code}-{r.name}.md"] = rule_markdown(r, signatures_fixed_by(r.code, sigs))
    index = ["# Failure causes", "", "What `ddoctor diagnose` reports. Each page is generated from the signature's",
             "TOML file in `src/ddoctor/kb/signatures/`.", "", "| code | name | title |", "|---|---|---|"]
    index += [f"| {s.code} | [{s.name}]({s.code}-{s.name}.md) | {s.title}{' (symptom)' if s.symptom else ''} |"
              for s in sigs]
    out[DOCS / "signatures" / "index.md"] = "\n".join(index) + "\n"
    findex = ["# Fix rules", "", "What `ddoctor fix` rewrites. Generated from `src/ddoctor/fix/rules/`.", "",
              "| code | name | applicability | what |", "|---|---|---|---|"]
    findex += [f"| {r.code} | [{r.name}]({r.code}-{r.name}.md) | {r.applicability.value} | "
               f"{_cell(r.summary)} |" for r in rules]
    out[DOCS / "fixes" / "index.md"] = "\n".join(findex) + "\n"
    return out


def main() -> int:
    check = "--check" in sys.argv
    stale = []
    expected = pages()
    for folder in ("signatures", "fixes"):
        for existing in (DOCS / folder).glob("*.md"):
            if existing not in expected:
                stale.append(f"{existing} (no longer generated)")
                if not check:
                    existing.unlink()
    for path, text in expected.items():
        if not path.exists() or path.read_text() != text:
            stale.append(str(path))
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    if check and stale:
        print("stale generated docs (run python scripts/gen_docs.py):\n  " + "\n  ".join(stale))
        return 1
    print(f"{len(expected)} pages {'up to date' if check else 'written'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
