"""The host interface probes read from; RealHost asks the machine, FakeHost replays data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from ddoctor.host.facts import (
    DiskFacts,
    Limits,
    MemoryFacts,
    NcclConfFile,
    NetInterface,
    NvmlFacts,
    NvmlGpu,
    PlatformFacts,
    PortState,
    ProbeFailure,
    TorchFacts,
    TorchRuntimeFacts,
)


class Host(Protocol):
    environ: Mapping[str, str]

    def platform(self) -> PlatformFacts: ...
    def nvml(self) -> NvmlFacts | ProbeFailure: ...
    def nvml_facts(self) -> NvmlFacts | None: ...
    def nvml_error(self) -> ProbeFailure | None: ...
    def gpus(self) -> tuple[NvmlGpu, ...]: ...
    def torch(self) -> TorchFacts: ...
    def torch_runtime(self) -> TorchRuntimeFacts | None: ...
    def torch_failure(self) -> ProbeFailure | None: ...
    def memory(self) -> MemoryFacts: ...
    def disk(self, path: str) -> DiskFacts | None: ...
    def limits(self) -> Limits: ...
    def interfaces(self) -> tuple[NetInterface, ...]: ...
    def default_route_interface(self) -> str | None: ...
    def port_state(self, port: int) -> PortState: ...
    def free_port(self) -> int: ...
    def resolve(self, name: str) -> tuple[str, ...] | str: ...
    def nccl_conf_files(self) -> tuple[NcclConfFile, ...]: ...
    def infiniband_devices(self) -> tuple[str, ...]: ...


class NvmlAnswers:
    """The one place where an NVML snapshot and a failed NVML child are told apart.

    `nvml()` answers either; everything else reads the answer through these three, so no caller
    needs an `isinstance` to learn how many GPUs there are.
    """

    def nvml(self) -> NvmlFacts | ProbeFailure:
        raise NotImplementedError

    def nvml_facts(self) -> NvmlFacts | None:
        """The snapshot, or None when the NVML child crashed, hung or printed garbage."""
        nv = self.nvml()
        return nv if isinstance(nv, NvmlFacts) else None

    def nvml_error(self) -> ProbeFailure | None:
        nv = self.nvml()
        return nv if isinstance(nv, ProbeFailure) else None

    def gpus(self) -> tuple[NvmlGpu, ...]:
        nv = self.nvml_facts()
        return nv.gpus if nv is not None else ()
