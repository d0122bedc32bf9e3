"""A launcher of plain processes (no torchrun): one `hangjob.py MODE` per rank, all in this process
group, rendezvous on 127.0.0.1. Usage: python launch_plain.py MODE WORLD PORT"""

import os
import subprocess
import sys
from pathlib import Path

mode, world, port = sys.argv[1], int(sys.argv[2]), sys.argv[3]
job = Path(__file__).with_name("hangjob.py")
procs = [subprocess.Popen([sys.executable, str(job), mode],
                          env={**os.environ, "RANK": str(r), "WORLD_SIZE": str(world), "LOCAL_RANK": str(r),
                               "LOCAL_WORLD_SIZE": str(world), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port,
                               "GLOO_SOCKET_IFNAME": "lo"})
         for r in range(world)]
try:
    codes = [p.wait() for p in procs]
except KeyboardInterrupt:
    codes = [p.wait(timeout=30) for p in procs]
    sys.exit(130)
sys.exit(max(abs(c) for c in codes))
