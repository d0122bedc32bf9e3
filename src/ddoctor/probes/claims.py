"""The facts verdicts rely on, each named once and computed once from the host.

A finding records every fact its verdict relies on in its evidence under the names below, so that
no two findings of one report can rest on different answers to the same question: the tests check
the recorded facts against each other and against the rules in RULES over every simulated host and
the real one (tests/probes/test_invariants.py). A probe that needs one of these facts asks this
module instead of working it out itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from ddoctor.host.facts import NvmlFacts, ProbeFailure
from ddoctor.probes.base import ProbeContext

FACTS: dict[str, str] = {
    "nvidia_gpus": "GPUs NVML lists on this host (0 without a driver)",
    "usable_gpus": "GPUs a CUDA job can use now (0 when CUDA is not usable)",
    "torch_build": "the kind of torch installed: cuda, rocm, cpu or absent",
    "torch_cuda": "the CUDA version torch was built for (None unless a CUDA build)",
    "nccl_available": "NCCL is compiled into torch (None: unknown without an import)",
    "driver_cuda": "the newest CUDA the NVIDIA driver supports (None without a driver)",
    "torch_fits_host": "the torch build suits the hardware: a CUDA build where NVIDIA GPUs exist",
    "cuda_usable": "a CUDA job can run here now",
    "backend": "the torch.distributed backend a job should use here now",
    "port_used": "a launch from this host binds the rendezvous port that was checked",
}


def nvml(ctx: ProbeContext) -> NvmlFacts | None:
    nv = ctx.host.nvml()
    return nv if isinstance(nv, NvmlFacts) else None


def nvidia_gpus(ctx: ProbeContext) -> int:
    nv = nvml(ctx)
    return len(nv.gpus) if nv else 0


def torch_build(ctx: ProbeContext) -> str:
    t = ctx.host.torch()
    if not t.installed:
        return "absent"
    return "cuda" if t.cuda else "rocm" if t.hip else "cpu"


def torch_fits_host(ctx: ProbeContext) -> bool | None:
    build = torch_build(ctx)
    if build == "absent":
        return None
    return not (nvidia_gpus(ctx) and build != "cuda")


def parse_visible_devices(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def hides_all(cvd: str | None) -> bool:
    if cvd is None:
        return False
    items = parse_visible_devices(cvd)
    return not items or items[0] in ("-1", "NoDevFiles", "none")


def visible_gpus(ctx: ProbeContext) -> int:
    """GPUs CUDA enumerates under CUDA_VISIBLE_DEVICES: it stops at the first entry that names no GPU."""
    nv = nvml(ctx)
    gpus = nv.gpus if nv else ()
    cvd = ctx.env.get("CUDA_VISIBLE_DEVICES")
    if cvd is None:
        return len(gpus)
    if hides_all(cvd):
        return 0
    uuids = {g.uuid for g in gpus}
    count = 0
    for item in parse_visible_devices(cvd):
        if item.isdigit():
            if int(item) >= len(gpus):
                break
        elif not any(u.startswith(item) for u in uuids):
            break
        count += 1
    return count


def driver_runs_torch(ctx: ProbeContext) -> str | None:
    """How the driver runs torch's CUDA build ("full", "minor-compat"), or None when it cannot."""
    from ddoctor.wheels import driver_support, parse_cuda  # the wheel table loads only for CUDA builds

    t, nv = ctx.host.torch(), nvml(ctx)
    built = parse_cuda(t.cuda)
    if built is None or nv is None or not nv.available:
        return None
    return driver_support(built, driver_cuda=parse_cuda(nv.cuda_driver_version_str), driver_version=nv.driver_version)


def driver_too_old(ctx: ProbeContext) -> bool:
    """A CUDA build and a driver that cannot run it (CUDA init fails with 'driver too old')."""
    nv = nvml(ctx)
    return bool(ctx.host.torch().cuda and nv and nv.available and nv.cuda_driver_version is not None
                and driver_runs_torch(ctx) is None)


