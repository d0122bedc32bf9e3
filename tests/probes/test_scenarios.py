"""Each simulated host (data shaped like real NVML/torch answers) gets the verdicts an expert would give."""

from dataclasses import replace

import pytest

from ddoctor.host import fake
from ddoctor.host.facts import DiskFacts, NcclConfFile, NetInterface, PortState, ProbeFailure
from ddoctor.model.status import Status
from ddoctor.probes.base import ProbeContext
from ddoctor.probes.registry import PROBES
from ddoctor.probes.runner import run_probes


def verdicts(host, nproc=None):
    findings = run_probes(PROBES, ProbeContext(host=host, nproc=nproc))
    return {f.id: f for f in findings}


def statuses(host, **kw):
    return {k: f.status for k, f in verdicts(host, **kw).items()}


def test_healthy_h100_node_passes_everything():
    s = statuses(fake.h100x8())
    assert Status.FAIL not in s.values()
    assert Status.ERROR not in s.values()
    assert Status.WARN not in s.values()
    assert s["cuda.arch"] is Status.PASS
    assert s["cuda.init"] is Status.PASS
    assert s["dist.nccl"] is Status.PASS


def test_recommends_nccl_on_a_gpu_node_and_gloo_on_cpu():
    assert "'nccl' on cuda" in verdicts(fake.h100x8())["dist.backends"].summary
    assert "'gloo' on cpu" in verdicts(fake.FakeHost())["dist.backends"].summary


def test_cpu_wheel_on_gpu_host_fails_with_an_index_that_publishes_the_version():
    v = verdicts(fake.cpu_wheel_on_gpu_host())
    f = v["torch.flavour"]
    assert f.status is Status.FAIL
    # driver 550 (CUDA 12.4): torch 2.13 publishes cu126/cu130/cu132, and a 12.x driver runs cu126.
    assert "/usr/bin/python3 -m pip install --force-reinstall torch==2.13.0 --index-url " \
           "https://download.pytorch.org/whl/cu126" in f.remediation.commands
    assert "minor-version compatibility" in f.remediation.summary
    assert v["cuda.visible"].status is not Status.FAIL  # a consequence, not a second root cause


def test_cpu_wheel_on_gpu_host_never_calls_missing_nccl_expected():
    v = verdicts(fake.cpu_wheel_on_gpu_host())
    assert v["dist.nccl"].status is Status.WARN
    assert "expected" not in v["dist.nccl"].summary


def test_cpu_wheel_on_gpu_host_does_not_pass_the_backend():
    f = verdicts(fake.cpu_wheel_on_gpu_host())["dist.backends"]
    assert f.status is Status.WARN
    assert "4 NVIDIA GPU(s)" in f.summary


def test_driver_older_than_wheel():
    v = verdicts(fake.driver_too_old())
    f = v["cuda.compat"]
    assert f.status is Status.FAIL
    assert "supports CUDA 11.4 but torch 2.13.0+cu130 was built for CUDA 13.0" in f.summary
    assert "sudo apt install nvidia-driver-580  # any driver >= 580.65.06; use your distribution's package" in \
        f.remediation.commands
    assert v["cuda.init"].status is Status.SKIP
    assert v["cuda.visible"].status is Status.SKIP


def test_driver_too_old_says_the_newest_torch_it_runs_is_older_than_the_installed_one():
    f = verdicts(fake.driver_too_old())["cuda.compat"]
    assert "/usr/bin/python3 -m pip install --force-reinstall torch==2.7.1 --index-url " \
           "https://download.pytorch.org/whl/cu118" in f.remediation.commands
    assert "the newest torch this driver runs is 2.7.1 (cu118), older than the installed 2.13.0+cu130" in \
        f.remediation.summary


def test_same_major_newer_minor_runs_through_minor_version_compatibility():
    f = verdicts(fake.minor_compat())["cuda.compat"]
    assert f.status is Status.PASS
    assert "minor-version compatibility" in f.summary


