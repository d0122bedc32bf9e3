"""A host made of data: for tests, and for `ddoctor check --simulate NAME` previews.

NVML data is written as the NVML child prints it (see _nvml_child.py), so every scenario also
exercises the real parsing code path.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ddoctor.host.base import NvmlAnswers
from ddoctor.host.facts import (
    CudaDeviceFacts,
    DiskFacts,
    Limits,
    MemoryFacts,
    NcclConfFile,
    NetInterface,
    NvmlFacts,
    PlatformFacts,
    PortState,
    ProbeFailure,
    TorchDist,
    TorchFacts,
    TorchRuntimeFacts,
)
from ddoctor.host.nvml import nvml_facts_from_dict

GiB = 2**30


@dataclass
class FakeHost(NvmlAnswers):
    environ: dict = field(default_factory=dict)
    platform_: PlatformFacts = field(default_factory=lambda: PlatformFacts(
        system="Linux", machine="x86_64", release="6.8.0", mac_version=None, python_version="3.11.7",
        python_executable="/usr/bin/python3", hostname="node0", cpu_count=64, affinity_count=64))
    nvml_: NvmlFacts | ProbeFailure = field(default_factory=lambda: NvmlFacts(
        available=False, error="NVMLError_LibraryNotFound: NVML Shared Library Not Found"))
    torch_: TorchFacts = field(default_factory=lambda: cpu_torch())
    runtime_: TorchRuntimeFacts | None = None
    failure_: ProbeFailure | None = None
    memory_: MemoryFacts = field(default_factory=lambda: MemoryFacts(total=512 * GiB, available=480 * GiB,
                                                                    swap_total=0))
    disks: dict = field(default_factory=lambda: {"/dev/shm": DiskFacts(path="/dev/shm", total=256 * GiB,
                                                                     free=256 * GiB)})
    limits_: Limits = field(default_factory=lambda: Limits(nofile_soft=1048576, nofile_hard=1048576,
                                                           memlock_soft=-1, memlock_hard=-1))
    interfaces_: tuple = field(default_factory=lambda: (
        NetInterface(name="lo", addresses=("127.0.0.1",), is_up=True, is_loopback=True),
        NetInterface(name="eth0", addresses=("10.0.0.5",), is_up=True, is_loopback=False)))
    route: str | None = "eth0"
    ports: dict = field(default_factory=dict)  # port -> PortState (absent = free)
    free_port_: int = 29731
    resolves: dict = field(default_factory=lambda: {"localhost": ("127.0.0.1",), "127.0.0.1": ("127.0.0.1",)})
    nccl_conf: tuple = ()
    ib: tuple = ()

    def platform(self):
        return self.platform_

    def nvml(self):
        return self.nvml_

    def torch(self):
        return self.torch_

    def torch_runtime(self):
        return self.runtime_

    def torch_failure(self):
        return self.failure_

    def memory(self):
        return self.memory_

    def disk(self, path):
        return self.disks.get(path)

    def limits(self):
        return self.limits_

    def interfaces(self):
        return self.interfaces_

    def default_route_interface(self):
        return self.route

    def port_state(self, port):
        return self.ports.get(port, PortState(port=port, free=True))

    def free_port(self):
        return self.free_port_

    def resolve(self, name):
        return self.resolves.get(name, f"[Errno -2] Name or service not known: {name!r}")

    def nccl_conf_files(self) -> tuple[NcclConfFile, ...]:
        return self.nccl_conf

    def infiniband_devices(self):
        return self.ib


def cpu_torch(version: str = "2.13.0+cpu") -> TorchFacts:
    return TorchFacts(installed=True, version=version, location="/venv/lib/python3.11/site-packages/torch",
                      distributions=(TorchDist(version=version, location="/venv/lib/python3.11/site-packages"),),
                      import_ok=True, nccl_available=False, gloo_available=True, mpi_available=False,
                      mps_built=False, default_backends=(("cpu", "gloo"), ("cuda", "nccl"), ("mps", "gloo")),
                      torchrun_free_port=True, source="child")


# torch 2.13's CUDA 13.0 build (release matrix: sm_75..sm_120 plus PTX for 12.0, NCCL 2.29.7).
CU130_ARCH = ("sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120", "compute_120")


def cuda_torch(cuda: str = "13.0", version: str = "2.13.0+cu130", arch_list: tuple[str, ...] = CU130_ARCH,
               nccl: str = "2.29.7") -> TorchFacts:
    return replace(cpu_torch(version), cuda=cuda, arch_list=arch_list, nccl_available=True, nccl_version=nccl)


def nvml_gpu(index: int, name: str = "NVIDIA H100 80GB HBM3", cap=(9, 0), total: int = 80 * GiB, **extra) -> dict:
    base = {"index": index, "name": name, "uuid": f"GPU-{index:08x}-aaaa-bbbb-cccc-{index:012x}",
            "pci_bus_id": f"00000000:{0x18 + index:02X}:00.0", "memory_total": total, "memory_used": 600 * 2**20,
            "capability": list(cap), "ecc_uncorrected_volatile": 0, "retired_pages_pending": False,
            "remapped_rows_pending": False, "remapped_rows_failure": False, "mig_enabled": False,
            "compute_mode": "DEFAULT", "persistence_mode": True, "temperature_c": 34, "processes": []}
    base.update(extra)
    return base


def nvml(gpus: list[dict], driver: str = "580.95.05", cuda_driver: int = 13000) -> NvmlFacts:
    return nvml_facts_from_dict({"available": True, "error": None, "driver_version": driver,
                                 "cuda_driver_version": cuda_driver, "gpus": gpus,
                                 "device_nodes": [f"/dev/nvidia{g['index']}" for g in gpus]})


def runtime_for(nv: NvmlFacts) -> TorchRuntimeFacts:
    return TorchRuntimeFacts(
        cuda_available=True, device_count=len(nv.gpus),
        devices=tuple(CudaDeviceFacts(index=g.index, name=g.name, capability=g.capability or (0, 0),
                                      total_memory=g.memory_total) for g in nv.gpus),
        cuda_init=tuple((g.index, True, "85 ms") for g in nv.gpus))


def h100x8() -> FakeHost:
    nv = nvml([nvml_gpu(i) for i in range(8)])
    return FakeHost(nvml_=nv, torch_=cuda_torch(), runtime_=runtime_for(nv))


def cpu_wheel_on_gpu_host() -> FakeHost:
    nv = nvml([nvml_gpu(i, "NVIDIA A100-SXM4-80GB", (8, 0)) for i in range(4)], cuda_driver=12040,
              driver="550.54.15")
    return FakeHost(nvml_=nv, torch_=cpu_torch(), runtime_=TorchRuntimeFacts(cuda_available=False, device_count=0))


def driver_too_old() -> FakeHost:
    nv = nvml([nvml_gpu(i, "NVIDIA A100-SXM4-40GB", (8, 0), 40 * GiB) for i in range(2)], driver="470.182.03",
              cuda_driver=11040)
    return FakeHost(nvml_=nv, torch_=cuda_torch(),
                    runtime_=TorchRuntimeFacts(cuda_available=False, device_count=0))


def sm120_unsupported() -> FakeHost:
    nv = nvml([nvml_gpu(0, "NVIDIA GeForce RTX 5090", (12, 0), 32 * GiB)], driver="575.51.03", cuda_driver=12090)
    t = replace(cuda_torch("12.4", "2.5.1+cu124", ("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"),
                           nccl="2.21.5"), torchrun_free_port=False)
    return FakeHost(nvml_=nv, torch_=t, runtime_=runtime_for(nv))


def ecc_errors() -> FakeHost:
    gpus = [nvml_gpu(i) for i in range(8)]
    gpus[3]["ecc_uncorrected_volatile"] = 2
    gpus[3]["remapped_rows_pending"] = True
    nv = nvml(gpus)
    return FakeHost(nvml_=nv, torch_=cuda_torch(), runtime_=runtime_for(nv))


def stale_process() -> FakeHost:
    gpus = [nvml_gpu(i) for i in range(2)]
    gpus[0]["memory_used"] = 71 * GiB
    gpus[0]["processes"] = [{"pid": 48211, "used_memory": 70 * GiB, "name": "python train.py --resume"}]
    nv = nvml(gpus)
    return FakeHost(nvml_=nv, torch_=cuda_torch(), runtime_=runtime_for(nv))


def _mac(machine: str, translated: bool) -> PlatformFacts:
    return PlatformFacts(system="Darwin", machine=machine, release="24.6.0", mac_version="15.6",
                         python_version="3.11.9", python_executable="/opt/homebrew/bin/python3",
                         hostname="macbook", cpu_count=12, affinity_count=12, rosetta_translated=translated)


def macos_arm64() -> FakeHost:
    t = replace(cpu_torch("2.13.0"), mps_built=True)
    return FakeHost(platform_=_mac("arm64", False), torch_=t,
                    runtime_=TorchRuntimeFacts(cuda_available=False, device_count=0, mps_available=True),
                    disks={}, route="en0",
                    interfaces_=(NetInterface(name="lo0", addresses=("127.0.0.1",), is_up=True, is_loopback=True),
                                 NetInterface(name="en0", addresses=("192.168.1.20",), is_up=True,
                                              is_loopback=False)),
                    memory_=MemoryFacts(total=36 * GiB, available=20 * GiB, swap_total=0))


def macos_rosetta() -> FakeHost:
    host = macos_arm64()
    host.platform_ = _mac("x86_64", True)
    host.torch_ = replace(cpu_torch("2.2.2"), mps_built=False)
    host.runtime_ = TorchRuntimeFacts(cuda_available=False, device_count=0, mps_available=False)
    return host


def cuda_wheel_no_gpu() -> FakeHost:
    return FakeHost(torch_=cuda_torch())


def rocm_wheel_on_nvidia() -> FakeHost:
    nv = nvml([nvml_gpu(i) for i in range(2)])
    t = replace(cpu_torch("2.13.0+rocm7.2"), hip="7.2.26015", nccl_available=True, nccl_version="2.27.7")
    return FakeHost(nvml_=nv, torch_=t, runtime_=TorchRuntimeFacts(cuda_available=False, device_count=0))


def minor_compat() -> FakeHost:
    """torch's CUDA 13.2 build on a CUDA 13.0 driver: runs through minor-version compatibility."""
    nv = nvml([nvml_gpu(i) for i in range(8)], driver="580.65.06", cuda_driver=13000)
    return FakeHost(nvml_=nv, torch_=cuda_torch("13.2", "2.13.0+cu132"), runtime_=runtime_for(nv))


