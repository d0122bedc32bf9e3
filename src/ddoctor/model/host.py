"""The facts about a host that advice, launch plans and report headers depend on, as one value.

Built in one place (`ddoctor.host.summary.host_facts`) from a `Host`, so the CLI never assembles
host facts by hand and every consumer (diagnosis tailoring, the rank plan, check and preflight
reports) reads the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class HostFacts:
    system: str  # platform.system(): Linux, Darwin, Windows
    machine: str  # of this interpreter: x86_64, arm64
    hostname: str = ""
    python: str = ""  # the interpreter's path: commands ddoctor suggests run it
    python_version: str = ""
    torch_installed: bool = False
    torch_version: str | None = None
    torch_cuda: str | None = None
    nvidia_gpus: int = 0  # GPUs NVML lists (0 when NVML was not asked or failed)
    gpu_memory: tuple[int, ...] = ()  # bytes per GPU, as NVML reports them
    driver_version: str | None = None
    driver_cuda: str | None = None
    free_port: int | None = None
    cuda_visible_devices: str | None = None
    shm_bytes: int | None = None
    ram_total: int | None = None
    ram_available: int | None = None

    @property
    def platform(self) -> str:
        return f"{self.system} {self.machine}"

    def to_dict(self) -> dict[str, str | None]:
        """The identity a report carries (`host` in ddoctor.check/1)."""
        return {"hostname": self.hostname, "platform": self.platform, "python": self.python_version,
                "torch": self.torch_version if self.torch_installed else None}
