"""NVIDIA driver, CUDA build compatibility, architecture support, visibility and context init."""

from __future__ import annotations

import re

from ddoctor.host.facts import NvmlFacts, ProbeFailure
from ddoctor.probes.base import Outcome, ProbeContext, fail, fix, ok, skip, warn
from ddoctor.wheels import best_wheel_for_driver, driver_needed, parse_cuda, pip_install_torch

NVIDIA_CONTAINER_DOCS = "https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/"


def _nvml(ctx: ProbeContext) -> NvmlFacts | None:
    nv = ctx.host.nvml()
    return nv if isinstance(nv, NvmlFacts) else None


def check_driver(ctx: ProbeContext) -> Outcome:
    nv = ctx.host.nvml()
    if isinstance(nv, ProbeFailure):
        return fail(f"NVML did not answer: {nv.reason}; the NVIDIA driver may be wedged",
                    fix("Look for Xid errors, then reset the GPU or reboot the node.",
                        "sudo dmesg | grep -i xid | tail", "sudo nvidia-smi -r"))
    if not nv.available:
        err = nv.error or "unknown error"
        if "LibraryNotFound" in err or "ImportError" in err:
            if not nv.device_nodes:
                return skip("no NVIDIA driver on this host (NVML library not found)")
            return fail(f"/dev/nvidia* exists but NVML cannot be loaded ({err})", fix(
                "Install the NVIDIA user-space driver libraries; in a container, run it with the NVIDIA "
                "container toolkit.", "docker run --gpus all ...", links=(NVIDIA_CONTAINER_DOCS,)))
        if "NoPermission" in err:
            return fail(f"NVML refused access: {err}", fix(
                "Give this user access to the GPU device nodes (group video/render) or run in a "
                "container started with --gpus.", "ls -l /dev/nvidia*", "sudo usermod -aG video $USER"))
        return fail(f"NVML failed to initialise: {err}", fix(
            "Load the NVIDIA kernel module or reinstall the driver, then check with nvidia-smi.",
            "sudo modprobe nvidia", "nvidia-smi"))
    ev = {"driver": nv.driver_version, "driver_cuda": nv.cuda_driver_version_str, "gpus": len(nv.gpus)}
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
    drv, built = parse_cuda(nv.cuda_driver_version_str), parse_cuda(t.cuda)
    ev = {"driver_cuda": nv.cuda_driver_version_str, "torch_cuda": t.cuda, "driver": nv.driver_version}
    py = ctx.host.platform().python_executable
    target = best_wheel_for_driver(drv)
    cmds = []
    need = driver_needed(built)
    if need:
        cmds.append(f"sudo apt install nvidia-driver-{need.split('.')[0]}  # any driver >= {need}; "
                    "use your distribution's package")
    if target:
        cmds.append(pip_install_torch(py, target, t.version))
    remedy = fix(f"Upgrade the NVIDIA driver to one that supports CUDA {t.cuda}"
                 + (f", or install the torch build for the driver's CUDA {nv.cuda_driver_version_str}." if target
                    else "; no current torch wheel supports a driver this old."), *cmds)
    if drv is None or built is None:
        return skip("could not parse the CUDA versions")
    if drv[0] < built[0]:
        return fail(f"driver {nv.driver_version} supports CUDA {nv.cuda_driver_version_str} but torch was "
                    f"built for CUDA {t.cuda}: CUDA init fails with 'The NVIDIA driver on your system is "
                    "too old'", remedy, evidence=ev)
    if drv < built:
        return warn(f"driver supports CUDA {nv.cuda_driver_version_str}, older than torch's CUDA {t.cuda}: it "
                    "runs under minor-version compatibility, but kernels that need PTX JIT fail", remedy,
                    evidence=ev)
    return ok(f"driver CUDA {nv.cuda_driver_version_str} ≥ torch CUDA {t.cuda}", evidence=ev)


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


def driver_older_than_torch(ctx: ProbeContext) -> bool:
    """The driver's CUDA major is below torch's: CUDA cannot initialise at all (cuda.compat reports it)."""
    t, nv = ctx.host.torch(), _nvml(ctx)
    drv = parse_cuda(nv.cuda_driver_version_str) if nv and nv.available else None
    built = parse_cuda(t.cuda)
    return bool(drv and built and drv[0] < built[0])