def nvml_hang() -> FakeHost:
    return FakeHost(nvml_=ProbeFailure(source="NVML child", reason="NVML snapshot timed out", timed_out=True),
                    torch_=cuda_torch(), failure_=ProbeFailure(source="torch child", reason="runtime query timed out",
                                                              timed_out=True))


def port_held_single_node() -> FakeHost:
    host = FakeHost()
    host.ports = {29500: PortState(port=29500, free=False, holder_pid=4242, holder_name="python",
                                   holder_cmdline="python old_job.py", error="Address already in use")}
    return host


def slurm_two_nodes() -> FakeHost:
    """`srun --nodes 2 --ntasks-per-node 1 ddoctor check` on node 1 of a 2-node allocation, 4 GPUs a node,
    with a leftover job holding 29500 (the port a multi-node torchrun binds by default)."""
    nv = nvml([nvml_gpu(i) for i in range(4)])
    env = {"SLURM_JOB_ID": "4242", "SLURM_JOB_NUM_NODES": "2", "SLURM_NNODES": "2", "SLURM_NTASKS": "2",
           "SLURM_NTASKS_PER_NODE": "1", "SLURM_PROCID": "1", "SLURM_LOCALID": "0", "SLURM_NODEID": "1",
           "SLURM_STEP_NUM_TASKS": "2", "SLURM_GPUS_ON_NODE": "4"}
    host = FakeHost(environ=env, nvml_=nv, torch_=cuda_torch(), runtime_=runtime_for(nv))
    host.ports = {29500: PortState(port=29500, free=False, holder_pid=777, holder_name="python",
                                   holder_cmdline="python stale_job.py", error="Address already in use")}
    return host


