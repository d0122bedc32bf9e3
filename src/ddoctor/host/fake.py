"""A host made of data: for tests, and for `ddoctor check --simulate NAME` previews.

NVML data is written as the NVML child prints it (see _nvml_child.py), so every scenario also
exercises the real parsing code path.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

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
class FakeHost:
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
                      source="child")


def cuda_torch(cuda: str = "12.8", version: str = "2.13.0+cu128",
               arch_list: tuple[str, ...] = ("sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120")) -> TorchFacts:
    return replace(cpu_torch(version), cuda=cuda, arch_list=arch_list, nccl_available=True,
                   nccl_version="2.27.5")


def nvml_gpu(index: int, name: str = "NVIDIA H100 80GB HBM3", cap=(9, 0), total: int = 80 * GiB, **extra) -> dict:
    base = {"index": index, "name": name, "uuid": f"GPU-{index:08x}-aaaa-bbbb-cccc-{index:012x}",
            "pci_bus_id": f"00000000:{0x18 + index:02X}:00.0", "memory_total": total, "memory_used": 600 * 2**20,
            "capability": list(cap), "ecc_uncorrected_volatile": 0, "retired_pages_pending": False,
            "remapped_rows_pending": False, "remapped_rows_failure": False, "mig_enabled": False,
            "compute_mode": "DEFAULT", "persistence_mode": True, "temperature_c": 34, "processes": []}
    base.update(extra)
    return base


def nvml(gpus: list[dict], driver: str = "570.124.06", cuda_driver: int = 12080) -> NvmlFacts:
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
    return FakeHost(nvml_=nv, torch_=cuda_torch("12.8"),
                    runtime_=TorchRuntimeFacts(cuda_available=False, device_count=0))


def sm120_unsupported() -> FakeHost:
    nv = nvml([nvml_gpu(0, "NVIDIA GeForce RTX 5090", (12, 0), 32 * GiB)], driver="575.51.03", cuda_driver=12090)
    t = cuda_torch("12.4", "2.5.1+cu124", ("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"))
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


SCENARIOS = {
    "h100x8": (h100x8, "8×H100, healthy, CUDA 12.8 wheel"),
    "cpu-wheel-on-gpu": (cpu_wheel_on_gpu_host, "4×A100 host with a CPU-only torch wheel"),
    "driver-too-old": (driver_too_old, "driver 470 (CUDA 11.4) under a CUDA 12.8 wheel"),
    "sm120-unsupported": (sm120_unsupported, "RTX 5090 (sm_120) with a cu124 wheel built up to sm_90"),
    "ecc-errors": (ecc_errors, "8×H100, GPU 3 with uncorrected ECC errors"),
    "stale-process": (stale_process, "a leftover process holds 70 GiB on GPU 0"),
    "macos-arm64": (macos_arm64, "Apple silicon Mac with MPS"),
    "macos-rosetta": (macos_rosetta, "x86_64 Python under Rosetta on Apple silicon"),
}