def test_minor_compat_warns_when_a_gpu_needs_ptx_jit():
    host = fake.minor_compat()
    host.torch_ = replace(host.torch_, arch_list=("sm_80", "compute_80"))  # H100 (sm_90) only through PTX
    f = verdicts(host)["cuda.compat"]
    assert f.status is Status.WARN
    assert "PTX JIT" in f.summary


def test_sm120_on_wheel_without_it():
    f = verdicts(fake.sm120_unsupported())["cuda.arch"]
    assert f.status is Status.FAIL
    assert "sm_120" in f.summary
    assert f.affects == ("GPU 0",)


def test_ecc_errors_name_the_gpu_and_exclude_it():
    f = verdicts(fake.ecc_errors())["gpu.health"]
    assert f.status is Status.FAIL
    assert f.affects == ("GPU 3",)
    assert "export CUDA_VISIBLE_DEVICES=0,1,2,4,5,6,7" in " ".join(f.remediation.commands)


def test_stale_process_is_named_with_kill_command():
    f = verdicts(fake.stale_process())["gpu.occupancy"]
    assert f.status is Status.WARN
    assert "48211" in f.summary
    assert "kill 48211" in f.remediation.commands


def test_prohibited_compute_mode_fails():
    host = fake.h100x8()
    gpus = [fake.nvml_gpu(i) for i in range(2)]
    gpus[1]["compute_mode"] = "PROHIBITED"
    host.nvml_ = fake.nvml(gpus)
    assert statuses(host)["gpu.occupancy"] is Status.FAIL


def test_macos_arm64_uses_mps_and_gloo():
    v = verdicts(fake.macos_arm64())
    assert v["mps"].status is Status.PASS
    assert "gloo" in v["mps"].summary
    assert v["dist.backends"].evidence["backend"] == "gloo"
    assert v["dist.backends"].evidence["device"] == "mps"
    assert v["sys.shm"].status is Status.SKIP


def test_rosetta_python_fails_mps():
    f = verdicts(fake.macos_rosetta())["mps"]
    assert f.status is Status.FAIL
    assert "Rosetta" in f.summary


def test_cpu_host_tells_the_truth_about_nccl():
    v = verdicts(fake.FakeHost())
    assert v["dist.nccl"].status is Status.PASS
    assert v["dist.nccl"].evidence["nccl_available"] is False
    assert v["cuda.driver"].status is Status.SKIP


def test_cuda_visible_devices_empty_hides_gpus():
    host = fake.h100x8()
    host.environ = {"CUDA_VISIBLE_DEVICES": ""}
    f = verdicts(host)["cuda.visible"]
    assert f.status is Status.FAIL
    assert "unset CUDA_VISIBLE_DEVICES" in f.remediation.commands


def test_cuda_visible_devices_out_of_range():
    host = fake.h100x8()
    host.environ = {"CUDA_VISIBLE_DEVICES": "0,9,1"}
    f = verdicts(host)["cuda.visible"]
    assert f.status is Status.FAIL
    assert "'9'" in f.summary


def test_more_ranks_than_gpus_predicts_invalid_ordinal():
    host = fake.h100x8()
    f = verdicts(host, nproc=16)["cuda.visible"]
    assert f.status is Status.FAIL
    assert "invalid device ordinal" in f.summary
    assert "torchrun --nproc_per_node 8 ..." in f.remediation.commands


def test_cuda_init_failure_and_timeout():
    host = fake.h100x8()
    host.runtime_ = replace(host.runtime_, cuda_init=((0, True, "80 ms"), (1, False, "timed out creating a CUDA "
                                                                                    "context")))
    f = verdicts(host)["cuda.init"]
    assert f.status is Status.FAIL
    assert f.affects == ("GPU 1",)


def test_nvml_hang_is_a_failure_not_a_pass():
    host = fake.h100x8()
    host.nvml_ = ProbeFailure(source="NVML child", reason="NVML snapshot timed out", timed_out=True)
    assert statuses(host)["cuda.driver"] is Status.FAIL