def cuda_blocker(ctx: ProbeContext) -> str | None:
    """The first fact that keeps a CUDA job from running here, in words; None when CUDA is usable."""
    t = ctx.host.torch()
    if not t.installed:
        return "torch is not installed"
    if t.import_ok is False:
        return "`import torch` fails"
    if not t.cuda:
        return f"torch {t.version} is a {'ROCm' if t.hip else 'CPU'} build"
    nv_raw = ctx.host.nvml()
    if isinstance(nv_raw, ProbeFailure):
        return f"NVML did not answer ({nv_raw.reason})"
    if not nv_raw.available:
        return f"no usable NVIDIA driver ({nv_raw.error or 'NVML failed'})"
    if not nv_raw.gpus:
        return "NVML lists no GPU"
    if driver_too_old(ctx):
        return (f"driver {nv_raw.driver_version} supports CUDA {nv_raw.cuda_driver_version_str} but torch {t.version} "
                f"needs CUDA {t.cuda}")
    cvd = ctx.env.get("CUDA_VISIBLE_DEVICES")
    if hides_all(cvd):
        return f"CUDA_VISIBLE_DEVICES={cvd!r} hides every GPU"
    if visible_gpus(ctx) == 0:
        return f"CUDA_VISIBLE_DEVICES={cvd!r} names no existing GPU first"
    rt = ctx.host.torch_runtime()
    if rt is None and ctx.host.torch_failure() is not None:
        return f"the torch runtime query did not finish ({ctx.host.torch_failure().reason})"
    if rt is not None:
        if not rt.cuda_available:
            return "torch.cuda.is_available() is False"
        bad = [i for i, ok, _ in rt.cuda_init if not ok]
        if bad:
            return f"creating a CUDA context on GPU {bad[0]} failed"
    return None


def cuda_usable(ctx: ProbeContext) -> bool:
    return cuda_blocker(ctx) is None


def usable_gpus(ctx: ProbeContext) -> int:
    if not cuda_usable(ctx):
        return 0
    rt = ctx.host.torch_runtime()
    if rt is not None and rt.device_count is not None:
        return rt.device_count
    return visible_gpus(ctx)


def backend(ctx: ProbeContext) -> tuple[str, str]:
    """(backend, device) a job here should use now: NCCL only where CUDA works and NCCL is built in."""
    t = ctx.host.torch()
    if cuda_usable(ctx) and t.nccl_available is not False:
        return "nccl", "cuda"
    rt = ctx.host.torch_runtime()
    if rt and rt.mps_available:
        return "gloo", "mps"
    return "gloo", "cpu"


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def max_nodes(spec: str | None) -> int | None:
    """torchrun's --nnodes form: `2` or `1:4` (elastic range)."""
    if not spec:
        return None
    parts = spec.split(":")
    return _int(parts[-1])


def multi_node(ctx: ProbeContext) -> str | None:
    """Why the environment says the job spans several nodes (None: nothing says so)."""
    env = ctx.env
    world, local = _int(env.get("WORLD_SIZE")), _int(env.get("LOCAL_WORLD_SIZE"))
    if world is not None and local is not None and world > local:
        return f"WORLD_SIZE={world} > LOCAL_WORLD_SIZE={local}"
    for key in ("SLURM_JOB_NUM_NODES", "SLURM_NNODES"):
        n = _int(env.get(key))
        if n is not None and n > 1:
            return f"{key}={n}"
    n = max_nodes(env.get("PET_NNODES"))
    if n is not None and n > 1:
        return f"PET_NNODES={env['PET_NNODES']}"
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class PortUse:
    used: bool
    why: str


def port_used(ctx: ProbeContext) -> PortUse:
    """Whether a launch from here binds the checked port: an explicit MASTER_PORT, a multi-node job, or a
    torchrun that binds its default; current torchrun picks a free port itself on one node."""
    env = ctx.env
    if "MASTER_PORT" in env:
        return PortUse(used=True, why="MASTER_PORT is set: env:// scripts and mp.spawn bind it")
    if "PET_MASTER_PORT" in env:
        return PortUse(used=True, why="PET_MASTER_PORT is set: torchrun binds it")
    nodes = multi_node(ctx)
    if nodes:
        return PortUse(used=True, why=f"a multi-node job ({nodes}): torchrun's rendezvous binds --master_port, "
                                      "29500 by default")
    t = ctx.host.torch()
    if t.torchrun_free_port:
        return PortUse(used=False, why=f"single-node torchrun picks a free port itself (torch {t.version})")
    if t.torchrun_free_port is False:
        return PortUse(used=True, why=f"torchrun of torch {t.version} binds 29500 unless --master_port is given")
    return PortUse(used=True, why="torchrun binds 29500 unless --master_port is given")


def claims(ctx: ProbeContext, *names: str) -> dict[str, object]:
    """The named facts, for a finding's evidence."""
    makers = {
        "nvidia_gpus": nvidia_gpus, "usable_gpus": usable_gpus, "torch_build": torch_build,
        "torch_cuda": lambda c: c.host.torch().cuda, "nccl_available": lambda c: c.host.torch().nccl_available,
        "driver_cuda": lambda c: (nv.cuda_driver_version_str if (nv := nvml(c)) and nv.available else None),
        "torch_fits_host": torch_fits_host, "cuda_usable": cuda_usable, "backend": lambda c: backend(c)[0],
        "port_used": lambda c: port_used(c).used,
    }
    unknown = [n for n in names if n not in FACTS]
    if unknown:
        raise KeyError(f"not in the facts table: {', '.join(unknown)}")
    return {n: makers[n](ctx) for n in names}
