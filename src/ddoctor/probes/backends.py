"""Which torch.distributed backends exist here, and which one this host should use."""

from __future__ import annotations

from ddoctor.model.finding import Remediation
from ddoctor.probes import claims
from ddoctor.probes.base import Outcome, ProbeContext, fail, fix, ok, skip, warn
from ddoctor.probes.torch_install import cuda_build_remedy


def recommended_backend(ctx: ProbeContext) -> tuple[str, str]:
    """(backend, device) a job on this host should use now; pure function of the facts."""
    return claims.backend(ctx)


def _gpus_blocked_remedy(ctx: ProbeContext) -> Remediation:
    """What keeps the GPUs from NCCL: the build (install the CUDA wheel) or CUDA itself (see its checks)."""
    if claims.torch_fits_host(ctx) is False:
        return cuda_build_remedy(ctx, "The GPUs need the CUDA build of torch, whose wheels ship NCCL.", brief=True)
    return fix("Fix what keeps CUDA from working (the failed GPU checks above), then use nccl on cuda.",
               "ddoctor check torch cuda -v")


def check_nccl(ctx: ProbeContext) -> Outcome:
    t = ctx.host.torch()
    if not t.installed or t.import_ok is False:
        return skip("torch is not importable")
    if t.nccl_available is None:
        return skip("NCCL availability unknown (torch not imported)")
    ev = claims.claims(ctx, "nccl_available", "nvidia_gpus", "torch_fits_host")
    gpus = ev["nvidia_gpus"]
    if t.nccl_available and ev["torch_fits_host"] is False:
        return warn(f"NCCL {t.nccl_version or ''} in torch {t.version} is ROCm's RCCL, which cannot drive this host's "
                    f"{gpus} NVIDIA GPU(s)", _gpus_blocked_remedy(ctx), evidence={**ev, "nccl_version": t.nccl_version})
    if t.nccl_available:
        return ok(f"NCCL {t.nccl_version or '(version unknown)'} is built into torch",
                  evidence={**ev, "nccl_version": t.nccl_version})
    if gpus and t.cuda:
        return fail(f"torch {t.version} is a CUDA build without NCCL, and this host has {gpus} GPU(s)", fix(
            "Install an official CUDA wheel (they ship NCCL) or build torch with USE_NCCL=1.",
            f"{ctx.host.platform().python_executable} -m pip install --force-reinstall torch"), evidence=ev)
    if gpus:
        return warn(f"NCCL is not built into torch {t.version}, a {claims.torch_build(ctx).upper()} build, while this "
                    f"host has {gpus} NVIDIA GPU(s): init_process_group('nccl') fails with \"Distributed package "
                    "doesn't have NCCL built in\" until the CUDA build is installed", _gpus_blocked_remedy(ctx),
                    evidence=ev)
    return ok("NCCL is not built into this torch (expected without NVIDIA GPUs): init_process_group('nccl') "
              "would fail with \"Distributed package doesn't have NCCL built in\"; use gloo", evidence=ev)


def check_backends(ctx: ProbeContext) -> Outcome:
    t = ctx.host.torch()
    if not t.installed or t.import_ok is False:
        return skip("torch is not importable")
    if t.gloo_available is None:
        return skip("backend availability unknown (torch not imported)")
    backend, device = recommended_backend(ctx)
    have = [name for name, avail in (("nccl", t.nccl_available), ("gloo", t.gloo_available),
                                      ("mpi", t.mpi_available)) if avail]
    ev = {"available": ",".join(have) or "none", "device": device,
          "default_map": ",".join(f"{d}:{b}" for d, b in t.default_backends),
          **claims.claims(ctx, "backend", "torch_fits_host", "cuda_usable", "nvidia_gpus")}
    if backend not in have:
        return fail(f"no usable backend for {device}: available are {ev['available']}", fix(
            "Install an official torch wheel, which ships Gloo (and NCCL for CUDA builds).",
            f"{ctx.host.platform().python_executable} -m pip install --force-reinstall torch"), evidence=ev)
    if ev["nvidia_gpus"] and backend != "nccl":
        why = claims.cuda_blocker(ctx) or "NCCL is not built into torch"
        return warn(f"only {backend!r} on {device} works now although this host has {ev['nvidia_gpus']} NVIDIA "
                    f"GPU(s): {why}; once fixed, use 'nccl' on cuda", _gpus_blocked_remedy(ctx), evidence=ev)
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
