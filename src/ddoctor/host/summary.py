"""Build the one `HostFacts` value from a `Host`: the only place host facts are assembled."""

from __future__ import annotations

from ddoctor.host.base import Host
from ddoctor.host.facts import TorchFacts
from ddoctor.model.host import HostFacts


def host_facts(host: Host, *, nvml: bool = True, torch: TorchFacts | None = None) -> HostFacts:
    """Every fact in one value. `nvml=False` skips the NVML child where GPUs cannot matter (a CPU
    build of torch cannot use them); `nvidia_gpus` is then 0. `torch` replaces the host's torch
    facts (those a command already has, when asking again could wait on an unfinished child)."""
    plat = host.platform()
    t = torch or host.torch()
    nv = host.nvml_facts() if nvml else None
    gpus = nv.gpus if nv is not None else ()
    shm = host.disk("/dev/shm") if plat.system == "Linux" else None
    mem = host.memory()
    return HostFacts(
        system=plat.system, machine=plat.machine, hostname=plat.hostname, python=plat.python_executable,
        python_version=plat.python_version, torch_installed=t.installed, torch_version=t.version,
        torch_cuda=t.cuda, nvidia_gpus=len(gpus), gpu_memory=tuple(g.memory_total for g in gpus),
        driver_version=nv.driver_version if nv is not None else None,
        driver_cuda=nv.cuda_driver_version_str if nv is not None else None, free_port=host.free_port(),
        cuda_visible_devices=host.environ.get("CUDA_VISIBLE_DEVICES"), shm_bytes=shm.total if shm else None,
        ram_total=mem.total, ram_available=mem.available)


def local_host_facts() -> HostFacts:
    """This machine's facts for advice, read without importing torch (diagnose, run)."""
    from ddoctor.host.real import RealHost

    return host_facts(RealHost(import_torch=False))
