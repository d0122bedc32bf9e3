"""Message levels (info / hint / error): a passing check gives advice as hints, never a verdict against the host."""

from __future__ import annotations

import pytest

from ddoctor.host import fake
from ddoctor.model.finding import Finding, Level, Message, Remediation
from ddoctor.model.status import Status
from ddoctor.probes.base import ProbeContext
from ddoctor.probes.registry import PROBES
from ddoctor.probes.runner import run_probes


@pytest.mark.parametrize("status", [Status.PASS, Status.SKIP])
def test_a_passing_or_skipped_finding_cannot_carry_an_error(status):
    with pytest.raises(ValueError, match="carries an error message"):
        Finding(id="x", title="x", group="g", status=status, summary="s",
                messages=(Message(level=Level.ERROR, text="broken"),))


def test_a_failing_finding_may_carry_an_error():
    f = Finding(id="x", title="x", group="g", status=Status.FAIL, summary="s",
                messages=(Message(level=Level.ERROR, text="broken"),), remediation=Remediation(summary="fix it"))
    assert [m.level for m in f.all_messages] == [Level.ERROR]


@pytest.mark.parametrize("name", sorted(fake.SCENARIOS))
def test_debuggability_states_facts_and_gives_advice_as_hints(name):
    probe = next(p for p in PROBES if p.id == "debug.readiness")
    (f,) = run_probes((probe,), ProbeContext(host=fake.SCENARIOS[name][0]()))
    assert f.status is Status.PASS
    assert "hard to debug" not in f.summary
    assert {m.level for m in f.messages} <= {Level.HINT}
