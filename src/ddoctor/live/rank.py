"""One rank of the live check: device placement, verified collectives, an all_reduce bandwidth sweep.

Speaks `ranks.protocol`: an event per phase (the collective it is entering) so the launcher can name
a rank that never arrived; rank 0 writes the result document (`live.result`).
Usage: python -m ddoctor.live.rank --result FILE --backend gloo --device cpu [--max-bytes N]
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import sys
import time
from pathlib import Path

from ddoctor.live.result import Absent, LiveResult, Placement, SweepPoint
from ddoctor.ranks.protocol import emit, env_ranks, inject_fault, watch_parent, write_document


def timed(fn, device) -> float:
    import torch

    t = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - t


ABSENT = re.compile(r"Ranks? ([\d, ]+) failed to pass monitoredBarrier")


def monitored_barrier(a, rank: int, world: int) -> None:
    """Gloo's monitored_barrier(wait_all_ranks=True) before any collective: rank 0 learns every rank
    that never arrives and says so (a plain barrier would hang on the first one, naming no one)."""
    import torch.distributed as dist

    group = None if a.backend == "gloo" else dist.new_group(backend="gloo")  # every rank, before any can stall
    inject_fault(a.fault, rank, "monitored_barrier")
    emit("phase", rank=rank, phase="monitored_barrier")
    wait = datetime.timedelta(seconds=max(2.0, a.timeout * 0.5))
    try:
        dist.monitored_barrier(group=group, timeout=wait, wait_all_ranks=True)
    except RuntimeError as exc:
        m = ABSENT.search(str(exc))
        if rank == 0 and m and a.absent:
            ranks = tuple(int(x) for x in m.group(1).replace(" ", "").split(",") if x)
            write_document(a.absent, Absent(ranks=ranks, timeout_s=wait.total_seconds(), message=str(exc)[:500]))
            sys.stdout.flush()
            os._exit(1)
        raise


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m ddoctor.live.rank")
    ap.add_argument("--result", type=Path, required=True)
    ap.add_argument("--backend", default="gloo")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--max-bytes", type=int, default=64 << 20)
    ap.add_argument("--fault")
    ap.add_argument("--absent", type=Path, help="where rank 0 reports the ranks absent from the monitored barrier")
    a = ap.parse_args()
    watch_parent()
    rank, world, local_rank = env_ranks()
    emit("start", rank=rank, world=world, pid=os.getpid())
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    device = torch.device(a.device if a.device != "cuda" else f"cuda:{local_rank}")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    emit("phase", rank=rank, phase="rendezvous")
    store = os.environ.get("DDOCTOR_STORE_FILE")
    kw = {"init_method": f"file://{store}", "rank": rank, "world_size": world} if store else {}
    dist.init_process_group(a.backend, timeout=datetime.timedelta(seconds=a.timeout), **kw)
    placement = Placement(rank=rank, local_rank=local_rank, device=str(device),
                          current_device=torch.cuda.current_device() if device.type == "cuda" else None)
    monitored_barrier(a, rank, world)
    checks, wrong = {}, []
    inject_fault(a.fault, rank, "all_reduce")
    emit("phase", rank=rank, phase="all_reduce")
    t = torch.full((4,), float(rank + 1), device=device)
    checks["all_reduce"] = timed(lambda: dist.all_reduce(t), device)
    if not torch.equal(t.cpu(), torch.full((4,), float(world * (world + 1) / 2))):
        wrong.append("all_reduce")
    emit("phase", rank=rank, phase="broadcast")
    b = torch.full((4,), 42.0 if rank == 0 else -1.0, device=device)
    checks["broadcast"] = timed(lambda: dist.broadcast(b, src=0), device)
    if not torch.equal(b.cpu(), torch.full((4,), 42.0)):
        wrong.append("broadcast")
    emit("phase", rank=rank, phase="all_gather")
    parts = [torch.empty(1, device=device) for _ in range(world)]
    checks["all_gather"] = timed(lambda: dist.all_gather(parts, torch.tensor([float(rank)], device=device)), device)
    if [int(p.item()) for p in parts] != list(range(world)):
        wrong.append("all_gather")
    emit("phase", rank=rank, phase="barrier")
    checks["barrier"] = timed(dist.barrier, device)
    emit("phase", rank=rank, phase="bandwidth")
    sweep = []
    size = 1024
    while size <= a.max_bytes:
        n = size // 4
        x = torch.ones(n, device=device)
        for _ in range(2):
            dist.all_reduce(x)
        # The same iteration count on every rank (a time-based count would issue mismatched collectives).
        iters, elapsed = max(3, min(50, (16 << 20) // size)), 0.0
        for _ in range(iters):
            x.fill_(1.0)
            elapsed += timed(lambda x=x: dist.all_reduce(x), device)
        bad = int((x != world).sum().item())
        tt = torch.tensor([elapsed / iters], device=device)
        dist.all_reduce(tt)  # average over ranks, as nccl-tests reports
        avg = tt.item() / world
        algbw = size / avg / 1e9
        sweep.append(SweepPoint(bytes=size, time_us=avg * 1e6, algbw_GBs=algbw,
                                busbw_GBs=algbw * 2 * (world - 1) / world, wrong=bad))
        size *= 4
    memory = [None] * world
    dist.all_gather_object(memory, placement)
    wrongs = [None] * world
    dist.all_gather_object(wrongs, wrong)
    emit("phase", rank=rank, phase="verify")
    dist.barrier()
    dist.destroy_process_group()
    if rank == 0:
        write_document(a.result, LiveResult(world_size=world, backend=a.backend, placement=tuple(memory),
                                            collectives_s=checks, wrong=tuple(tuple(w) for w in wrongs),
                                            sweep=tuple(sweep)))
    emit("done", rank=rank)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
