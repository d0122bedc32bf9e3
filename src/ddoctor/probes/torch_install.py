"""Is torch installed once, importable, and the right flavour for this host?"""

from __future__ import annotations

from ddoctor.model.finding import Remediation
from ddoctor.probes import claims
from ddoctor.probes.base import Outcome, ProbeContext, Unfinished, fail, fix, ok, skip, warn


def check_torch_install(ctx: ProbeContext) -> Outcome:
    t = ctx.host.torch()
    py = ctx.host.platform().python_executable
    if not t.installed:
        return fail(f"torch is not installed for {py}",
                    fix("Install torch into this interpreter's environment.",
                        f"{py} -m pip install torch"), evidence={"python": py})
    evidence = {"version": t.version, "location": t.location, "facts_source": t.source,
                **claims.claims(ctx, "torch_build")}
    failure = ctx.host.torch_failure()
    if t.import_ok is None and failure is not None and failure.timed_out:
        raise Unfinished(f"could not verify torch: {failure.reason} (raise --timeout if `import torch` is only slow "
                         "here: time python -c 'import torch')")
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


def cuda_build_remedy(ctx: ProbeContext, why: str, *, brief: bool = False) -> Remediation:
    """Install the CUDA build of the installed release for this driver (or the newest one the driver runs).

    `brief` drops the notes for findings that are consequences of the wrong build (they point back here).
    """
    from ddoctor.wheels import choose_cuda_wheel, cuda_str, parse_cuda

    t = ctx.host.torch()
    nv = claims.nvml(ctx)
    py = ctx.host.platform().python_executable
    drv = nv.cuda_driver_version_str if nv else None
    choice = choose_cuda_wheel(torch_version=t.version, driver_cuda=parse_cuda(drv),
                               driver_version=nv.driver_version if nv else None)
    if choice is None:
        return fix(f"{why} No CUDA build in ddoctor's wheel table runs on this driver (CUDA {drv or 'unknown'}): "
                   "upgrade the NVIDIA driver first.", "nvidia-smi", f"{py} -m pip install --force-reinstall torch")
    if brief:
        return fix(f"{why} Install the CUDA {cuda_str(choice.cuda)} build of torch {choice.version} (see 'wheel "
                   "flavour vs host').", choice.command(py))
    return fix(f"{why} Install the CUDA {cuda_str(choice.cuda)} build of torch {choice.version}, which this driver "
               f"(CUDA {drv}) runs" + "".join(f"; {n}" for n in choice.notes()) + ".", choice.command(py))


def check_wheel_flavour(ctx: ProbeContext) -> Outcome:
    t = ctx.host.torch()
    if not t.installed:
        return skip("torch is not installed")
    ev = {"torch": t.version, "flavour": t.flavour,
          **claims.claims(ctx, "nvidia_gpus", "torch_build", "torch_fits_host")}
    gpus = ev["nvidia_gpus"]
    if ev["torch_fits_host"] is False:
        nv = claims.nvml(ctx)
        ev["driver_cuda"] = nv.cuda_driver_version_str if nv else None
        return fail(
            f"{gpus} NVIDIA GPU(s) present but torch {t.version} is a "
            f"{'ROCm' if t.hip else 'CPU-only'} build: CUDA calls will fail with "
            "'Torch not compiled with CUDA enabled'",
            cuda_build_remedy(ctx, "The GPUs need a CUDA build of torch."), evidence=ev)
    if t.cuda and not gpus:
        return ok(f"torch {t.version} is a CUDA {t.cuda} build; no NVIDIA GPU here, so it will run on CPU",
                  evidence=ev)
    return ok(f"torch {t.version} ({t.flavour}) fits this host", evidence=ev)
