"""The rank side of `ddoctor check --cluster`: send this rank's fingerprint through the job's store and
learn the verdict. Runs as a child of ddoctor (so only rank processes import torch); reads this rank's
fingerprint from the file argv[1] and writes what it learnt to the file argv[2].

No process group: a collective needs every rank, so one rank that never starts would hang the
others until the timeout and then say nothing about who was missing. Instead each rank puts its
fingerprint into the c10d store (torchrun's agent store, or one rank 0 serves), rank 0 collects
until all arrived or the deadline (DDOCTOR_DEADLINE, epoch seconds) comes, and publishes a verdict
that names the ranks that never reported; every rank exits with it, so torchrun's agents agree.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import sys
import time

from ddoctor.live.grouping import summarize
from ddoctor.model.fingerprint import Fingerprint
from ddoctor.ranks.plan import on_one_host
from ddoctor.ranks.protocol import emit, env_ranks, watch_parent

POLL_S = 0.05


def open_store(rank: int, world: int, timeout: float):
    """(store, a socket to keep open or None). torchrun's agent hosts a store every worker joins;
    launched srun-style, rank 0 serves one (on loopback when every rank is on this host, where
    TCPStore alone would bind every interface) and does not wait for the others to connect."""
    import torch.distributed as dist

    env = os.environ
    addr, port = env.get("MASTER_ADDR", "127.0.0.1"), int(env["MASTER_PORT"])
    wait = datetime.timedelta(seconds=max(1.0, timeout))
    if env.get("TORCHELASTIC_USE_AGENT_STORE") == "True" or rank != 0:
        return dist.TCPStore(addr, port, world, False, wait), None
    if not on_one_host(env):
        return dist.TCPStore(addr, port, world, True, wait, wait_for_workers=False), None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(max(128, world))
    return dist.TCPStore("127.0.0.1", port, world, True, wait, wait_for_workers=False,
                         master_listen_fd=sock.fileno()), sock


def collect(store, world: int, until: float) -> list[dict]:
    """Rank 0: every fingerprint that arrived before `until` (epoch seconds)."""
    while store.add("arrived", 0) < world and time.time() < until:
        time.sleep(POLL_S)
    return [json.loads(store.get(f"fp/{r}")) for r in range(world) if store.check([f"fp/{r}"])]


def main() -> int:
    watch_parent()
    rank, world, _ = env_ranks()
    emit("start", rank=rank, world=world, pid=os.getpid())
    with open(sys.argv[1]) as f:
        mine = json.load(f)
    mine["arrived_at"] = time.time()
    deadline = float(os.environ.get("DDOCTOR_DEADLINE", time.time() + 60))
    # Time for rank 0 to hand out the verdict and for the others to read it before the deadline.
    grace = min(5.0, 0.2 * max(0.0, deadline - time.time()))
    import torch.distributed as dist

    emit("phase", rank=rank, phase="rendezvous")
    where = f"{os.environ.get('MASTER_ADDR', '127.0.0.1')}:{os.environ.get('MASTER_PORT')}"
    try:
        base, _sock = open_store(rank, world, deadline - time.time())
    except (RuntimeError, OSError) as exc:  # c10d raises DistStoreError (a RuntimeError) on timeouts
        print(f"rank {rank} could not reach the job's store at {where} before the deadline: {exc}", flush=True)
        return 3
    store = dist.PrefixStore(f"ddoctor-cluster/{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}", base)
    emit("phase", rank=rank, phase="gather")
    store.set(f"fp/{rank}", json.dumps(mine))
    store.add("arrived", 1)
    if rank == 0:
        fps = collect(store, world, deadline - grace)
        summary = summarize([Fingerprint.from_dict(fp) for fp in fps], world_size=world)
        verdict = {"world_size": world, "missing": list(summary.missing), "problems": summary.problems}
        store.set("verdict", json.dumps(verdict))
        result = {**verdict, "ranks": fps}
        # A store rank 0 serves goes when it exits: stay until the ranks that reported have read the verdict.
        while store.add("read", 0) < len(fps) - 1 and time.time() < deadline:
            time.sleep(POLL_S)
    else:
        try:
            store.wait(["verdict"], datetime.timedelta(seconds=max(0.1, deadline - time.time())))
            result = json.loads(store.get("verdict"))
        except RuntimeError:
            print(f"rank {rank}: rank 0 published no verdict before the deadline (it never reached the store "
                  f"at {where}, or it died)", flush=True)
            return 3
        store.add("read", 1)
    with open(sys.argv[2], "w") as f:
        json.dump(result, f)
    emit("done", rank=rank)
    return 0


if __name__ == "__main__":
    sys.exit(main())
