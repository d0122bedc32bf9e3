"""Each rule on its fixture pairs (cases/<CODE>/*.in.py → *.out.py), plus idempotence and safety."""

from pathlib import Path

import libcst as cst
import pytest

from ddoctor.fix.engine import fix_source, select_rules
from ddoctor.fix.rules import RULE_INFO, RULES

CASES = sorted(Path(__file__).with_name("cases").glob("*/*.in.py"))


@pytest.mark.parametrize("src", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_pair(src):
    code = src.parent.name
    expected = src.with_name(src.name.replace(".in.py", ".out.py")).read_text()
    res = fix_source(src.read_text(), rules=select_rules([code], None), unsafe=True)
    assert (res.new_source or src.read_text()) == expected
    assert all(e.code == code for e in res.edits)


@pytest.mark.parametrize("src", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_rule_is_idempotent_and_output_parses(src):
    once = fix_source(src.read_text(), rules=select_rules(None, None), unsafe=True).new_source or src.read_text()
    cst.parse_module(once)
    twice = fix_source(once, rules=select_rules(None, None), unsafe=True)
    assert twice.edits == [] and twice.new_source is None


def test_guarded_code_is_left_alone():
    src = Path(__file__).with_name("cases").joinpath("DDF001", "guarded.in.py").read_text()
    assert fix_source(src, rules=select_rules(None, None), unsafe=True).edits == []


def test_unsafe_fixes_are_reported_but_held_back():
    src = 'import torch\nx = torch.zeros(2, device="cuda")\nimport torch.distributed as dist\ndist.init_process_group("nccl")\n'
    res = fix_source(src, rules=select_rules(None, None), unsafe=False)
    assert {e.code for e in res.edits} == {"DDF001", "DDF002"}
    assert [e.code for e in res.applied] == ["DDF001"]
    assert 'device="cuda"' in res.new_source and '"gloo"' in res.new_source


def test_edits_point_at_the_original_lines():
    src = "import torch\ntorch.cuda.set_device(0)\nx = torch.zeros(2).cuda()\n"
    res = fix_source(src, rules=select_rules(None, None), unsafe=True)
    assert [(e.code, e.line) for e in res.edits] == [("DDF003", 2), ("DDF002", 3)]


def test_comments_and_formatting_survive():
    src = "import torch  # the framework\n\n\n# setup\ntorch.cuda.set_device(0)   # bind\n"
    out = fix_source(src, rules=select_rules(None, None), unsafe=True).new_source
    assert "# the framework" in out and "# setup" in out and "# bind" in out


def test_file_that_does_not_parse_is_reported():
    res = fix_source("def broken(:\n", rules=select_rules(None, None), unsafe=True)
    assert res.error.startswith("cannot parse") and res.new_source is None


def test_select_and_ignore_by_prefix():
    assert [r.info.code for r in select_rules(["DDF00"], ["DDF002", "DDF005"])] == ["DDF001", "DDF003", "DDF004",
                                                                                    "DDF006"]


def test_rule_docs_are_complete_and_codes_unique():
    assert len(RULE_INFO) == len(RULES)
    for info in RULE_INFO.values():
        assert info.why and info.unsafe_when and info.before and info.after and info.summary


def test_every_fix_code_in_the_knowledge_base_exists():
    from ddoctor.kb.loader import load_signatures

    for sig in load_signatures():
        for code in sig.fix_codes:
            assert code in RULE_INFO, (sig.name, code)
