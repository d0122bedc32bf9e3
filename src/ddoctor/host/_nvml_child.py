"""Run in a child interpreter: one NVML snapshot as JSON on stdout.

NVML calls can block for a long time on a wedged driver; running them here lets the parent
enforce a deadline. Every per-device query is optional: older drivers and consumer GPUs answer
NVMLError_NotSupported for many of them, which is recorded as null, not as a failure.
"""

import json
import sys


def _opt(fn, *args):
    try:
        return fn(*args)
    except Exception:
        return None


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
    try:
        n.nvmlInit()
    except Exception as exc:
        return {"available": False, "error": f"{type(exc).__name__}: {exc}", "device_nodes": nodes}
    try:
        out = {"available": True, "error": None, "device_nodes": nodes,
               "driver_version": _str(_opt(n.nvmlSystemGetDriverVersion)),
               "cuda_driver_version": _opt(getattr(n, "nvmlSystemGetCudaDriverVersion_v2",
                                                   n.nvmlSystemGetCudaDriverVersion)),
               "gpus": []}
        modes = {0: "DEFAULT", 1: "EXCLUSIVE_THREAD", 2: "PROHIBITED", 3: "EXCLUSIVE_PROCESS"}
        for i in range(n.nvmlDeviceGetCount()):
            h = n.nvmlDeviceGetHandleByIndex(i)
            mem = _opt(n.nvmlDeviceGetMemoryInfo, h)
            cap = _opt(n.nvmlDeviceGetCudaComputeCapability, h)
            mig = _opt(n.nvmlDeviceGetMigMode, h)
            rows = _opt(n.nvmlDeviceGetRemappedRows, h)
            pci = _opt(n.nvmlDeviceGetPciInfo, h)
            procs = []
            for p in (_opt(n.nvmlDeviceGetComputeRunningProcesses, h) or []):
                used = getattr(p, "usedGpuMemory", None)
                procs.append({"pid": int(p.pid), "used_memory": int(used) if used else None,
                              "name": _proc_name(int(p.pid))})
            pending = _opt(n.nvmlDeviceGetRetiredPagesPendingStatus, h)
            out["gpus"].append({
                "index": i,
                "name": _str(_opt(n.nvmlDeviceGetName, h)) or f"GPU {i}",
                "uuid": _str(_opt(n.nvmlDeviceGetUUID, h)) or "",
                "pci_bus_id": _str(getattr(pci, "busId", "")) if pci else "",
                "memory_total": int(mem.total) if mem else 0,
                "memory_used": int(mem.used) if mem else 0,
                "capability": list(cap) if cap else None,
                "ecc_uncorrected_volatile": _opt(n.nvmlDeviceGetTotalEccErrors, h,
                                                 n.NVML_MEMORY_ERROR_TYPE_UNCORRECTED,
                                                 n.NVML_VOLATILE_ECC),
                "retired_pages_pending": None if pending is None else bool(pending),
                "remapped_rows_pending": None if rows is None else bool(rows[2]),
                "remapped_rows_failure": None if rows is None else bool(rows[3]),
                "mig_enabled": None if mig is None else bool(mig[0]),
                "compute_mode": modes.get(_opt(n.nvmlDeviceGetComputeMode, h)),
                "persistence_mode": (None if (pm := _opt(n.nvmlDeviceGetPersistenceMode, h)) is None
                                     else bool(pm)),
                "temperature_c": _opt(n.nvmlDeviceGetTemperature, h, n.NVML_TEMPERATURE_GPU),
                "processes": procs,
            })
        return out
    finally:
        _opt(n.nvmlShutdown)


if __name__ == "__main__":
    sys.stdout.write(json.dumps(snapshot()) + "\n")
