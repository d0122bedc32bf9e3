import threading

from ddoctor.host import fake
from ddoctor.model.status import Status
from ddoctor.probes.base import Probe, ProbeContext, ok
from ddoctor.probes.registry import PROBES, select
from ddoctor.probes.runner import run_probes

CTX = ProbeContext(host=fake.FakeHost())


def probe(pid, fn, timeout=5.0):
    return Probe(id=pid, title=pid, group="g", run=fn, description="d", timeout_s=timeout)


def test_crash_becomes_error_and_the_rest_still_runs():
    def boom(ctx):
        raise RuntimeError("probe bug")

    out = run_probes((probe("a", boom), probe("b", lambda c: ok("fine"))), CTX)
    assert [f.id for f in out] == ["a", "b"]
    assert out[0].status is Status.ERROR
    assert "probe bug" in out[0].summary
    assert "RuntimeError" in out[0].error.type_name
    assert out[1].status is Status.PASS


def test_stuck_probe_is_reported_after_its_deadline():
    release = threading.Event()

    def stuck(ctx):
        release.wait(30)
        return ok("late")

    try:
        out = run_probes((probe("slow", stuck, timeout=0.2), probe("fast", lambda c: ok("x"))), CTX)
    finally:
        release.set()
    assert out[0].status is Status.ERROR
    assert "did not finish" in out[0].summary
    assert out[1].status is Status.PASS


def test_order_is_registration_order_even_when_finishing_out_of_order():
    gate = threading.Event()

    def first(ctx):
        gate.wait(5)
        return ok("1")

    def second(ctx):
        gate.set()
        return ok("2")

    assert [f.summary for f in run_probes((probe("a", first), probe("b", second)), CTX)] == ["1", "2"]


def test_ids_are_unique_and_selectable_by_prefix():
    ids = [p.id for p in PROBES]
    assert len(ids) == len(set(ids))
    assert {p.id for p in select(["cuda"])} == {i for i in ids if i.startswith("cuda.")}
    assert [p.id for p in select(["sys.shm"])] == ["sys.shm"]
