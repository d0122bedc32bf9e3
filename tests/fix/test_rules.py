"""Each rule on its fixture pairs (cases/<CODE>/<form>.in.py → .out.py), plus idempotence, applicability and safety."""

from pathlib import Path

import libcst as cst
import pytest

from ddoctor.fix.engine import fix_source, select_rules, unified_diff
from ddoctor.fix.rules import RULE_INFO, RULES
from ddoctor.model.fix import Applicability

CASES_DIR = Path(__file__).with_name("cases")
CASES = sorted(CASES_DIR.glob("*/*.in.py"))

# Every form issue 13 lists has a fixture pair that the rule changes (left_alone/guarded/nccl_bound pin
# what must not change).
FORMS = {
    "DDF001": ["basic", "variable", "argparse_default", "config"],
    "DDF002": ["basic", "ordinals_distributed", "ordinals_single", "values"],
    "DDF003": ["basic", "tabs"],
    "DDF004": ["basic", "input_ids_keyword", "subscript", "model_call", "tensor", "batched"],
    "DDF005": ["basic"],
    "DDF006": ["basic"],
}
UNCHANGED = ["DDF001/guarded", "DDF001/nccl_bound", "DDF004/left_alone"]


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _expected(src: Path) -> str:
    return _read(src.with_name(src.name.replace(".in.py", ".out.py")))


def _fix(text: str, code: str | None = None, unsafe: bool = True):
    return fix_source(text, rules=select_rules([code] if code else None, None), unsafe=unsafe)


