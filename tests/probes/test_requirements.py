import pytest

from ddoctor.host import fake
from ddoctor.model.status import Status
from ddoctor.probes.base import ProbeContext
from ddoctor.probes.requirements import RequirementError, make_requirement_probe, parse_size
from ddoctor.probes.runner import run_probe


def judge(spec, host):
    return run_probe(make_requirement_probe(spec), ProbeContext(host=host)).status


@pytest.mark.parametrize(("spec", "status"), [
    ("cuda", Status.PASS), ("cuda>=12.1", Status.PASS), ("cuda>=13.2", Status.FAIL), ("nccl", Status.PASS),
    ("nccl>=2.18", Status.PASS), ("gpus>=8", Status.PASS), ("gpus>=16", Status.FAIL), ("torch>=2.4", Status.PASS),
    ("torch<2", Status.FAIL), ("shm>=1GiB", Status.PASS), ("shm>=1TiB", Status.FAIL), ("mps", Status.FAIL),
    ("gloo", Status.PASS), ("mpi", Status.FAIL), ("driver>=550", Status.PASS), ("ram>=64GiB", Status.PASS),
])
def test_h100_node(spec, status):
    assert judge(spec, fake.h100x8()) is status


@pytest.mark.parametrize(("spec", "status"), [
    ("cuda", Status.FAIL), ("nccl", Status.FAIL), ("gloo", Status.PASS), ("gpus>=1", Status.FAIL),
    ("gpus==0", Status.PASS), ("driver", Status.FAIL),
])
def test_cpu_host(spec, status):
    assert judge(spec, fake.FakeHost()) is status


def test_mps_on_mac():
    assert judge("mps", fake.macos_arm64()) is Status.PASS


@pytest.mark.parametrize("spec", ["cudaa", "gpus>=eight", "gloo>=1", "torch>=>2", "shm>=lots", "gpus=>8"])
def test_bad_specs_are_usage_errors(spec):
    with pytest.raises(RequirementError):
        make_requirement_probe(spec)


def test_sizes():
    assert parse_size("1GiB") == 2**30 and parse_size("512MiB") == 512 * 2**20 and parse_size("8G") == 8 * 10**9
