"""Host resources that distributed jobs exhaust: /dev/shm, RAM, file and memlock limits, cores."""

from __future__ import annotations

from ddoctor.probes.base import Outcome, ProbeContext, fail, fix, gib, human_bytes, ok, skip, warn

SHM_MIN = 1 << 30  # NCCL and DataLoader workers both live in /dev/shm; docker's default is 64 MiB
SHM_FLOOR = 256 << 20


def check_shm(ctx: ProbeContext) -> Outcome:
    if ctx.host.platform().system != "Linux":
        return skip("/dev/shm is Linux-only")
    d = ctx.host.disk("/dev/shm")
    ranks = ctx.local_ranks()
    fixes = fix("Give the container more shared memory.", "docker run --shm-size=8g ...  # or --ipc=host",
                "kubernetes: mount an emptyDir with medium: Memory at /dev/shm",
                "sudo mount -o remount,size=8G /dev/shm  # bare metal")
    if d is None:
        return fail("/dev/shm does not exist: NCCL and DataLoader workers cannot share memory", fixes)
    ev = {"total": d.total, "free": d.free, "local_ranks": ranks}
    if d.total < SHM_FLOOR:
        return fail(f"/dev/shm is {human_bytes(d.total)}: NCCL fails with 'unhandled system error' and DataLoader "
                    "workers die with 'Bus error'", fixes, evidence=ev)
    need = max(SHM_MIN, ranks * SHM_FLOOR)  # each rank's DataLoader workers and NCCL buffers share it
    if d.total < need:
        return warn(f"/dev/shm is {human_bytes(d.total)}; {ranks} local rank(s) want at least {human_bytes(need)}",
                    fixes, evidence={**ev, "recommended": need})
    if d.free < SHM_FLOOR:
        return warn(f"/dev/shm has only {human_bytes(d.free)} free of {human_bytes(d.total)}: stale segments "
                    "from dead jobs?", fix("Remove leftovers of finished jobs.", "ls -la /dev/shm",
                                          "rm /dev/shm/torch_* /dev/shm/nccl-*  # only when no job runs"),
                    evidence=ev)
    return ok(f"/dev/shm is {human_bytes(d.total)} ({human_bytes(d.free)} free)", evidence=ev)


def check_memory(ctx: ProbeContext) -> Outcome:
    m = ctx.host.memory()
    ranks = ctx.local_ranks()
    ev = {"total": m.total, "available": m.available, "swap": m.swap_total, "local_ranks": ranks}
    # bf16 weights are 2 bytes a parameter; each rank loading its shard without mmap holds it twice briefly.
    params_b = m.available / 2 / 1e9 / 2
    remedy = fix("Free memory, lower ranks per node, or load checkpoints with mmap.",
                 "torch.load(path, map_location='cpu', mmap=True, weights_only=True)",
                 "torchrun --nproc_per_node <fewer> ...")
    if m.available < 1 << 30:
        return fail(f"only {gib(m.available)} of {gib(m.total)} RAM available: ranks will be OOM-killed "
                    "(exitcode -9)", remedy, evidence=ev)
    if m.available < 0.1 * m.total or m.available < 4 << 30:
        return warn(f"{gib(m.available)} of {gib(m.total)} RAM available", remedy, evidence=ev)
    return ok(f"{gib(m.available)} of {gib(m.total)} RAM available (enough to load about {params_b:.0f}B bf16 "
              "parameters once)", evidence=ev)


def check_ulimits(ctx: ProbeContext) -> Outcome:
    lim = ctx.host.limits()
    if lim.nofile_soft is None:
        return skip("resource limits are not available on this platform")
    ib = ctx.host.infiniband_devices()
    ev = {"nofile_soft": lim.nofile_soft, "nofile_hard": lim.nofile_hard, "memlock_soft": lim.memlock_soft,
          "infiniband": ",".join(ib) or None}
    issues, cmds = [], []
    if 0 <= lim.nofile_soft < 4096:
        issues.append(f"open files limit is {lim.nofile_soft}: many ranks and DataLoader workers hit "
                      "'Too many open files'")
        hard = lim.nofile_hard
        cmds.append(f"ulimit -n {65536 if hard is None or hard == -1 or hard >= 65536 else hard}")
    if ib and lim.memlock_soft not in (-1, None):
        issues.append(f"InfiniBand present but locked memory is limited to {human_bytes(lim.memlock_soft)}: "
                      "RDMA memory registration fails")
        cmds.append("ulimit -l unlimited  # containers: --ulimit memlock=-1")
    if issues:
        return warn("; ".join(issues), fix("Raise the limits in the shell or job script that launches ranks.",
                                           *cmds), evidence=ev)
    return ok(f"open files {lim.nofile_soft}, locked memory "
              f"{'unlimited' if lim.memlock_soft == -1 else human_bytes(lim.memlock_soft or 0)}", evidence=ev)


def check_threads(ctx: ProbeContext) -> Outcome:
    p = ctx.host.platform()
    ranks = ctx.local_ranks()
    cores = p.affinity_count
    omp = ctx.env.get("OMP_NUM_THREADS")
    ev = {"cores": cores, "cpu_count": p.cpu_count, "OMP_NUM_THREADS": omp, "local_ranks": ranks}
    per_rank = max(1, cores // max(ranks, 1))
    if omp is None:
        return ok(f"{cores} usable core(s); OMP_NUM_THREADS unset (torchrun sets it to 1 per rank)", evidence=ev,
                  details=(f"for CPU-heavy ranks: export OMP_NUM_THREADS={per_rank}",))
    try:
        n = int(omp)
    except ValueError:
        return warn(f"OMP_NUM_THREADS={omp!r} is not a number", fix("Set a thread count.",
                                                                  f"export OMP_NUM_THREADS={per_rank}"), evidence=ev)
    if n * ranks > cores:
        return warn(f"{ranks} rank(s) × OMP_NUM_THREADS={n} = {n * ranks} threads on {cores} core(s): "
                    "oversubscribed ranks spin and slow each other down",
                    fix("Give each rank its share of the cores.", f"export OMP_NUM_THREADS={per_rank}"), evidence=ev)
    return ok(f"{ranks} rank(s) × {n} thread(s) fit {cores} core(s)", evidence=ev)
