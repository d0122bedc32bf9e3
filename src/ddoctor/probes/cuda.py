"""NVIDIA driver, CUDA build compatibility, architecture support, visibility and context init."""

from __future__ import annotations

import re

from ddoctor.host.facts import NvmlFacts, ProbeFailure
from ddoctor.probes import claims
from ddoctor.probes.base import Outcome, ProbeContext, fail, fix, ok, skip, warn
from ddoctor.probes.claims import driver_too_old, parse_visible_devices

NVIDIA_CONTAINER_DOCS = "https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/"


def _nvml(ctx: ProbeContext) -> NvmlFacts | None:
    nv = ctx.host.nvml()
    return nv if isinstance(nv, NvmlFacts) else None


def check_driver(ctx: ProbeContext) -> Outcome:
    nv = ctx.host.nvml()
    facts = claims.claims(ctx, "driver_cuda", "nvidia_gpus")
    if isinstance(nv, ProbeFailure):
        return fail(f"NVML did not answer: {nv.reason}; the NVIDIA driver may be wedged",
                    fix("Look for Xid errors, then reset the GPU or reboot the node.",
                        "sudo dmesg | grep -i xid | tail", "sudo nvidia-smi -r"), evidence=facts)
    if not nv.available:
        err = nv.error or "unknown error"
        if "LibraryNotFound" in err or "ImportError" in err:
            if not nv.device_nodes:
                return skip("no NVIDIA driver on this host (NVML library not found)")
            return fail(f"/dev/nvidia* exists but NVML cannot be loaded ({err})", fix(
                "Install the NVIDIA user-space driver libraries; in a container, run it with the NVIDIA "
                "container toolkit.", "docker run --gpus all ...", links=(NVIDIA_CONTAINER_DOCS,)), evidence=facts)
        if "NoPermission" in err:
            return fail(f"NVML refused access: {err}", fix(
                "Give this user access to the GPU device nodes (group video/render) or run in a "
                "container started with --gpus.", "ls -l /dev/nvidia*", "sudo usermod -aG video $USER"),
                evidence=facts)
        return fail(f"NVML failed to initialise: {err}", fix(
            "Load the NVIDIA kernel module or reinstall the driver, then check with nvidia-smi.",
            "sudo modprobe nvidia", "nvidia-smi"), evidence=facts)
    ev = {"driver": nv.driver_version, **claims.claims(ctx, "driver_cuda", "nvidia_gpus")}
    if not nv.gpus:
        return warn(f"NVIDIA driver {nv.driver_version} is loaded but NVML lists no GPU", fix(
            "Expose the GPUs to this process (container --gpus all, or the scheduler's GPU request).",
            "docker run --gpus all ...", "srun --gpus-per-node=N ..."), evidence=ev)
    names = sorted({g.name for g in nv.gpus})
    return ok(f"driver {nv.driver_version} (supports CUDA {nv.cuda_driver_version_str}), "
              f"{len(nv.gpus)} GPU(s): {', '.join(names)}", evidence=ev)


