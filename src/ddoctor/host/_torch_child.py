"""Run in a child interpreter: import torch and print what it is, one JSON object per line.

This file is executed by path (never imported by ddoctor itself) so that a torch import that
crashes, hangs in CUDA init or aborts in C cannot take ddoctor down. It prints the build facts
first and flushes, so the parent keeps them even if the runtime phase (driver calls) hangs.
Usage: python _torch_child.py build|runtime
"""

import json
import sys
import time


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def build_facts(torch):
    import torch.distributed as dist

    facts = {
        "phase": "build",
        "version": torch.__version__,
        "cuda": torch.version.cuda,
        "hip": getattr(torch.version, "hip", None),
        "debug": bool(getattr(torch.version, "debug", False)),
        "arch_list": [],
        "nccl_available": False,
        "nccl_version": None,
        "gloo_available": False,
        "mpi_available": False,
        "mps_built": False,
        "default_backends": [],
        "cudnn_version": None,
        "xnnpack": None,
    }
    try:
        facts["arch_list"] = list(torch.cuda.get_arch_list())
    except Exception:
        pass
    if dist.is_available():
        facts["nccl_available"] = bool(dist.is_nccl_available())
        facts["gloo_available"] = bool(dist.is_gloo_available())
        facts["mpi_available"] = bool(dist.is_mpi_available())
        backend_map = getattr(dist.Backend, "default_device_backend_map", {}) or {}
        facts["default_backends"] = sorted([str(k), str(v)] for k, v in backend_map.items())
    if facts["nccl_available"]:
        try:
            v = torch.cuda.nccl.version()
            facts["nccl_version"] = ".".join(str(p) for p in v) if isinstance(v, tuple) else str(v)
        except Exception:
            pass
    try:
        facts["mps_built"] = bool(torch.backends.mps.is_built())
    except Exception:
        pass
    try:
        import torch.backends.xnnpack  # a submodule torch does not import itself

        facts["xnnpack"] = bool(torch.backends.xnnpack.enabled)
    except Exception:
        pass
    if facts["cuda"] or facts["hip"]:
        try:  # cuDNN on CUDA builds, MIOpen on ROCm builds
            v = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
            facts["cudnn_version"] = None if v is None else str(v)
        except Exception:
            pass
    return facts


def runtime_facts(torch):
    facts = {"phase": "runtime", "cuda_available": False, "device_count": 0, "devices": [],
             "mps_available": None}
    try:
        facts["mps_available"] = bool(torch.backends.mps.is_available())
    except Exception:
        pass
    facts["cuda_available"] = bool(torch.cuda.is_available())
    if facts["cuda_available"]:
        facts["device_count"] = torch.cuda.device_count()
        for i in range(facts["device_count"]):
            p = torch.cuda.get_device_properties(i)
            facts["devices"].append({"index": i, "name": p.name, "capability": [p.major, p.minor],
                                     "total_memory": int(p.total_memory)})
    emit(facts)
    for i in range(facts["device_count"]):
        start = time.perf_counter()
        emit({"phase": "cuda_init_start", "index": i})
        try:
            torch.zeros(1, device=f"cuda:{i}").add_(1)
            torch.cuda.synchronize(i)
            emit({"phase": "cuda_init", "index": i, "ok": True,
                  "detail": f"{(time.perf_counter() - start) * 1000:.0f} ms"})
        except Exception as exc:
            emit({"phase": "cuda_init", "index": i, "ok": False,
                  "detail": f"{type(exc).__name__}: {exc}".strip()[:2000]})


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "build"
    try:
        import torch
    except BaseException as exc:
        emit({"phase": "import_error", "error": f"{type(exc).__name__}: {exc}"[:4000]})
        return
    emit(build_facts(torch))
    if mode == "runtime":
        runtime_facts(torch)
    emit({"phase": "done"})


if __name__ == "__main__":
    main()
