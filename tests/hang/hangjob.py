"""A small Gloo job that hangs in a chosen way, for the hang tests (run as a rank: RANK, WORLD_SIZE,
MASTER_ADDR=127.0.0.1, MASTER_PORT set by torchrun or by the test).

  skip      rank 1 never reaches the all_reduce the others wait in (it sits in `load_batch`)
  mismatch  rank 1 calls all_gather where the others call all_reduce
  preinit   rank 1 is stuck before init_process_group (the others wait in the rendezvous)
  killed    rank 1 SIGKILLs itself before init_process_group (the others wait in the rendezvous)

Each rank prints `rank N at PLACE` just before it blocks, so a test knows when to look; until then it
prints a line a second (importing torch can take many seconds on a loaded machine, and a job that
prints is not hung: `--hang-timeout` counts from the moment it blocks).
"""

import datetime
import os
import sys
import threading
import time

MODE = sys.argv[1]
RANK = int(os.environ["RANK"])
WORLD = int(os.environ["WORLD_SIZE"])
STALL_S = float(os.environ.get("HANGJOB_STALL_S", "60"))


BLOCKED = threading.Event()


def heartbeat():
    start = time.monotonic()
    while not BLOCKED.wait(1.0):
        print(f"rank {RANK} starting ({time.monotonic() - start:.0f} s)", flush=True)


def at(place):
    BLOCKED.set()
    print(f"rank {RANK} at {place}", flush=True)


def load_batch():
    at("load_batch")
    time.sleep(STALL_S)  # the rank that is behind: stuck in its own code


def main():
    threading.Thread(target=heartbeat, daemon=True).start()
    import torch
    import torch.distributed as dist

    if RANK == 1 and MODE == "preinit":
        load_batch()
    if RANK == 1 and MODE == "killed":
        at("SIGKILL")
        os.kill(os.getpid(), 9)
    if MODE in ("preinit", "killed"):
        at("init_process_group")
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=STALL_S))
    t = torch.ones(4)
    if RANK == 1 and MODE == "skip":
        load_batch()
    elif RANK == 1 and MODE == "mismatch":
        out = [torch.zeros(4) for _ in range(WORLD)]
        at("all_gather")
        dist.all_gather(out, t)
    else:
        at("all_reduce")
        dist.all_reduce(t)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