def check_driver_vs_torch(ctx: ProbeContext) -> Outcome:
    t = ctx.host.torch()
    nv = _nvml(ctx)
    if not t.cuda:
        return skip("torch is not a CUDA build")
    if nv is None or not nv.available or nv.cuda_driver_version is None:
        return skip("no NVIDIA driver to compare with")
    from ddoctor.wheels import choose_cuda_wheel, cuda_str, driver_floor, parse_cuda

    drv, built = parse_cuda(nv.cuda_driver_version_str), parse_cuda(t.cuda)
    if drv is None or built is None:
        return skip("could not parse the CUDA versions")
    ev = {"driver": nv.driver_version, **claims.claims(ctx, "driver_cuda", "torch_cuda")}
    support = claims.driver_runs_torch(ctx)
    floor, full = driver_floor(built)
    if support is None:
        py = ctx.host.platform().python_executable
        choice = choose_cuda_wheel(torch_version=t.version, driver_cuda=drv, driver_version=nv.driver_version)
        need = floor or full
        cmds = [f"sudo apt install nvidia-driver-{need.split('.')[0]}  # any driver >= {need}; "
                "use your distribution's package"] if need else []
        summary = f"Upgrade the NVIDIA driver to one that runs CUDA {t.cuda} (>= {need})" if need else \
            f"Upgrade the NVIDIA driver to one that supports CUDA {t.cuda}"
        if choice:
            cmds.append(choice.command(py))
            summary += (f", or install torch {choice.version} built for CUDA {cuda_str(choice.cuda)}, which this "
                        "driver runs" + "".join(f"; {n}" for n in choice.notes()) + ".")
        else:
            summary += "; no torch in ddoctor's wheel table runs on a driver this old."
        return fail(f"driver {nv.driver_version} supports CUDA {nv.cuda_driver_version_str} but torch {t.version} "
                    f"was built for CUDA {t.cuda}: CUDA init fails with 'The NVIDIA driver on your system is too "
                    "old'", fix(summary, *cmds), evidence=ev)
    if support == "minor-compat":
        jit = _ptx_only_gpus(ctx)
        detail = (f"a CUDA {cuda_str(built)} build runs on a CUDA {cuda_str(drv)} driver through minor-version "
                  f"compatibility (any driver >= {floor})")
        if jit:
            i, name, cap = jit[0]
            return warn(f"{name} (GPU {i}, sm_{cap[0]}{cap[1]}) has no native kernels in torch {t.version} and "
                        f"needs PTX JIT, which driver {nv.driver_version} (CUDA {cuda_str(drv)}) cannot do for "
                        f"CUDA {t.cuda} PTX: {detail}", fix(
                            f"Upgrade the driver to >= {full or 'one that supports CUDA ' + t.cuda} for PTX JIT.",
                            f"sudo apt install nvidia-driver-{(full or '').split('.')[0] or 'NNN'}  "
                            "# use your distribution's package"), evidence=ev, affects=(f"GPU {i}",))
        return ok(f"driver CUDA {nv.cuda_driver_version_str} runs torch's CUDA {t.cuda} build through "
                  "minor-version compatibility", evidence=ev, details=(detail,))
    return ok(f"driver CUDA {nv.cuda_driver_version_str} ≥ torch CUDA {t.cuda}", evidence=ev)


def _ptx_only_gpus(ctx: ProbeContext) -> list[tuple[int, str, tuple[int, int]]]:
    """GPUs that torch's arch list covers only through PTX (which the driver must JIT-compile)."""
    t = ctx.host.torch()
    sass, _ = _arch_numbers(t.arch_list)
    return [(i, n, c) for i, n, c in _capabilities(ctx)
            if arch_supported(c, t.arch_list) and not any(s[0] == c[0] and s[1] <= c[1] for s in sass)]


def _capabilities(ctx: ProbeContext) -> list[tuple[int, str, tuple[int, int]]]:
    rt = ctx.host.torch_runtime()
    nv = _nvml(ctx)
    if rt and rt.devices:
        return [(d.index, d.name, d.capability) for d in rt.devices]
    if nv and nv.gpus:
        return [(g.index, g.name, g.capability) for g in nv.gpus if g.capability]
    return []


def _arch_numbers(arch_list: tuple[str, ...]) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    sass, ptx = set(), set()
    for a in arch_list:
        m = re.fullmatch(r"(sm|compute)_(\d+)(\d)[a-z]?", a)
        if m:
            (sass if m.group(1) == "sm" else ptx).add((int(m.group(2)), int(m.group(3))))
    return sass, ptx


def arch_supported(cap: tuple[int, int], arch_list: tuple[str, ...]) -> bool:
    """SASS runs on the same major with an equal or higher minor; PTX JIT-compiles for newer GPUs."""
    sass, ptx = _arch_numbers(arch_list)
    if any(s[0] == cap[0] and s[1] <= cap[1] for s in sass):
        return True
    return any(p <= cap for p in ptx)


