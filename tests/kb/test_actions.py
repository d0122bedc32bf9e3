"""The action a failed job's root cause asks of a scheduler (kb/actions.py)."""

import pytest

from ddoctor.kb.actions import DRAIN, RETRY, failure_action
from ddoctor.kb.loader import load_signatures
from ddoctor.model.report import Action


class _D:
    def __init__(self, name):
        self.name = name


@pytest.mark.parametrize(("name", "action"), [("gpu-hardware-error", Action.DRAIN), ("nccl-timeout", Action.RETRY),
                                              ("user-code-error", Action.STOP), ("cuda-oom", Action.STOP),
                                              ("unknown", Action.RETRY)])
def test_root_cause_to_action(name, action):
    assert failure_action([_D(name), _D("gpu-hardware-error")]) is action


def test_a_failure_nothing_explains_is_retried():
    assert failure_action([]) is Action.RETRY


def test_every_name_in_the_tables_is_a_signature():
    assert (DRAIN | RETRY) - {s.name for s in load_signatures()} == set()
