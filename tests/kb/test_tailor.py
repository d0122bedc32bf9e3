"""Remediation tailored to the host ddoctor runs on."""

from ddoctor.kb.engine import diagnose_text
from ddoctor.kb.tailor import tailor
from ddoctor.model.host import HostFacts

GPU_HOST_CPU_WHEEL = HostFacts(system="Linux", machine="x86_64", python="/venv/bin/python",
                                 torch_version="2.13.0+cpu", torch_cuda=None, nvidia_gpus=4,
                                 driver_version="550.54.15", driver_cuda="12.4", free_port=41234,
                                 cuda_visible_devices=None, shm_bytes=64 << 20, ram_total=256 << 30,
                                 ram_available=200 << 30)
MAC = HostFacts(system="Darwin", machine="arm64", python="/opt/homebrew/bin/python3", torch_version="2.13.0",
                  torch_cuda=None, nvidia_gpus=0, driver_version=None, driver_cuda=None, free_port=50000,
                  cuda_visible_devices=None, shm_bytes=None, ram_total=36 << 30, ram_available=20 << 30)


def root(text):
    return diagnose_text(text).root


def test_cpu_wheel_on_gpu_host_gets_the_index_url_for_its_driver():
    d = tailor(root("AssertionError: Torch not compiled with CUDA enabled"), GPU_HOST_CPU_WHEEL)
    assert d.commands[0] == ("/venv/bin/python -m pip install --force-reinstall torch==2.13.0 "
                             "--index-url https://download.pytorch.org/whl/cu126")  # 2.13 has no cu124 index
    assert "4 NVIDIA GPUs" in d.host_notes[0]


def test_nccl_on_a_mac_says_gloo():
    d = tailor(root("RuntimeError: Distributed package doesn't have NCCL built in"), MAC)
    assert "gloo" in d.host_notes[0]
    assert "Darwin arm64" in d.host_notes[0]


def test_port_and_env_commands_use_a_real_free_port():
    d = tailor(root("ValueError: Error initializing torch.distributed using env:// rendezvous: environment "
                    "variable RANK expected, but not set"), MAC)
    assert any("MASTER_PORT=50000" in c for c in d.commands)
    d = tailor(root("RuntimeError: Address already in use"), GPU_HOST_CPU_WHEEL)
    assert "torchrun --master_port 41234 ..." in d.commands


def test_without_host_placeholders_become_readable():
    d = tailor(root("ValueError: Error initializing torch.distributed using env:// rendezvous: environment "
                    "variable RANK expected, but not set"), None)
    assert any("MASTER_PORT=<free port>" in c for c in d.commands)
    assert not d.host_notes


def test_a_title_aside_the_log_could_not_fill_is_left_out():
    counted = tailor(root("Timed out initializing process group in store based barrier on rank: 3, for key: "
                          "store_based_barrier_key:1 (world_size=4, worker_count=2, timeout=0:30:00)"), None)
    assert counted.title.endswith("(2 of 4)")
    uncounted = tailor(root("[W socket.cpp:558] Wait timeout after 600000 ms, keys: /default_pg/0//cuda//0"), None)
    assert uncounted.title == "Ranks never arrived at the process-group barrier"


def test_shm_size_is_reported():
    d = tailor(root("RuntimeError: DataLoader worker (pid 2841) is killed by signal: Bus error. It is possible "
                    "that dataloader's workers are out of shared memory."), GPU_HOST_CPU_WHEEL)
    assert d.host_notes == ("/dev/shm on this host is 64.0 MiB.",)
