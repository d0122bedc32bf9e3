"""One NVML snapshot taken in a child process, turned into NvmlFacts."""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path

from ddoctor.host.child import describe_exit, run_python_child
from ddoctor.host.facts import GpuProcess, NvmlFacts, NvmlGpu, ProbeFailure

CHILD_SCRIPT = str(Path(__file__).with_name("_nvml_child.py"))


def nvml_facts_from_dict(data: dict) -> NvmlFacts:
    """Also used by fakes: the dict is shaped exactly like the child's JSON."""
    gpus = []
    for g in data.get("gpus") or ():
        gpus.append(NvmlGpu(
            index=g["index"], name=g["name"], uuid=g.get("uuid", ""), pci_bus_id=g.get("pci_bus_id", ""),
            memory_total=g.get("memory_total", 0), memory_used=g.get("memory_used", 0),
            capability=tuple(g["capability"]) if g.get("capability") else None,
            ecc_uncorrected_volatile=g.get("ecc_uncorrected_volatile"),
            retired_pages_pending=g.get("retired_pages_pending"),
            remapped_rows_pending=g.get("remapped_rows_pending"),
            remapped_rows_failure=g.get("remapped_rows_failure"),
            mig_enabled=g.get("mig_enabled"), compute_mode=g.get("compute_mode"),
            persistence_mode=g.get("persistence_mode"), temperature_c=g.get("temperature_c"),
            processes=tuple(GpuProcess(pid=p["pid"], used_memory=p.get("used_memory"), name=p.get("name"))
                            for p in g.get("processes") or ()),
        ))
    return NvmlFacts(
        available=bool(data.get("available")),
        error=data.get("error"),
        driver_version=data.get("driver_version"),
        cuda_driver_version=data.get("cuda_driver_version"),
        gpus=tuple(gpus),
        device_nodes=tuple(data.get("device_nodes") or ()),
    )


NOT_FOUND = "NVMLError_LibraryNotFound: NVML Shared Library Not Found"
_LIB = "libnvidia-ml.so"
_LIB_DIRS = ("/usr/lib64", "/usr/lib", "/lib64", "/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
             "/usr/local/nvidia/lib64", "/usr/local/nvidia/lib", "/usr/lib/wsl/lib")


def nvml_absent(environ: dict) -> bool:
    """No NVIDIA device node and no NVML library the loader could find: the child would only report
    LibraryNotFound, so its start-up (a Python interpreter) is skipped. Where the library exists the child
    runs, since only it can say why a driver does not answer."""
    if sys.platform == "darwin":
        return True
    if sys.platform != "linux" or glob.glob("/dev/nvidia*"):
        return False
    try:
        if _LIB.encode() in Path("/etc/ld.so.cache").read_bytes():
            return False
    except OSError:
        pass
    dirs = [d for d in environ.get("LD_LIBRARY_PATH", "").split(":") if d] + list(_LIB_DIRS)
    return not any(glob.glob(os.path.join(d, _LIB + "*")) for d in dirs)


def collect_nvml_facts(*, environ: dict, timeout: float) -> NvmlFacts | ProbeFailure:
    result = run_python_child(CHILD_SCRIPT, [], timeout=timeout, env=environ)
    if result.messages:
        return nvml_facts_from_dict(result.messages[-1])
    return ProbeFailure(source="NVML child", reason=f"NVML snapshot {describe_exit(result)}",
                        timed_out=result.timed_out)