def check_arch(ctx: ProbeContext) -> Outcome:
    t = ctx.host.torch()
    if not t.cuda:
        return skip("torch is not a CUDA build")
    if not t.arch_list:
        return skip("torch's arch list is unknown (import failed or not attempted)")
    caps = _capabilities(ctx)
    if not caps:
        return skip("no GPU to compare with")
    nv = _nvml(ctx)
    bad = [(i, n, c) for i, n, c in caps if not arch_supported(c, t.arch_list)]
    ev = {"arch_list": " ".join(t.arch_list), "capabilities": " ".join(sorted({f"sm_{c[0]}{c[1]}" for *_, c in caps})),
          **claims.claims(ctx, "torch_cuda")}
    if bad:
        from ddoctor.wheels import choose_cuda_wheel, cuda_str, driver_floor, parse_cuda, wheel_for_arch

        i, name, cap = bad[0]
        py = ctx.host.platform().python_executable
        drv = parse_cuda(nv.cuda_driver_version_str) if nv else None
        choice = choose_cuda_wheel(torch_version=None, driver_cuda=drv,
                                   driver_version=nv.driver_version if nv else None, cap=cap)
        if choice:
            remedy = fix(f"Install torch {choice.version} built for CUDA {cuda_str(choice.cuda)}, which has kernels "
                         f"for sm_{cap[0]}{cap[1]} and runs on this driver.", choice.command(py))
        else:
            target = wheel_for_arch(cap)
            if target:
                floor, _ = driver_floor(target.cuda)
                remedy = fix(f"No build this driver runs has kernels for sm_{cap[0]}{cap[1]}: upgrade the driver to "
                             f">= {floor} and install torch {target.version} built for CUDA {cuda_str(target.cuda)}.",
                             f"sudo apt install nvidia-driver-{floor.split('.')[0]}  # use your distribution's package",
                             target.command(py))
            else:
                remedy = fix("Install a nightly build, which carries the newest architectures.",
                             f"{py} -m pip install --pre --force-reinstall torch --index-url "
                             "https://download.pytorch.org/whl/nightly/cu130")
        return fail(f"{name} (GPU {i}) is sm_{cap[0]}{cap[1]}, which torch {t.version} was not compiled for "
                    f"({' '.join(t.arch_list)}): kernels fail with 'no kernel image is available'", remedy,
                    evidence=ev, affects=tuple(f"GPU {b[0]}" for b in bad))
    return ok(f"every GPU architecture ({ev['capabilities']}) is in torch's arch list", evidence=ev)


