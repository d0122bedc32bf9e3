"""Host facts → the sections of `ddoctor report`, in collect_env's order and words (pure).

Every field collect_env prints has a row here, so a maintainer who asks for collect_env finds what
they look for; missing facts read "N/A" or "Could not collect" as there.
"""

from __future__ import annotations

from ddoctor.host.envinfo import EnvFacts
from ddoctor.host.facts import NvmlFacts, ProbeFailure, TorchFacts
from ddoctor.model.envreport import EnvReport, Section
from ddoctor.model.report import CheckReport
from ddoctor.units import human_bytes

NA = "N/A"
UNKNOWN = "Could not collect"


def _gpus(nv: NvmlFacts | ProbeFailure) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """(GPU models line, driver, one row per GPU)."""
    if isinstance(nv, ProbeFailure):
        return f"{UNKNOWN} (NVML: {nv.reason})", UNKNOWN, ()
    if not nv.available:
        return f"{UNKNOWN} ({nv.error or 'NVML failed'})", UNKNOWN, ()
    rows = tuple((f"GPU {g.index}", f"{g.name}, {human_bytes(g.memory_total)}"
                  + (f", sm_{g.capability[0]}{g.capability[1]}" if g.capability else "")
                  + (f", {g.pci_bus_id}" if g.pci_bus_id else "")) for g in nv.gpus)
    models = ", ".join(sorted({g.name for g in nv.gpus})) or "no GPU listed"
    driver = f"{nv.driver_version} (CUDA {nv.cuda_driver_version_str})" if nv.driver_version else UNKNOWN
    return models, driver, rows


def build(env: EnvFacts, t: TorchFacts, nv: NvmlFacts | ProbeFailure, check: CheckReport, *,
          cuda_usable: str, duration_s: float) -> EnvReport:
    """`cuda_usable` says whether (and if not, why not) a CUDA job can run: ddoctor's answer to
    collect_env's "Is CUDA available", without creating a CUDA context."""
    models, driver, gpu_rows = _gpus(nv)
    torch_rows = (
        ("PyTorch version", t.version or "torch is not installed"),
        ("Is debug build", str(t.debug) if t.installed else NA),
        ("CUDA used to build PyTorch", t.cuda or ("None (not a CUDA build)" if t.installed else NA)),
        ("ROCM used to build PyTorch", t.hip or NA),
        ("cuDNN version", t.cudnn_version if t.cudnn_version and not t.hip else NA),
        ("HIP runtime version", t.hip or NA),
        ("MIOpen runtime version", t.cudnn_version if t.hip and t.cudnn_version else NA),
        ("NCCL version (torch)", t.nccl_version or ("not built in" if t.nccl_available is False else NA)),
        ("Distributed backends", ", ".join(n for n, a in (("nccl", t.nccl_available), ("gloo", t.gloo_available),
                                                           ("mpi", t.mpi_available)) if a) or NA),
        ("Is XNNPACK available", NA if t.xnnpack is None else str(t.xnnpack)),
        ("CUDA arch list", " ".join(t.arch_list) or NA),
        ("torch location", t.location or NA),
        ("torch facts from", {"child": "an import in a child process", "cache": "an earlier import of this install",
                              "static": "its files (not imported)"}.get(t.source, t.source)),
    )
    system_rows = (
        ("OS", env.os), ("Kernel", env.kernel), ("GCC version", env.gcc or UNKNOWN),
        ("Clang version", env.clang or UNKNOWN), ("CMake version", env.cmake or UNKNOWN), ("Libc version", env.libc),
        ("Python version", env.python), ("Python platform", env.python_platform),
        ("CPU model", env.cpu_model or UNKNOWN),
    )
    cuda_rows = (
        ("Is CUDA available", cuda_usable),
        ("CUDA runtime version", f"{env.nvcc} (nvcc on PATH)" if env.nvcc else UNKNOWN),
        ("CUDA_MODULE_LOADING set to", env.cuda_module_loading or NA), ("GPU models and configuration", models),
        ("Nvidia driver version", driver), *gpu_rows,
        ("Is XPU available", "N/A (not probed: Intel GPUs are outside ddoctor's checks)"),
        ("Caching allocator config", env.allocator_config or NA),
    )
    sections = [Section(title="PyTorch", rows=torch_rows), Section(title="System", rows=system_rows),
                Section(title="CUDA and GPUs", rows=cuda_rows),
                Section(title="Versions of relevant libraries",
                        rows=tuple((f"[pip] {n}", v) for n, v in env.packages)
                        + tuple((f"[conda] {n}", v) for n, v in env.conda_packages)
                        + ((("conda environment", env.conda_env),) if env.conda_env else ())),
                Section(title="CPU", block=env.cpu_info)]
    return EnvReport(sections=tuple(sections), check=check, duration_s=duration_s)
