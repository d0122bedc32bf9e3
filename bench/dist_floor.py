"""The bare floor for a 2-rank job (research/perf-baselines.md §3): two plain processes that import
torch, init Gloo over env:// on 127.0.0.1, all_reduce (checked), barrier, destroy, exit.
Usage: python bench/dist_floor.py [N]        (launcher)   |   python bench/dist_floor.py worker
"""

import os
import socket
import subprocess
import sys


def worker() -> None:
    import torch
    import torch.distributed as dist

    dist.init_process_group("gloo")
    t = torch.ones(4)
    dist.all_reduce(t)
    assert torch.equal(t, torch.full((4,), float(dist.get_world_size())))
    dist.barrier()
    dist.destroy_process_group()


def launch(n: int) -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = []
    for r in range(n):
        env = {**os.environ, "RANK": str(r), "WORLD_SIZE": str(n), "MASTER_ADDR": "127.0.0.1",
               "MASTER_PORT": str(port), "OMP_NUM_THREADS": "1"}
        procs.append(subprocess.Popen([sys.executable, __file__, "worker"], env=env))
    return max(p.wait(timeout=120) for p in procs)


if __name__ == "__main__":
    if sys.argv[1:] == ["worker"]:
        worker()
    else:
        sys.exit(launch(int(sys.argv[1]) if len(sys.argv) > 1 else 2))