def check_visible(ctx: ProbeContext) -> Outcome:
    nv = _nvml(ctx)
    gpus = nv.gpus if nv else ()
    cvd = ctx.env.get("CUDA_VISIBLE_DEVICES")
    rt = ctx.host.torch_runtime()
    if not gpus and cvd is None:
        return skip("no NVIDIA GPU and CUDA_VISIBLE_DEVICES unset")
    ev = {"CUDA_VISIBLE_DEVICES": cvd, "torch_device_count": rt.device_count if rt else None,
          **claims.claims(ctx, "nvidia_gpus")}
    visible = len(gpus)
    if cvd is not None:
        items = parse_visible_devices(cvd)
        if claims.hides_all(cvd):
            if gpus:
                return fail(f"CUDA_VISIBLE_DEVICES={cvd!r} hides all {len(gpus)} GPU(s): torch reports "
                            "'No CUDA GPUs are available'",
                            fix("Unset it, or list the GPUs this job should use.", "unset CUDA_VISIBLE_DEVICES",
                                f"export CUDA_VISIBLE_DEVICES={','.join(str(g.index) for g in gpus)}"),
                            evidence=ev)
            return skip("CUDA_VISIBLE_DEVICES hides all devices and there are none")
        count = claims.visible_gpus(ctx)
        if count < len(items):
            return fail(f"CUDA_VISIBLE_DEVICES={cvd!r} names a GPU that does not exist (entry "
                        f"{items[count]!r}); CUDA ignores it and everything after it, leaving {count} visible",
                        fix("List only existing GPU indices or UUIDs.",
                            f"export CUDA_VISIBLE_DEVICES={','.join(str(g.index) for g in gpus)}",
                            "nvidia-smi -L"), evidence=ev)
        if len(set(items)) != len(items):
            return warn(f"CUDA_VISIBLE_DEVICES={cvd!r} lists a GPU twice; two ranks would share it "
                        "('Duplicate GPU detected' under NCCL)",
                        fix("List each GPU once.", f"export CUDA_VISIBLE_DEVICES={','.join(dict.fromkeys(items))}"),
                        evidence=ev)
        visible = count
    if driver_too_old(ctx):
        return skip("the driver is too old for this torch build (see 'driver vs torch CUDA')")
    if ctx.host.torch().cuda and rt and rt.device_count is not None and gpus and rt.device_count != visible:
        return fail(f"torch sees {rt.device_count} GPU(s) but {visible} should be visible", fix(
            "Check that torch's CUDA build matches the driver and that no other CUDA_VISIBLE_DEVICES is set by "
            "the launcher.", "nvidia-smi -L", "env | grep -i cuda"), evidence=ev)
    ranks = ctx.local_ranks()
    if gpus and ranks > visible:
        return fail(f"{ranks} local ranks planned but only {visible} GPU(s) visible: ranks ≥ {visible} fail "
                    "with 'invalid device ordinal'",
                    fix("Launch at most one rank per visible GPU.", f"torchrun --nproc_per_node {visible} ..."),
                    evidence={**ev, "local_ranks": ranks})
    return ok(f"{visible} GPU(s) visible" + (f" via CUDA_VISIBLE_DEVICES={cvd}" if cvd is not None else ""),
              evidence=ev)


def check_cuda_init(ctx: ProbeContext) -> Outcome:
    rt = ctx.host.torch_runtime()
    failure = ctx.host.torch_failure()
    nv = _nvml(ctx)
    if rt is None:
        if failure is not None and nv and nv.gpus:
            return fail(f"torch runtime query did not finish: {failure.reason}", fix(
                "A CUDA call that never returns usually means a wedged driver: check Xid errors, reset the GPU "
                "or reboot.", "sudo dmesg | grep -i xid | tail", "nvidia-smi"),
                evidence=claims.claims(ctx, "cuda_usable"))
        if nv and nv.gpus:
            return skip("no CUDA context was created in this run (ddoctor report reads facts only)")
        return skip("no GPU to initialise")
    if not rt.cuda_available:
        if driver_too_old(ctx):
            return skip("the driver is too old for this torch build (see 'driver vs torch CUDA')")
        if nv and nv.gpus and ctx.host.torch().cuda:
            return fail("torch.cuda.is_available() is False although NVML lists GPUs", fix(
                "Check CUDA_VISIBLE_DEVICES and the driver/torch CUDA versions (see the checks above).",
                "nvidia-smi", "python -c 'import torch; torch.cuda.init()'"),
                evidence=claims.claims(ctx, "cuda_usable"))
        return skip("CUDA not available to torch")
    bad = [(i, d) for i, okay, d in rt.cuda_init if not okay]
    ev = {**{f"gpu{i}": d for i, _, d in rt.cuda_init}, **claims.claims(ctx, "cuda_usable")}
    if bad:
        i, detail = bad[0]
        hint = ("busy or exclusive GPU: another process holds it" if "busy" in detail.lower() else
                "start nvidia-fabricmanager on NVSwitch systems" if "802" in detail or "system not yet" in detail
                else "reset the GPU or reboot the node")
        return fail(f"creating a CUDA context on GPU {i} failed: {detail}",
                    fix(f"Fix the device before launching ({hint}).", "nvidia-smi",
                        "sudo systemctl start nvidia-fabricmanager"),
                    evidence=ev, affects=tuple(f"GPU {b[0]}" for b in bad))
    return ok(f"CUDA context created on all {len(rt.cuda_init)} GPU(s)", evidence=ev)
