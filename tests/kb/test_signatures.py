"""The knowledge base: complete, consistent with the taxonomy, and its embedded examples hold."""

import re

import pytest

from ddoctor.kb.engine import diagnose_text
from ddoctor.kb.loader import find_signature, load_signatures
from ddoctor.parse.multimatch import required_literal
from tests.conftest import ROOT, SHARED

SIGS = load_signatures()


ADDITIONS = ROOT / "docs" / "taxonomy-additions.md"


def _table_names(text):
    return {m.group(1) for m in re.finditer(r"^\| ([a-z0-9-]+) \|", text, re.M)} - {"name"}


def taxonomy_names():
    return _table_names((SHARED / "taxonomy.md").read_text())


@pytest.mark.needs_shared
def test_names_are_exactly_the_taxonomy_and_its_additions():
    added = _table_names(ADDITIONS.read_text())
    assert not added & taxonomy_names()  # an existing name is never redefined
    assert {s.name for s in SIGS} == taxonomy_names() | added


@pytest.mark.needs_shared
def test_every_shared_taxonomy_name_still_has_its_signature():
    assert taxonomy_names() <= {s.name for s in SIGS}


def test_codes_and_names_are_unique_and_well_formed():
    assert len({s.code for s in SIGS}) == len(SIGS) == len({s.name for s in SIGS})
    assert all(re.fullmatch(r"DD\d{3}", s.code) for s in SIGS)


@pytest.mark.parametrize("sig", SIGS, ids=lambda s: s.name)
def test_docs_are_complete(sig):
    assert sig.title
    assert len(sig.what) > 40
    assert len(sig.why) > 40
    assert sig.fix_summary
    assert sig.fix_steps or sig.commands
    assert any(e.kind == "match" for e in sig.examples)
    assert any(e.kind == "no_match" for e in sig.examples)


EXAMPLES = [(s, e) for s in SIGS for e in s.examples]


@pytest.mark.parametrize(("sig", "example"), EXAMPLES, ids=[f"{s.name}-{e.kind}-{i}" for i, (s, e) in enumerate(EXAMPLES)])
def test_embedded_examples(sig, example):
    names = [d.name for d in diagnose_text(example.text).diagnoses]
    if example.kind == "match":
        assert names, names
        assert names[0] == sig.name, names
    else:
        assert sig.name not in names, names


@pytest.mark.parametrize("sig", SIGS, ids=lambda s: s.name)
def test_prefilter_literal_is_sound(sig):
    """Whenever a rule's regex matches a line, the cheap literal prefilter must also be in the line."""
    for rule in sig.rules:
        pattern = rule.line or rule.message
        if not pattern:
            continue
        lit = required_literal(pattern)
        if lit is None:
            continue
        for ex in sig.examples:
            for line in ex.text.splitlines():
                if re.search(pattern, line):
                    assert lit in line, (pattern, lit, line)


@pytest.mark.parametrize(("pattern", "literal"), [
    ("Distributed package doesn't have NCCL built in", "Distributed package doesn't have NCCL built in"),
    ("Loading a checkpoint for MP=(?P<mp>\\d+) but world size is", "Loading a checkpoint for MP="),
    ("a|b", None),
    ("(?i)cuda", None),
    ("Signal 9 \\(SIGKILL\\) received by PID", "Signal 9 (SIGKILL) received by PID"),
    ("colou?r scheme", "r scheme"),
    # escaped characters inside a group are not collected either (`\\.`, `\\(`, `\\[` gave ".([")
    ("x(?P<ckpt>torch\\.Size\\(\\[[\\d, ]{0,80}\\]\\))", None),
])
def test_required_literal(pattern, literal):
    assert required_literal(pattern) == literal


def test_find_by_name_or_code():
    assert find_signature("DD101").name == "nccl-unavailable"
    assert find_signature("nccl-unavailable").code == "DD101"
    assert find_signature("nope") is None


def test_every_line_pattern_compiles_for_the_one_pass_engine():
    """Line rules run in hyperscan (no lookaround, no backreferences): a pattern it rejects would
    silently never open a window in large logs."""
    from ddoctor.kb.engine import triggers_for
    from ddoctor.parse.multimatch import check_patterns, engine_name

    if engine_name() != "hyperscan":
        pytest.skip("hyperscan is not installed on this platform (the re fallback takes any pattern)")
    assert check_patterns(triggers_for(SIGS).patterns.patterns) == []


@pytest.mark.parametrize(("raw", "complaint"), [
    ({"line": "Waiting", "warning": True, "stalled": True}, "not both"),
    ({"line": "Waiting", "until": "Completed"}, "`until` ends the wait"),
    ({"message": "Waiting", "stalled": True}, "applies to `line` rules"),
    ({"line": "Waiting", "stalled": True, "until": "Completed("}, "bad until regex"),
    ({"exception": ["TypeError"], "innermost": True}, "`innermost` narrows a `frame` or `source` rule"),
    ({"line": "If your script expects", "explains_only": True}, "`explains_only` applies to `warning` rules"),
])
def test_stalled_rules_are_checked_when_loaded(raw: dict, complaint: str):
    from ddoctor.kb.loader import SignatureError, _rule

    with pytest.raises(SignatureError, match=re.escape(complaint)):
        _rule(raw, "DD999 rule 1")


def test_an_innermost_frame_rule_reads_only_the_frame_that_raised():
    """A library frame further out (a callback into the user's code) is not where the call failed."""
    from ddoctor.kb.engine import diagnose_text

    head = ('Traceback (most recent call last):\n'
            '  File "/venv/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1751, in _call_impl\n'
            '    return forward_call(*args, **kwargs)\n')
    user = '  File "/srv/app/model.py", line 20, in forward\n    return self.norm(x, eps_value=1e-5)\n'
    lib = ('  File "/venv/lib/python3.11/site-packages/peft/tuners/lora/model.py", line 90, in forward\n'
           '    return self.base(x, use_dora=True)\n')
    tail = "TypeError: {}() got an unexpected keyword argument 'eps_value'\n"
    in_user = diagnose_text(head + user + tail.format("LayerNorm.forward"))
    in_library = diagnose_text(head + user + lib + tail.format("Linear.forward"))
    assert in_user.diagnoses[0].name == "user-code-error"
    assert in_library.diagnoses[0].name == "library-too-old"


def test_the_readme_counts_the_signatures_that_ship():
    """The README's command table says how many causes `diagnose` knows; it went stale once (58 for 96)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"Every failure cause `diagnose` knows \((\d+) today\)", readme)
    assert m is not None and int(m.group(1)) == len(SIGS)
