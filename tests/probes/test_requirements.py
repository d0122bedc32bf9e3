import pytest

from ddoctor.host import fake
from ddoctor.model.status import Status
from ddoctor.probes.base import ProbeContext
from ddoctor.probes.requirements import (
    RequirementError,
    make_requirement_probe,
    make_requirement_probes,
    parse_size,
)
from ddoctor.probes.runner import run_probe


def finding(spec, host):
    return run_probe(make_requirement_probe(spec), ProbeContext(host=host))


def judge(spec, host):
    return finding(spec, host).status


@pytest.mark.parametrize(("spec", "status"), [
    ("cuda", Status.PASS), ("cuda>=12.1", Status.PASS), ("cuda>=13.2", Status.FAIL), ("nccl", Status.PASS),
    ("nccl>=2.18", Status.PASS), ("gpus>=8", Status.PASS), ("gpus>=16", Status.FAIL), ("torch>=2.4", Status.PASS),
    ("torch<2", Status.FAIL), ("shm>=1GiB", Status.PASS), ("shm>=1TiB", Status.FAIL), ("mps", Status.FAIL),
    ("gloo", Status.PASS), ("mpi", Status.FAIL), ("driver>=550", Status.PASS), ("ram>=64GiB", Status.PASS),
    ("torch>=2.4,<3", Status.PASS), ("cuda==13.*", Status.PASS), ("gpus==8", Status.PASS), ("cpus>=64", Status.PASS),
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


@pytest.mark.parametrize(("spec", "says"), [
    ("cudaa", "unknown name 'cudaa'"), ("gpus>=eight", "not a whole number"), ("gloo>=1", "takes no condition"),
    ("torch>=>2", "not a version specifier"), ("shm>=lots", "not a number"), ("gpus=>8", "not an operator"),
    ("gpus>>2", "not an operator"), ("ram>=20", "needs a unit"), ("gpus>=1.5", "not a whole number"),
    ("gpus>=-1", "not a whole number"), ("shm>=8parsecs", "unknown unit"), ("gpus", "needs a condition"),
    ("cuda>=twelve", "not a version specifier"), ("", "unknown name"),
])
def test_malformed_specs_are_usage_errors_that_say_what_is_wrong(spec, says):
    with pytest.raises(RequirementError) as err:
        make_requirement_probe(spec)
    assert says in str(err.value)


def test_usage_errors_list_every_valid_form():
    with pytest.raises(RequirementError) as err:
        make_requirement_probe("ram>=20")
    assert all(f"\n  {form}" in str(err.value) for form in ("cuda[SPECIFIER]", "gpusOP N", "shmOP SIZE", "gloo"))


@pytest.mark.parametrize(("host", "spec", "fact"), [
    (fake.FakeHost(), "cuda", "torch 2.13.0+cpu is a CPU build"),
    (fake.cpu_wheel_on_gpu_host(), "gpus>=8", "0 GPU(s) usable of 4 NVML lists (torch 2.13.0+cpu is a CPU build)"),
    (fake.driver_too_old(), "cuda", "driver 470.182.03 supports CUDA 11.4 but torch 2.13.0+cu130 needs CUDA 13.0"),
    (fake.FakeHost(), "nccl", "torch 2.13.0+cpu (cpu build) has no NCCL"),
    (fake.FakeHost(), "driver>=550", "no NVIDIA driver"),
    (fake.FakeHost(), "shm>=1TiB", "/dev/shm is 256.0 GiB"),
])
def test_every_failed_requirement_names_the_fact_that_fails_it(host, spec, fact):
    f = finding(spec, host)
    assert f.status is Status.FAIL
    assert fact in f.summary


def test_one_of_eight_gpus_visible_is_named():
    host = fake.h100x8()
    host.environ = {"CUDA_VISIBLE_DEVICES": "0"}
    host.runtime_ = fake.TorchRuntimeFacts(cuda_available=True, device_count=1, cuda_init=((0, True, "80 ms"),))
    assert "1 GPU(s) usable of 8 NVML lists (CUDA_VISIBLE_DEVICES='0')" in finding("gpus>=8", host).summary


def test_sizes_need_units():
    assert parse_size("1GiB") == 2**30
    assert parse_size("512MiB") == 512 * 2**20
    assert parse_size("8G") == 8 * 10**9
    with pytest.raises(RequirementError):
        parse_size("20")


def test_repeated_names_get_distinct_ids():
    ids = [p.id for p in make_requirement_probes(["gpus>=1", "gpus<=8", "cuda"])]
    assert ids == ["require.gpus", "require.gpus.2", "require.cuda"]
