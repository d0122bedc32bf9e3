"""Run in a child interpreter: one NVML snapshot as JSON on stdout.

NVML calls can block for a long time on a wedged driver; running them here lets the parent
enforce a deadline. Every per-device query is optional: older drivers and consumer GPUs answer
NVMLError_NotSupported for many of them, which is recorded as null, not as a failure.
"""

import json
import sys


def _opt(fn, *args):
    """Call an NVML function by object or by name: older drivers and nvidia-ml-py versions lack some,
    and many answer NVMLError_NotSupported; either way the fact is recorded as unknown (None)."""
    try:
        if isinstance(fn, str):
            fn = getattr(_N, fn)
        return fn(*args)
    except Exception:
        return None


_N = None


def _str(v):
    return v.decode() if isinstance(v, bytes) else v


def _proc_name(pid):
    try:
        import psutil

        return " ".join(psutil.Process(pid).cmdline())[:200] or psutil.Process(pid).name()
    except Exception:
        return None  # gone, or in another PID namespace (containers)


def snapshot():
    import glob

    nodes = sorted(glob.glob("/dev/nvidia[0-9]*"))
    try:
        import pynvml as n
    except Exception as exc:
        return {"available": False, "error": f"ImportError: {exc}", "device_nodes": nodes}
    global _N
    _N = n
    try:
        n.nvmlInit()
    except Exception as exc:
        return {"available": False, "error": f"{type(exc).__name__}: {exc}", "device_nodes": nodes}
    try:
        out = {"available": True, "error": None, "device_nodes": nodes,
               "driver_version": _str(_opt("nvmlSystemGetDriverVersion")),
               "cuda_driver_version": _opt("nvmlSystemGetCudaDriverVersion_v2")
               or _opt("nvmlSystemGetCudaDriverVersion"),
               "gpus": []}
        modes = {0: "DEFAULT", 1: "EXCLUSIVE_THREAD", 2: "PROHIBITED", 3: "EXCLUSIVE_PROCESS"}
        try:
            count = n.nvmlDeviceGetCount()
        except Exception as exc:
            return {"available": False, "error": f"{type(exc).__name__}: {exc}", "device_nodes": nodes}
        for i in range(count):
            try:
                h = n.nvmlDeviceGetHandleByIndex(i)
            except Exception as exc:  # e.g. NVMLError_GpuIsLost: report the GPU, keep the others
                out["gpus"].append({"index": i, "name": f"GPU {i} ({type(exc).__name__}: {exc})", "uuid": "",
                                    "lost": True})
                continue
            mem = _opt("nvmlDeviceGetMemoryInfo", h)
            cap = _opt("nvmlDeviceGetCudaComputeCapability", h)
            mig = _opt("nvmlDeviceGetMigMode", h)
            rows = _opt("nvmlDeviceGetRemappedRows", h)
            pci = _opt("nvmlDeviceGetPciInfo", h)
            procs = []
            for p in (_opt("nvmlDeviceGetComputeRunningProcesses", h) or []):
                used = getattr(p, "usedGpuMemory", None)
                procs.append({"pid": int(p.pid), "used_memory": int(used) if used else None,
                              "name": _proc_name(int(p.pid))})
            pending = _opt("nvmlDeviceGetRetiredPagesPendingStatus", h)
            out["gpus"].append({
                "index": i,
                "name": _str(_opt("nvmlDeviceGetName", h)) or f"GPU {i}",
                "uuid": _str(_opt("nvmlDeviceGetUUID", h)) or "",
                "pci_bus_id": _str(getattr(pci, "busId", "")) if pci else "",
                "memory_total": int(mem.total) if mem else 0,
                "memory_used": int(mem.used) if mem else 0,
                "capability": list(cap) if cap else None,
                "ecc_uncorrected_volatile": _opt("nvmlDeviceGetTotalEccErrors", h,
                                                 getattr(n, "NVML_MEMORY_ERROR_TYPE_UNCORRECTED", 1),
                                                 getattr(n, "NVML_VOLATILE_ECC", 0)),
                "retired_pages_pending": None if pending is None else bool(pending),
                "remapped_rows_pending": None if rows is None else bool(rows[2]),
                "remapped_rows_failure": None if rows is None else bool(rows[3]),
                "mig_enabled": None if mig is None else bool(mig[0]),
                "compute_mode": modes.get(_opt("nvmlDeviceGetComputeMode", h)),
                "persistence_mode": (None if (pm := _opt("nvmlDeviceGetPersistenceMode", h)) is None
                                     else bool(pm)),
                "temperature_c": _opt("nvmlDeviceGetTemperature", h, getattr(n, "NVML_TEMPERATURE_GPU", 0)),
                "processes": procs,
            })
        return out
    finally:
        _opt("nvmlShutdown")


if __name__ == "__main__":
    sys.stdout.write(json.dumps(snapshot()) + "\n")
