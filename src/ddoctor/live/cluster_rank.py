"""The rank side of `ddoctor check --cluster`: join the job's process group and gather every rank's
fingerprint. Runs as a child of ddoctor (so only rank processes import torch); the fingerprint
arrives on stdin and the gathered list is written to the file named by argv[1].
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
    # Every rank keeps the full list: all of them reach the same verdict and exit code, so torchrun's
    # agents fail (or succeed) together instead of one waiting out the exit barrier.
    with open(out, "w") as f:
        json.dump(gathered, f)
    dist.barrier()
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
