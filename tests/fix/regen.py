"""Regenerate the expected outputs of tests/fix/cases after reviewing a rule change:
python tests/fix/regen.py   (then read the diff before committing)."""

from pathlib import Path

from ddoctor.fix.engine import fix_source, select_rules

for src in sorted(Path(__file__).with_name("cases").glob("*/*.in.py")):
    code = src.parent.name
    res = fix_source(src.read_text(), rules=select_rules([code], None), unsafe=True, path=src.name)
    src.with_name(src.name.replace(".in.py", ".out.py")).write_text(res.new_source or src.read_text())