def test_nvml_driver_not_loaded():
    host = fake.FakeHost()
    host.nvml_ = fake.NvmlFacts(available=False, error="NVMLError_DriverNotLoaded: Driver Not Loaded",
                                device_nodes=("/dev/nvidia0",))
    f = verdicts(host)["cuda.driver"]
    assert f.status is Status.FAIL
    assert "modprobe nvidia" in " ".join(f.remediation.commands)


def test_torch_import_failure_is_a_finding():
    host = fake.FakeHost()
    host.torch_ = replace(host.torch_, import_ok=False, import_error="OSError: libcudnn.so.8: cannot open shared "
                                                                       "object file: No such file or directory")
    v = verdicts(host)
    assert v["torch.install"].status is Status.FAIL
    assert "libcudnn.so.8" in v["torch.install"].summary
    assert v["dist.backends"].status is Status.SKIP


def test_torch_installed_twice_warns():
    host = fake.FakeHost()
    t = host.torch_
    host.torch_ = replace(t, distributions=(*t.distributions, fake.TorchDist(version="2.1.0", location="/home/u/.local")))
    assert statuses(host)["torch.install"] is Status.WARN


def test_torch_absent():
    host = fake.FakeHost()
    host.torch_ = fake.TorchFacts(installed=False)
    s = statuses(host)
    assert s["torch.install"] is Status.FAIL
    assert s["dist.nccl"] is Status.SKIP


@pytest.mark.parametrize(("env", "status"), [
    ({}, Status.PASS),
    ({"RANK": "0", "WORLD_SIZE": "2"}, Status.FAIL),  # MASTER_ADDR/PORT missing
    ({"RANK": "2", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}, Status.FAIL),
    ({"RANK": "x", "WORLD_SIZE": "2"}, Status.FAIL),
    ({"RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500", "LOCAL_RANK": "1",
      "LOCAL_WORLD_SIZE": "2"}, Status.PASS),
])
def test_launcher_env(env, status):
    host = fake.FakeHost(environ=env)
    assert statuses(host)["launch.env"] is status


def test_missing_env_gets_exact_exports_with_a_free_port():
    host = fake.FakeHost(environ={"RANK": "0", "WORLD_SIZE": "1"}, free_port_=31337)
    f = verdicts(host)["launch.env"]
    assert "export MASTER_ADDR=127.0.0.1 MASTER_PORT=31337" in f.remediation.commands


def test_port_in_use_names_the_holder_and_a_free_port():
    host = fake.FakeHost(environ={"MASTER_PORT": "29500"}, free_port_=40123)
    host.ports = {29500: PortState(port=29500, free=False, holder_pid=777, holder_name="python",
                                   holder_cmdline="python old_job.py", error="Address already in use")}
    f = verdicts(host)["launch.port"]
    assert f.status is Status.FAIL
    assert "777" in f.summary
    assert "torchrun --master_port 40123 ..." in f.remediation.commands
    assert "kill 777  # if it is a leftover job" in \
        f.remediation.commands


def test_default_port_in_use_passes_where_single_node_torchrun_picks_a_free_port():
    f = verdicts(fake.port_held_single_node())["launch.port"]
    assert f.status is Status.PASS
    assert "4242" in f.details[0]


def test_default_port_in_use_warns_on_a_torch_whose_torchrun_binds_29500():
    host = fake.port_held_single_node()
    host.torch_ = replace(host.torch_, torchrun_free_port=False)
    assert statuses(host)["launch.port"] is Status.WARN


def test_default_port_in_use_warns_for_a_multi_node_job():
    f = verdicts(fake.slurm_two_nodes())["launch.port"]
    assert f.status is Status.WARN
    assert "SLURM_JOB_NUM_NODES=2" in f.summary


def test_unresolvable_and_loopback_master_addr():
    assert statuses(fake.FakeHost(environ={"MASTER_ADDR": "no-such-host"}))["launch.addr"] is Status.FAIL
    multi = {"MASTER_ADDR": "localhost", "WORLD_SIZE": "16", "LOCAL_WORLD_SIZE": "8", "RANK": "0",
             "MASTER_PORT": "29500"}
    assert statuses(fake.FakeHost(environ=multi))["launch.addr"] is Status.FAIL


