"""Which torch.distributed backends exist here, and which one this host should use."""

from __future__ import annotations

from ddoctor.host.facts import NvmlFacts
from ddoctor.probes.base import Outcome, ProbeContext, fail, fix, ok, skip, warn


def recommended_backend(ctx: ProbeContext) -> tuple[str, str]:
    """(backend, device) a job on this host should use; pure function of the facts."""
    t = ctx.host.torch()
    nv = ctx.host.nvml()
    gpus = nv.gpus if isinstance(nv, NvmlFacts) else ()
    if t.cuda and gpus and t.nccl_available is not False:
        return "nccl", "cuda"
    rt = ctx.host.torch_runtime()
    if rt and rt.mps_available:
        return "gloo", "mps"
    return "gloo", "cpu"


def check_nccl(ctx: ProbeContext) -> Outcome:
    t = ctx.host.torch()
    if not t.installed or t.import_ok is False:
        return skip("torch is not importable")
    nv = ctx.host.nvml()
    gpus = nv.gpus if isinstance(nv, NvmlFacts) else ()
    if t.nccl_available is None:
        return skip("NCCL availability unknown (torch not imported)")
    if t.nccl_available:
        return ok(f"NCCL {t.nccl_version or '(version unknown)'} is built into torch",
                  evidence={"nccl_version": t.nccl_version})
    if gpus and t.cuda:
        return fail(f"torch {t.version} is a CUDA build without NCCL, and this host has {len(gpus)} GPU(s)", fix(
            "Install an official CUDA wheel (they ship NCCL) or build torch with USE_NCCL=1.",
            f"{ctx.host.platform().python_executable} -m pip install --force-reinstall torch"))
    return ok("NCCL is not built into this torch (expected without CUDA GPUs): "
              "init_process_group('nccl') would fail with \"Distributed package doesn't have NCCL built in\"; "
              "use gloo", evidence={"nccl_available": False})


def check_backends(ctx: ProbeContext) -> Outcome:
    t = ctx.host.torch()
    if not t.installed or t.import_ok is False:
        return skip("torch is not importable")
    if t.gloo_available is None:
        return skip("backend availability unknown (torch not imported)")
    backend, device = recommended_backend(ctx)
    have = [name for name, avail in (("nccl", t.nccl_available), ("gloo", t.gloo_available),
                                      ("mpi", t.mpi_available)) if avail]
    ev = {"available": ",".join(have) or "none", "recommended": backend, "device": device,
          "default_map": ",".join(f"{d}:{b}" for d, b in t.default_backends)}
    if backend not in have:
        return fail(f"no usable backend for {device}: available are {ev['available']}", fix(
            "Install an official torch wheel, which ships Gloo (and NCCL for CUDA builds).",
            f"{ctx.host.platform().python_executable} -m pip install --force-reinstall torch"), evidence=ev)
    snippet = ('backend = "nccl" if torch.cuda.is_available() and dist.is_nccl_available() else "gloo"')
    return ok(f"use backend={backend!r} on {device} here (available: {ev['available']})", evidence=ev,
              details=(f"portable choice in code: {snippet}",))


def check_mps(ctx: ProbeContext) -> Outcome:
    p = ctx.host.platform()
    if p.system != "Darwin":
        return skip("not macOS")
    t = ctx.host.torch()
    py = p.python_executable
    if p.rosetta_translated:
        return fail("this Python is x86_64 running under Rosetta 2: MPS is unavailable and torch is much slower",
                    fix("Use a native arm64 Python and reinstall torch in it.",
                        "python3 -c 'import platform; print(platform.machine())'  # must print arm64",
                        "arch -arm64 /usr/bin/python3 -m venv ~/venv-arm64 && ~/venv-arm64/bin/pip install torch"))
    if not t.installed or t.import_ok is False:
        return skip("torch is not importable")
    rt = ctx.host.torch_runtime()
    ev = {"mps_built": t.mps_built, "mps_available": rt.mps_available if rt else None, "macos": p.mac_version,
          "machine": p.machine}
    if not t.mps_built:
        return warn("this torch was built without MPS", fix(
            "Install the standard macOS arm64 wheel.", f"{py} -m pip install --force-reinstall torch"),
            evidence=ev)
    if rt is not None and rt.mps_available is False:
        return warn(f"MPS is built but not available (macOS {p.mac_version}; MPS needs macOS 12.3+ on Apple "
                    "silicon)", fix("Update macOS, or run on CPU.", "softwareupdate --list"), evidence=ev)
    return ok("MPS is available: put tensors on 'mps', and use backend='gloo' for collectives (NCCL does not "
              "exist on macOS)", evidence=ev,
              details=("set PYTORCH_ENABLE_MPS_FALLBACK=1 to run operators MPS lacks on the CPU",))
