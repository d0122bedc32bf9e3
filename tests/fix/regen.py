"""Regenerate the expected outputs of tests/fix/cases after reviewing a rule change:
python tests/fix/regen.py   (then read the diff before committing)."""

from pathlib import Path

from ddoctor.fix.engine import fix_source, select_rules

for src in sorted(Path(__file__).with_name("cases").glob("*/*.in.py")):
    code = src.parent.name
    text = src.read_text(encoding="utf-8")
    res = fix_source(text, rules=select_rules([code], None), unsafe=True)
    src.with_name(src.name.replace(".in.py", ".out.py")).write_text(res.new_source or text, encoding="utf-8")