def test_socket_ifname_must_exist():
    host = fake.FakeHost(environ={"NCCL_SOCKET_IFNAME": "ib0"})
    f = verdicts(host)["net.interfaces"]
    assert f.status is Status.FAIL
    assert "export NCCL_SOCKET_IFNAME=eth0" in f.remediation.commands
    assert statuses(fake.FakeHost(environ={"NCCL_SOCKET_IFNAME": "^docker,lo"}))["net.interfaces"] is Status.PASS
    assert statuses(fake.FakeHost(environ={"GLOO_SOCKET_IFNAME": "eth"}))["net.interfaces"] is Status.FAIL


def test_virtual_default_route_warns():
    host = fake.FakeHost(route="docker0", interfaces_=(
        NetInterface(name="docker0", addresses=("172.17.0.1",), is_up=True, is_loopback=False),
        NetInterface(name="ens5", addresses=("10.1.2.3",), is_up=True, is_loopback=False)))
    f = verdicts(host)["net.interfaces"]
    assert f.status is Status.WARN
    assert "export NCCL_SOCKET_IFNAME=ens5 GLOO_SOCKET_IFNAME=ens5" in f.remediation.commands


def test_env_hygiene_flags_leftovers_and_conf_files():
    host = fake.FakeHost(environ={"NCCL_P2P_DISABLE": "1", "NCCL_ASYNC_ERROR_HANDLING": "1", "NCCL_DEBUG": "INFO"},
                         nccl_conf=(NcclConfFile(path="/etc/nccl.conf", entries=(("NCCL_IB_DISABLE", "1"),)),))
    f = verdicts(host)["env.hygiene"]
    assert f.status is Status.WARN
    assert set(f.affects) == {"NCCL_P2P_DISABLE", "NCCL_ASYNC_ERROR_HANDLING", "NCCL_IB_DISABLE"}
    assert "/etc/nccl.conf" in f.summary
    assert statuses(fake.FakeHost(environ={"NCCL_P2P_DISABLE": "0"}))["env.hygiene"] is Status.PASS


@pytest.mark.parametrize(("total", "status"), [(64 << 20, Status.FAIL), (512 << 20, Status.WARN), (8 << 30, Status.PASS)])
def test_shm_size(total, status):
    host = fake.FakeHost(disks={"/dev/shm": DiskFacts(path="/dev/shm", total=total, free=total)})
    assert statuses(host)["sys.shm"] is status


def test_no_shm_at_all_fails():
    assert statuses(fake.FakeHost(disks={}))["sys.shm"] is Status.FAIL


def test_low_memory_and_ulimits_and_threads():
    host = fake.FakeHost(memory_=fake.MemoryFacts(total=16 << 30, available=512 << 20, swap_total=0),
                         limits_=fake.Limits(nofile_soft=1024, nofile_hard=4096, memlock_soft=65536,
                                             memlock_hard=65536), ib=("mlx5_0",),
                         environ={"OMP_NUM_THREADS": "32"})
    v = verdicts(host, nproc=8)
    assert v["sys.memory"].status is Status.FAIL
    assert v["sys.ulimits"].status is Status.WARN
    assert "ulimit -n 4096" in v["sys.ulimits"].remediation.commands
    assert "ulimit -l unlimited  # containers: --ulimit memlock=-1" in v["sys.ulimits"].remediation.commands
    assert v["sys.threads"].status is Status.WARN
    assert "export OMP_NUM_THREADS=8" in v["sys.threads"].remediation.commands


def test_every_warn_and_fail_in_every_scenario_has_commands():
    for name, (make, _) in fake.SCENARIOS.items():
        for f in verdicts(make()).values():
            if f.status in (Status.WARN, Status.FAIL):
                assert f.remediation.commands, (name, f.id)
