"""Is torch installed once, importable, and the right flavour for this host?"""

from __future__ import annotations

from ddoctor.host.facts import NvmlFacts
from ddoctor.probes.base import Outcome, ProbeContext, fail, fix, ok, skip, warn
from ddoctor.wheels import best_wheel_for_driver, parse_cuda, pip_install_torch


def check_torch_install(ctx: ProbeContext) -> Outcome:
    t = ctx.host.torch()
    py = ctx.host.platform().python_executable
    if not t.installed:
        return fail(f"torch is not installed for {py}",
                    fix("Install torch into this interpreter's environment.",
                        f"{py} -m pip install torch"), evidence={"python": py})
    evidence = {"version": t.version, "location": t.location, "facts_source": t.source}
    if t.import_ok is False:
        err = t.import_error or "unknown error"
        missing_lib = any(s in err for s in ("libcudart", "libcudnn", "libnccl", "libcublas", "libcu", ".so"))
        summary = f"`import torch` fails: {err}"
        if missing_lib:
            return fail(summary, fix(
                "Reinstall torch so its CUDA libraries come from the same wheel set, and drop stray "
                "LD_LIBRARY_PATH entries that shadow them.",
                f"{py} -m pip install --force-reinstall --no-cache-dir torch=={(t.version or '').split('+')[0]}",
                "unset LD_LIBRARY_PATH LD_PRELOAD"), evidence=evidence)
        return fail(summary, fix("Reinstall torch in this environment.",
                                 f"{py} -m pip install --force-reinstall torch"), evidence=evidence)
    if len(t.distributions) > 1:
        where = "; ".join(f"{d.version} in {d.location}" for d in t.distributions)
        return warn(f"torch is installed {len(t.distributions)} times ({where}); "
                    f"{t.version} from {t.location} wins", fix(
                        "Uninstall the copies until one remains, then reinstall the one you want.",
                        f"{py} -m pip uninstall -y torch  # repeat until pip finds none",
                        f"{py} -m pip install torch"), evidence=evidence)
    verified = {"child": "imported in a child process", "cache": "import verified earlier for this install",
                "static": "read from its files, not imported"}[t.source]
    return ok(f"torch {t.version} ({verified})", evidence=evidence)


def check_wheel_flavour(ctx: ProbeContext) -> Outcome:
    t = ctx.host.torch()
    if not t.installed:
        return skip("torch is not installed")
    nv = ctx.host.nvml()
    gpus = nv.gpus if isinstance(nv, NvmlFacts) else ()
    py = ctx.host.platform().python_executable
    evidence = {"torch": t.version, "flavour": t.flavour, "nvidia_gpus": len(gpus)}
    if gpus and not t.cuda:
        drv = nv.cuda_driver_version_str if isinstance(nv, NvmlFacts) else None
        target = best_wheel_for_driver(parse_cuda(drv))
        return fail(
            f"{len(gpus)} NVIDIA GPU(s) present but torch {t.version} is a "
            f"{'ROCm' if t.hip else 'CPU-only'} build: CUDA calls will fail with "
            "'Torch not compiled with CUDA enabled'",
            fix(f"Install the CUDA build matching the driver (it supports CUDA {drv or 'unknown'}).",
                pip_install_torch(py, target, t.version)),
            evidence={**evidence, "driver_cuda": drv})
    if t.cuda and not gpus:
        return ok(f"torch {t.version} is a CUDA {t.cuda} build; no NVIDIA GPU here, so it will run on CPU",
                  evidence=evidence)
    return ok(f"torch {t.version} ({t.flavour}) fits this host", evidence=evidence)

