"""The rank side of `ddoctor check --cluster`: join the job's process group and gather every rank's
fingerprint. Runs as a child of ddoctor (so only rank processes import torch); reads this rank's
fingerprint from the file argv[1] and writes the gathered list to the file argv[2].
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import sys
import time

from ddoctor.ranks.plan import on_one_host
from ddoctor.ranks.protocol import emit, env_ranks, watch_parent


def loopback_store(rank: int, world: int, timeout: datetime.timedelta):
    """Launched srun-style (no torchrun agent hosting the store) with every rank on this host: rank
    0 serves the store on a socket bound to loopback, where TCPStore alone would bind every
    interface. Returns (store, the socket it serves on, to keep open), or None where the default
    env:// rendezvous applies."""
    import torch.distributed as dist

    env = os.environ
    if env.get("TORCHELASTIC_USE_AGENT_STORE") == "True" or not on_one_host(env) or "MASTER_PORT" not in env:
        return None
    port = int(env["MASTER_PORT"])
    if rank != 0:
        return dist.TCPStore("127.0.0.1", port, world, False, timeout), None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(max(128, world))
    store = dist.TCPStore("127.0.0.1", port, world, True, timeout, wait_for_workers=False,
                          master_listen_fd=sock.fileno())
    return store, sock


def main() -> int:
    watch_parent()
    rank, world, _ = env_ranks()
    emit("start", rank=rank, world=world, pid=os.getpid())
    with open(sys.argv[1]) as f:
        mine = json.load(f)
    import torch.distributed as dist

    started = time.time()
    emit("phase", rank=rank, phase="rendezvous")
    timeout = datetime.timedelta(seconds=float(os.environ.get("DDOCTOR_TIMEOUT", 60)))
    served = loopback_store(rank, world, timeout)
    if served is not None:
        dist.init_process_group("gloo", store=served[0], rank=rank, world_size=world, timeout=timeout)
    else:
        dist.init_process_group("gloo", timeout=timeout)
    mine["arrived_at"] = started
    gathered = [None] * dist.get_world_size()
    emit("phase", rank=rank, phase="gather")
    dist.all_gather_object(gathered, mine)
    # Every rank keeps the full list: all of them reach the same verdict and exit code, so torchrun's
    # agents fail (or succeed) together instead of one waiting out the exit barrier.
    with open(sys.argv[2], "w") as f:
        json.dump(gathered, f)
    dist.barrier()
    dist.destroy_process_group()
    emit("done", rank=rank)
    return 0


if __name__ == "__main__":
    sys.exit(main())