def kubeflow_pod_without_torchrun() -> FakeHost:
    """A PyTorchJob pod that runs `python train.py` although PET_NPROC_PER_NODE asks for 8 ranks a pod."""
    nv = nvml([nvml_gpu(i) for i in range(8)])
    env = {"PET_NNODES": "2", "PET_NPROC_PER_NODE": "8", "PET_NODE_RANK": "0", "WORLD_SIZE": "2", "RANK": "0",
           "MASTER_ADDR": "llama-ft-master-0", "MASTER_PORT": "23456", "KUBERNETES_SERVICE_HOST": "10.96.0.1"}
    host = FakeHost(environ=env, nvml_=nv, torch_=cuda_torch(), runtime_=runtime_for(nv))
    host.resolves = {**host.resolves, "llama-ft-master-0": ("10.244.1.7",)}
    return host


SCENARIOS = {
    "h100x8": (h100x8, "8×H100, healthy, CUDA 12.8 wheel"),
    "cpu-wheel-on-gpu": (cpu_wheel_on_gpu_host, "4×A100 host with a CPU-only torch wheel"),
    "driver-too-old": (driver_too_old, "driver 470 (CUDA 11.4) under a CUDA 12.8 wheel"),
    "sm120-unsupported": (sm120_unsupported, "RTX 5090 (sm_120) with a cu124 wheel built up to sm_90"),
    "ecc-errors": (ecc_errors, "8×H100, GPU 3 with uncorrected ECC errors"),
    "stale-process": (stale_process, "a leftover process holds 70 GiB on GPU 0"),
    "macos-arm64": (macos_arm64, "Apple silicon Mac with MPS"),
    "macos-rosetta": (macos_rosetta, "x86_64 Python under Rosetta on Apple silicon"),
    "cuda-wheel-no-gpu": (cuda_wheel_no_gpu, "a CUDA 13.0 wheel on a host without NVIDIA GPUs"),
    "rocm-wheel-on-nvidia": (rocm_wheel_on_nvidia, "2×H100 with a ROCm torch wheel"),
    "minor-compat": (minor_compat, "a CUDA 13.2 wheel on a CUDA 13.0 driver (minor-version compatibility)"),
    "nvml-hang": (nvml_hang, "NVML and the torch runtime query time out (wedged driver)"),
    "port-held": (port_held_single_node, "a leftover job holds port 29500 on a single-node CPU host"),
    "slurm-2x4": (slurm_two_nodes, "node 1 of a 2-node Slurm allocation; 29500 held by a stale job"),
    "kubeflow-pod": (kubeflow_pod_without_torchrun, "a PyTorchJob pod asking for 8 ranks but started without torchrun"),
}
