"""The rank side of `ddoctor check --cluster`: join the job's process group and gather every rank's
fingerprint on rank 0. Runs as a child of ddoctor (so only rank processes import torch); the
fingerprint arrives on stdin and rank 0 writes the gathered list to the file named by argv[1].
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import time


def main() -> int:
    out = sys.argv[1]
    mine = json.loads(sys.stdin.read())
    import torch.distributed as dist

    started = time.time()
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=float(os.environ.get("DDOCTOR_TIMEOUT", 60))))
    mine["arrived_at"] = started
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, mine)
    if dist.get_rank() == 0:
        with open(out, "w") as f:
            json.dump(gathered, f)
    dist.barrier()
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
