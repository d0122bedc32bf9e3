"""From a diagnosed cause's fix_codes to the exact command, and from a rule back to the causes it removes."""

import shlex

from ddoctor.fix.hints import command_for, signatures_fixed_by
from ddoctor.kb.loader import load_signatures


def test_a_safe_rule_needs_only_write():
    assert command_for(["DDF001"], "/home/dev/llama/generation.py") == \
        "ddoctor fix --write --select DDF001 /home/dev/llama/generation.py"


def test_an_unsafe_rule_adds_unsafe_fixes():
    assert command_for(["DDF002", "DDF003"], "train.py") == \
        "ddoctor fix --write --unsafe-fixes --select DDF002,DDF003 train.py"


def test_the_path_is_shell_quoted():
    assert shlex.split(command_for(["DDF001"], "/data/my run/train's.py"))[-1] == "/data/my run/train's.py"


def test_without_a_user_frame_the_project_is_the_target():
    assert command_for(["DDF004"], None).endswith(" --select DDF004 .")


def test_no_known_rule_no_command():
    assert command_for([], "x.py") is None
    assert command_for(["DDF999"], "x.py") is None


def test_codes_are_deduplicated_in_order():
    assert "--select DDF003,DDF001 " in command_for(["ddf003", "DDF001", "DDF003"], "x.py")


def test_causes_come_from_the_knowledge_base():
    # DDF001 picks the backend from what the host has: a build without NCCL, and a CUDA build that sees no GPU
    assert signatures_fixed_by("DDF001", load_signatures()) == ("nccl-unavailable", "no-gpu-visible")