@pytest.mark.parametrize("src", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_pair(src):
    res = _fix(_read(src), src.parent.name)
    assert res.error is None
    assert (res.new_source or _read(src)) == _expected(src)


@pytest.mark.parametrize("src", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_edits_are_the_rules_own(src):
    assert {e.code for e in _fix(_read(src), src.parent.name).edits} <= {src.parent.name}


@pytest.mark.parametrize("code,form", [(c, f) for c, forms in FORMS.items() for f in forms])
def test_every_listed_form_has_a_pair_that_changes(code, form):
    src = CASES_DIR / code / f"{form}.in.py"
    assert _expected(src) != _read(src)


@pytest.mark.parametrize("case", UNCHANGED)
def test_cases_that_must_stay_as_written(case):
    src = CASES_DIR / f"{case}.in.py"
    assert _expected(src) == _read(src)


@pytest.mark.parametrize("newline", ["\r\n", "\n"], ids=["crlf", "lf"])
@pytest.mark.parametrize("src", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_line_endings_are_kept(src, newline):
    res = _fix(_read(src).replace("\n", newline), src.parent.name)
    assert (res.new_source or _read(src).replace("\n", newline)) == _expected(src).replace("\n", newline)


@pytest.mark.parametrize("src", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_rule_is_idempotent_and_output_parses(src):
    once = _fix(_read(src)).new_source or _read(src)
    cst.parse_module(once)
    twice = _fix(once)
    assert [e for e in twice.edits if e.applicability is not Applicability.DISPLAY_ONLY] == []
    assert twice.new_source is None


def test_guarded_code_is_left_alone():
    assert _fix(_read(CASES_DIR / "DDF001" / "guarded.in.py")).edits == ()


def test_unsafe_fixes_are_reported_but_held_back():
    src = 'import torch\nx = torch.zeros(2, device="cuda")\nimport torch.distributed as dist\ndist.init_process_group("nccl")\n'
    res = _fix(src, unsafe=False)
    assert {e.code for e in res.edits} == {"DDF001", "DDF002"}
    assert [e.code for e in res.applied] == ["DDF001"]
    assert 'device="cuda"' in res.new_source
    assert '"gloo"' in res.new_source


def test_nccl_bound_groups_are_display_only():
    res = _fix(_read(CASES_DIR / "DDF001" / "nccl_bound.in.py"), "DDF001")
    assert [e.applicability for e in res.edits] == [Applicability.DISPLAY_ONLY, Applicability.DISPLAY_ONLY]


def test_a_deliberate_index_in_one_process_is_display_only():
    res = _fix(_read(CASES_DIR / "DDF002" / "ordinals_single.in.py"), "DDF002")
    shown = [(e.line, e.applicability) for e in res.edits if e.applicability is Applicability.DISPLAY_ONLY]
    assert shown == [(6, Applicability.DISPLAY_ONLY), (8, Applicability.DISPLAY_ONLY)]


def test_ordinals_in_a_distributed_script_become_the_local_rank_device():
    out = _fix(_read(CASES_DIR / "DDF002" / "ordinals_distributed.in.py"), "DDF002").new_source
    assert 'torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))' in out
    assert '"cuda:' not in out


def test_distributed_device_never_uses_mps():
    """Gloo's collectives need CPU tensors: a rank's DEVICE is CUDA or the CPU."""
    out = _fix('import torch.distributed as dist\nimport torch\nx = torch.zeros(1).cuda()\n', "DDF002").new_source
    assert "mps" not in out


def test_single_process_device_prefers_mps_after_cuda():
    out = _fix('import torch\nx = torch.zeros(1).cuda()\n', "DDF002").new_source
    assert 'else "mps" if torch.backends.mps.is_available() else "cpu"' in out


def test_import_os_is_added_for_the_rank_device():
    out = _fix('import torch\nimport torch.distributed as dist\nx = torch.zeros(1, device="cuda:0")\n').new_source
    assert out.startswith("import os\nimport torch\n")


def test_device_constant_follows_a_late_import_of_torch():
    src = 'import sys\nprint(sys.argv)\nimport torch\nx = torch.zeros(1).cuda()\n'
    out = _fix(src, "DDF002").new_source
    assert out.index("import torch") < out.index("DEVICE = ")


def test_device_id_of_a_process_group_is_not_rewritten():
    src = 'import torch, os\nimport torch.distributed as dist\ndist.init_process_group("gloo", device_id=torch.device("cuda", 0))\n'
    assert _fix(src, "DDF002").edits == ()


def test_edits_point_at_the_original_lines():
    src = "import torch\ntorch.cuda.set_device(0)\nx = torch.zeros(2).cuda()\n"
    assert [(e.code, e.line) for e in _fix(src).edits] == [("DDF003", 2), ("DDF002", 3)]


def test_comments_and_formatting_survive():
    src = "import torch  # the framework\n\n\n# setup\ntorch.cuda.set_device(0)   # bind\n"
    out = _fix(src).new_source
    assert "# the framework" in out
    assert "# setup" in out
    assert "# bind" in out


def test_default_tensor_type_keeps_its_trailing_comment():
    out = _fix("import torch\ntorch.set_default_tensor_type(torch.cuda.HalfTensor)  # as Meta does\n").new_source
    assert out.splitlines()[-1].endswith("# as Meta does")


def test_file_that_does_not_parse_is_reported():
    res = _fix("def broken(:\n")
    assert res.error.startswith("cannot parse")
    assert res.new_source is None


def test_lone_cr_line_endings_are_refused_not_altered():
    res = _fix("import torch\rtorch.cuda.set_device(0)\r")
    assert res.error.startswith("lone CR line endings")
    assert res.new_source is None


def test_inputs_fed_to_a_non_model_are_left_alone():
    src = ('from transformers import AutoTokenizer\ntok = AutoTokenizer.from_pretrained("m")\n'
           'inputs = tok("x", return_tensors="pt")\nprint(inputs)\nlen(inputs)\n')
    assert _fix(src, "DDF004").edits == ()


def test_a_model_from_another_module_may_be_on_a_gpu():
    src = 'def run(model, tokenizer):\n    batch = tokenizer("x", return_tensors="pt")\n    return model.generate(**batch)\n'
    assert "batch = tokenizer(\"x\", return_tensors=\"pt\").to(model.device)" in _fix(src, "DDF004").new_source


def test_select_and_ignore_by_prefix():
    assert [r.info.code for r in select_rules(["DDF00"], ["DDF002", "DDF005"])] == ["DDF001", "DDF003", "DDF004",
                                                                                    "DDF006"]


def test_rule_codes_are_unique():
    assert len(RULE_INFO) == len(RULES)


@pytest.mark.parametrize("code", sorted(RULE_INFO))
def test_rule_docs_are_complete(code):
    info = RULE_INFO[code]
    assert all((info.what, info.why, info.fix_safety, info.before, info.after, info.summary))


def test_every_fix_code_in_the_knowledge_base_exists():
    from ddoctor.kb.loader import load_signatures

    unknown = [(s.name, c) for s in load_signatures() for c in s.fix_codes if c not in RULE_INFO]
    assert unknown == []


def test_diff_marks_a_missing_final_newline():
    diff = unified_diff("a\nb", "a\nc", "f.py")
    assert diff.endswith("-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n")


def test_diff_splits_on_newlines_only():
    """A form feed or U+2028 inside a line is not a line break for git."""
    diff = unified_diff("x = 1\f# page\ny = 2\n", "x = 1\f# page\ny = 3\n", "f.py")
    assert " x = 1\f# page\n" in diff