def check_arch(ctx: ProbeContext) -> Outcome:
    t = ctx.host.torch()
    if not t.cuda:
        return skip("torch is not a CUDA build")
    if not t.arch_list:
        return skip("torch's arch list is unknown (import failed or not attempted)")
    rt = ctx.host.torch_runtime()
    nv = _nvml(ctx)
    caps: list[tuple[int, str, tuple[int, int]]] = []
    if rt and rt.devices:
        caps = [(d.index, d.name, d.capability) for d in rt.devices]
    elif nv and nv.gpus:
        caps = [(g.index, g.name, g.capability) for g in nv.gpus if g.capability]
    if not caps:
        return skip("no GPU to compare with")
    bad = [(i, n, c) for i, n, c in caps if not arch_supported(c, t.arch_list)]
    ev = {"arch_list": " ".join(t.arch_list), "capabilities": " ".join(sorted({f"sm_{c[0]}{c[1]}" for *_, c in caps}))}
    if bad:
        i, name, cap = bad[0]
        py = ctx.host.platform().python_executable
        drv = parse_cuda(nv.cuda_driver_version_str) if nv else None
        target = best_wheel_for_driver(drv) or (12, 8)
        return fail(f"{name} (GPU {i}) is sm_{cap[0]}{cap[1]}, which torch {t.version} was not compiled for "
                    f"({' '.join(t.arch_list)}): kernels fail with 'no kernel image is available'",
                    fix("Install a torch build that includes this architecture (a newer release, or nightly "
                        "for brand-new GPUs).", pip_install_torch(py, target),
                        f"{py} -m pip install --pre --force-reinstall torch --index-url "
                        f"https://download.pytorch.org/whl/nightly/cu{target[0]}{target[1]}"),
                    evidence=ev, affects=tuple(f"GPU {b[0]}" for b in bad))
    return ok(f"every GPU architecture ({ev['capabilities']}) is in torch's arch list", evidence=ev)


def parse_visible_devices(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def check_visible(ctx: ProbeContext) -> Outcome:
    nv = _nvml(ctx)
    gpus = nv.gpus if nv else ()
    cvd = ctx.env.get("CUDA_VISIBLE_DEVICES")
    rt = ctx.host.torch_runtime()
    if not gpus and cvd is None:
        return skip("no NVIDIA GPU and CUDA_VISIBLE_DEVICES unset")
    ev = {"CUDA_VISIBLE_DEVICES": cvd, "nvml_gpus": len(gpus),
          "torch_device_count": rt.device_count if rt else None}
    visible = len(gpus)
    if cvd is not None:
        items = parse_visible_devices(cvd)
        if not items or items[0] in ("-1", "NoDevFiles", "none"):
            if gpus:
                return fail(f"CUDA_VISIBLE_DEVICES={cvd!r} hides all {len(gpus)} GPU(s): torch reports "
                            "'No CUDA GPUs are available'",
                            fix("Unset it, or list the GPUs this job should use.", "unset CUDA_VISIBLE_DEVICES",
                                f"export CUDA_VISIBLE_DEVICES={','.join(str(g.index) for g in gpus)}"),
                            evidence=ev)
            return skip("CUDA_VISIBLE_DEVICES hides all devices and there are none")
        uuids = {g.uuid for g in gpus}
        count = 0
        for item in items:
            if item.isdigit():
                if int(item) >= len(gpus):
                    break  # CUDA stops enumerating at the first invalid entry
            elif not any(u.startswith(item) for u in uuids):
                break
            count += 1
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
    if driver_older_than_torch(ctx):
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
                "or reboot.", "sudo dmesg | grep -i xid | tail", "nvidia-smi"))
        return skip("no GPU to initialise")
    if not rt.cuda_available:
        if driver_older_than_torch(ctx):
            return skip("the driver is too old for this torch build (see 'driver vs torch CUDA')")
        if nv and nv.gpus and ctx.host.torch().cuda:
            return fail("torch.cuda.is_available() is False although NVML lists GPUs", fix(
                "Check CUDA_VISIBLE_DEVICES and the driver/torch CUDA versions (see the checks above).",
                "nvidia-smi", "python -c 'import torch; torch.cuda.init()'"))
        return skip("CUDA not available to torch")
    bad = [(i, d) for i, okay, d in rt.cuda_init if not okay]
    ev = {f"gpu{i}": d for i, _, d in rt.cuda_init}
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
