import pytest

from ddoctor.model.finding import Finding, Remediation
from ddoctor.model.host import HostFacts
from ddoctor.model.report import CheckReport, check_exit_code
from ddoctor.model.status import Status, worst_of

HOST = HostFacts(hostname="h", system="Linux", machine="x86_64", python_version="3.11", torch_installed=True,
                 torch_version="2.13.0")


def f(status, **kw):
    rem = Remediation(summary="do it") if status in (Status.WARN, Status.FAIL) else None
    return Finding(id=f"x.{status.value}", title="t", group="g", status=status, summary="s", remediation=rem, **kw)


def test_worst_of_orders_error_above_fail():
    assert worst_of([Status.PASS, Status.ERROR, Status.FAIL]) is Status.ERROR
    assert worst_of([]) is Status.SKIP


def test_warn_and_fail_require_a_remediation():
    with pytest.raises(ValueError, match="no remediation"):
        Finding(id="a", title="t", group="g", status=Status.FAIL, summary="s")


def test_pass_cannot_carry_a_remediation():
    with pytest.raises(ValueError, match="passes"):
        Finding(id="a", title="t", group="g", status=Status.PASS, summary="s", remediation=Remediation(summary="x"))


def test_evidence_is_read_only():
    fnd = f(Status.PASS, evidence={"a": 1})
    with pytest.raises(TypeError):
        fnd.evidence["a"] = 2


@pytest.mark.parametrize(("statuses", "strict", "code"), [
    ([Status.PASS, Status.SKIP], False, 0),
    ([Status.PASS, Status.WARN], False, 0),
    ([Status.PASS, Status.WARN], True, 1),
    ([Status.FAIL], False, 1),
    ([Status.ERROR], False, 1),
])
def test_exit_code_policy(statuses, strict, code):
    report = CheckReport(findings=tuple(f(s) for s in statuses), host=HOST, duration_s=0.1, ddoctor_version="0")
    assert check_exit_code(report, strict=strict) == code


def test_counts_cover_every_status():
    report = CheckReport(findings=(f(Status.PASS), f(Status.WARN)), host=HOST, duration_s=0, ddoctor_version="0")
    assert report.counts == {"skip": 0, "pass": 1, "warn": 1, "fail": 0, "error": 0}
