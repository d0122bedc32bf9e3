"""The one host-facts value, built from a Host; NVML's snapshot-or-failure is unwrapped in one place."""

from ddoctor.host import fake
from ddoctor.host.facts import ProbeFailure
from ddoctor.host.summary import host_facts


def test_facts_of_a_gpu_host():
    host = fake.h100x8()
    h = host_facts(host)
    assert (h.nvidia_gpus, h.driver_cuda, h.torch_cuda) == (8, host.nvml_facts().cuda_driver_version_str,
                                                            host.torch().cuda)
    assert h.gpu_memory == tuple(g.memory_total for g in host.gpus())


def test_without_nvml_no_gpu_is_claimed():
    h = host_facts(fake.h100x8(), nvml=False)
    assert (h.nvidia_gpus, h.driver_version) == (0, None)


def test_the_report_identity_is_the_python_version_not_its_path():
    host = fake.h100x8()
    assert host_facts(host).to_dict() == {"hostname": "node0", "platform": "Linux x86_64", "python": "3.11.7",
                                          "torch": host.torch().version}


def test_a_failed_nvml_child_means_no_gpus_and_one_error():
    failure = ProbeFailure(source="NVML child", reason="timed out", timed_out=True)
    host = fake.FakeHost(nvml_=failure)
    assert host.gpus() == ()
    assert host.nvml_facts() is None
    assert host.nvml_error() == failure


def test_a_snapshot_has_no_error():
    host = fake.h100x8()
    assert host.nvml_error() is None
    assert len(host.gpus()) == 8
