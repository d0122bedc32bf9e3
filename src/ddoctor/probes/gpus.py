"""GPU health and occupancy from NVML: memory errors, stale processes, modes that block ranks."""

from __future__ import annotations

from ddoctor.probes.base import Outcome, ProbeContext, fail, fix, human_bytes, ok, skip, warn


def _gpus(ctx: ProbeContext):
    return ctx.host.gpus()


def check_health(ctx: ProbeContext) -> Outcome:
    gpus = _gpus(ctx)
    if not gpus:
        return skip("no NVIDIA GPU")
    problems, affects = [], []
    for g in gpus:
        own = []
        if g.ecc_uncorrected_volatile:
            own.append(f"GPU {g.index} has {g.ecc_uncorrected_volatile} uncorrected ECC error(s) since boot")
        if g.retired_pages_pending:
            own.append(f"GPU {g.index} has page retirement pending (needs a reset)")
        if g.remapped_rows_failure:
            own.append(f"GPU {g.index} failed to remap a memory row")
        elif g.remapped_rows_pending:
            own.append(f"GPU {g.index} has row remapping pending (needs a reset)")
        if own:
            problems.extend(own)
            affects.append(f"GPU {g.index}")
    if problems:
        bad = ",".join(a.split()[-1] for a in affects)
        good = ",".join(str(g.index) for g in gpus if f"GPU {g.index}" not in affects)
        cmds = [f"sudo nvidia-smi -r -i {a.split()[-1]}" for a in affects]
        if good:
            cmds.append(f"export CUDA_VISIBLE_DEVICES={good}  # run without GPU(s) {bad} until repaired")
        return fail("; ".join(problems), fix(
            "Drain the node or exclude the GPU, reset it, and replace it if errors return.", *cmds),
            affects=tuple(affects))
    return ok(f"no uncorrected ECC errors or pending retirements on {len(gpus)} GPU(s)")


def check_occupancy(ctx: ProbeContext) -> Outcome:
    gpus = _gpus(ctx)
    if not gpus:
        return skip("no NVIDIA GPU")
    issues, cmds, affects = [], [], []
    for g in gpus:
        if g.processes:
            held = sum(p.used_memory or 0 for p in g.processes)
            who = ", ".join(f"pid {p.pid}" + (f" ({p.name})" if p.name else "") for p in g.processes[:4])
            issues.append(f"GPU {g.index}: {len(g.processes)} process(es) hold {human_bytes(held)} ({who})")
            cmds.extend(f"kill {p.pid}" for p in g.processes[:4])
            affects.append(f"GPU {g.index}")
        if g.compute_mode in ("EXCLUSIVE_PROCESS", "EXCLUSIVE_THREAD", "PROHIBITED"):
            issues.append(f"GPU {g.index} compute mode is {g.compute_mode}")
            cmds.append(f"sudo nvidia-smi -i {g.index} -c DEFAULT")
            affects.append(f"GPU {g.index}")
        if g.mig_enabled:
            issues.append(f"GPU {g.index} has MIG enabled: ranks see MIG slices, not the whole GPU")
            cmds.append(f"sudo nvidia-smi -i {g.index} -mig 0")
            affects.append(f"GPU {g.index}")
    if issues:
        blocked = any("PROHIBITED" in i for i in issues)
        make = fail if blocked else warn
        return make("; ".join(issues), fix(
            "Stop leftover processes and reset modes that keep ranks off the GPUs.", *dict.fromkeys(cmds)),
            affects=tuple(dict.fromkeys(affects)))
    used = max((g.memory_used for g in gpus), default=0)
    return ok(f"no processes on the GPUs; at most {human_bytes(used)} in use on any GPU")
