"""A small Gloo job that hangs in a chosen way, for the hang tests (run as a rank: RANK, WORLD_SIZE,
MASTER_ADDR=127.0.0.1, MASTER_PORT set by torchrun or by the test).

  skip      rank 1 never reaches the all_reduce the others wait in (it sits in `load_batch`)
  mismatch  rank 1 calls all_gather where the others call all_reduce
  preinit   rank 1 is stuck before init_process_group (the others wait in the rendezvous)
  killed    rank 1 SIGKILLs itself after init; the others wait in all_reduce
  sigint    every rank reaches the all_reduce except rank 1; KeyboardInterrupt is left to Python
"""

import datetime
import os
import sys
import time

MODE = sys.argv[1]
RANK = int(os.environ["RANK"])
WORLD = int(os.environ["WORLD_SIZE"])
STALL_S = float(os.environ.get("HANGJOB_STALL_S", "60"))


def load_batch():
    time.sleep(STALL_S)  # the rank that is behind: stuck in its own code


def main():
    if MODE == "preinit" and RANK == 1:
        load_batch()
    import torch
    import torch.distributed as dist

    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=STALL_S))
    print(f"rank {RANK} ready", flush=True)
    t = torch.ones(4)
    if RANK == 1 and MODE in ("skip", "sigint"):
        load_batch()
    elif RANK == 1 and MODE == "killed":
        os.kill(os.getpid(), 9)
    elif RANK == 1 and MODE == "mismatch":
        out = [torch.zeros(4) for _ in range(WORLD)]
        dist.all_gather(out, t)
    else:
        dist.all_reduce(t)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
