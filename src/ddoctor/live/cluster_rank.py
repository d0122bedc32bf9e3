"""The rank side of `ddoctor check --cluster`: join the job's process group and gather every rank's
fingerprint. Runs as a child of ddoctor (so only rank processes import torch); reads this rank's
fingerprint from the file argv[1] and writes the gathered list to the file argv[2].
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import time

from ddoctor.ranks.protocol import emit, env_ranks, watch_parent


def main() -> int:
    watch_parent()
    rank, world, _ = env_ranks()
    emit("start", rank=rank, world=world, pid=os.getpid())
    with open(sys.argv[1]) as f:
        mine = json.load(f)
    import torch.distributed as dist

    started = time.time()
    emit("phase", rank=rank, phase="rendezvous")
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=float(os.environ.get("DDOCTOR_TIMEOUT", 60))))
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
