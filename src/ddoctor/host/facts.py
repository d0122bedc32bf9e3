"""Facts about the host, as plain values that probes judge and fakes can build.

Field names follow the sources they come from (NVML, torch) so that a fake built from a real
`nvidia-smi -q` or `torch.cuda.get_device_properties` answer reads naturally.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeFailure:
    """A fact source that could not answer (child crashed, timed out, printed garbage)."""

    source: str
    reason: str
    timed_out: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class PlatformFacts:
    system: str  # platform.system(): Linux, Darwin, Windows
    machine: str  # platform.machine() of this interpreter
    release: str
    mac_version: str | None
    python_version: str
    python_executable: str
    hostname: str
    cpu_count: int
    affinity_count: int
    rosetta_translated: bool = False  # x86_64 Python running on Apple silicon
    in_container: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TorchDist:
    version: str
    location: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CudaDeviceFacts:
    index: int
    name: str
    capability: tuple[int, int]
    total_memory: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TorchFacts:
    """What the installed torch is and what it can do.

    `import_ok` is None when the import was not attempted (static facts only). `source` says where
    the build facts came from: `child` (imported just now), `cache` (an import of this exact
    install, remembered), or `static` (read from files without importing).
    """

    installed: bool
    version: str | None = None
    location: str | None = None
    distributions: tuple[TorchDist, ...] = ()
    cuda: str | None = None
    hip: str | None = None
    debug: bool = False
    import_ok: bool | None = None
    import_error: str | None = None
    arch_list: tuple[str, ...] = ()
    nccl_available: bool | None = None
    nccl_version: str | None = None
    gloo_available: bool | None = None
    mpi_available: bool | None = None
    mps_built: bool | None = None
    cudnn_version: str | None = None
    xnnpack: bool | None = None
    torchrun_free_port: bool | None = None  # single-node torchrun without --master_port picks a free port
    default_backends: tuple[tuple[str, str], ...] = ()
    source: str = "static"

    @property
    def flavour(self) -> str:
        if not self.installed:
            return "absent"
        if self.cuda:
            return f"cuda{self.cuda}"
        if self.hip:
            return f"rocm{self.hip}"
        return "cpu"


@dataclass(frozen=True, slots=True, kw_only=True)
class TorchRuntimeFacts:
    """What torch sees at run time on this host (needs an import and may touch the driver)."""

    cuda_available: bool | None = None
    device_count: int | None = None
    devices: tuple[CudaDeviceFacts, ...] = ()
    cuda_init: tuple[tuple[int, bool, str], ...] = ()  # (index, ok, error or timing)
    cuda_init_timed_out: bool = False
    mps_available: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GpuProcess:
    pid: int
    used_memory: int | None
    name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NvmlGpu:
    index: int
    name: str
    uuid: str
    pci_bus_id: str = ""
    memory_total: int = 0
    memory_used: int = 0
    capability: tuple[int, int] | None = None
    ecc_uncorrected_volatile: int | None = None
    retired_pages_pending: bool | None = None
    remapped_rows_pending: bool | None = None
    remapped_rows_failure: bool | None = None
    mig_enabled: bool | None = None
    compute_mode: str | None = None  # DEFAULT, EXCLUSIVE_PROCESS, PROHIBITED
    persistence_mode: bool | None = None
    temperature_c: int | None = None
    processes: tuple[GpuProcess, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class NvmlFacts:
    """One NVML snapshot; `error` names the NVML failure (e.g. NVMLError_LibraryNotFound)."""

    available: bool
    error: str | None = None
    driver_version: str | None = None
    cuda_driver_version: int | None = None  # nvmlSystemGetCudaDriverVersion_v2, e.g. 12040
    gpus: tuple[NvmlGpu, ...] = ()
    device_nodes: tuple[str, ...] = ()  # /dev/nvidia* present (a driver is installed)

    @property
    def cuda_driver_version_str(self) -> str | None:
        v = self.cuda_driver_version
        return None if v is None else f"{v // 1000}.{(v % 1000) // 10}"


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryFacts:
    total: int
    available: int
    swap_total: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DiskFacts:
    path: str
    total: int
    free: int


@dataclass(frozen=True, slots=True, kw_only=True)
class NetInterface:
    name: str
    addresses: tuple[str, ...]
    is_up: bool
    is_loopback: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PortState:
    """Whether `port` can be bound; if not, who holds it (pid/name where the OS tells)."""

    port: int
    free: bool
    holder_pid: int | None = None
    holder_name: str | None = None
    holder_cmdline: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    nofile_soft: int | None
    nofile_hard: int | None
    memlock_soft: int | None  # -1 = unlimited
    memlock_hard: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class NcclConfFile:
    path: str
    entries: tuple[tuple[str, str], ...] = field(default_factory=tuple)
