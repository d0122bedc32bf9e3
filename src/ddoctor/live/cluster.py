"""`ddoctor check --cluster`: every rank of a torchrun/srun job probes its host; rank 0 shows what differs.

Version skew between nodes (torch, CUDA, NCCL, driver), different NCCL_* settings, GPU models,
/dev/shm sizes or interfaces cause hangs that no single-node check can see. The facts are torch-free
(the usual probes); only the gather runs in a rank child process that joins the job's process group.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from ddoctor.host import processes
from ddoctor.host.base import Host
from ddoctor.host.system import loopback_interface
from ddoctor.model.finding import Finding
from ddoctor.ranks.job import RankJob
from ddoctor.ranks.plan import on_one_host
from ddoctor.redact import redact_env_value

ENV_PREFIXES = ("NCCL_", "TORCH_", "GLOO_", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "PYTORCH_", "MASTER_ADDR",
                "MASTER_PORT")
RANK_SCRIPT = str(Path(__file__).with_name("cluster_rank.py"))


class ClusterGatherError(RuntimeError):
    """The gather between the job's ranks did not complete."""


def fingerprint(host: Host, findings: tuple[Finding, ...]) -> dict[str, Any]:
    from ddoctor import __version__

    t = host.torch()
    nv = host.nvml_facts()
    gpus = host.gpus()
    plat = host.platform()
    shm = host.disk("/dev/shm")
    env = host.environ
    settings = {k: redact_env_value(k, v) for k, v in sorted(env.items()) if k.startswith(ENV_PREFIXES)}
    return {
        "rank": int(env.get("RANK", env.get("SLURM_PROCID", -1))),
        "local_rank": int(env.get("LOCAL_RANK", env.get("SLURM_LOCALID", -1))),
        "host": plat.hostname, "ddoctor": __version__, "python": plat.python_version, "torch": t.version,
        "torch_cuda": t.cuda, "nccl": t.nccl_version,
        "driver": nv.driver_version if nv is not None else None,
        "gpus": ",".join(sorted({g.name for g in gpus})),
        "gpu_count": len(gpus),
        "shm_bytes": shm.total if shm else None,
        "interfaces": ",".join(sorted(i.name for i in host.interfaces() if i.is_up)),
        "env": settings,
        "failed_checks": ",".join(sorted(f.id for f in findings if f.status.value in ("fail", "error"))),
    }


def gather(fp: dict[str, Any], timeout: float) -> dict[str, Any]:
    """What the rank child learnt within `timeout` seconds: on rank 0 every fingerprint that arrived
    (`ranks`) and the ranks that never did (`missing`); on the others the verdict (`problems`)."""
    work = processes.scratch_dir("ddoctor-cluster-")
    try:
        mine, out = work / "mine.json", work / "gathered.json"
        mine.write_text(json.dumps(fp))
        # The child's own deadline comes first, leaving a second to exit before it is stopped.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path),
               "DDOCTOR_DEADLINE": repr(time.time() + max(0.5, timeout - 1.0))}
        lo = loopback_interface()
        if on_one_host(env) and lo:
            env.setdefault("GLOO_SOCKET_IFNAME", lo)
        if "MASTER_PORT" not in env:
            raise ClusterGatherError("the gather needs MASTER_ADDR and MASTER_PORT (set by torchrun, or export "
                                     "them for srun)")
        job = RankJob(1, fixed=False)
        try:
            job.start([sys.executable, RANK_SCRIPT, str(mine), str(out)], env)
            timed_out = job.wait(timeout)
        finally:
            job.stop()
        outcome = job.outcome()
        code = outcome.processes[0].returncode
        if timed_out:
            raise ClusterGatherError(f"the gather failed: no answer within {timeout:.0f} s")
        if code != 0 or not out.exists():
            lines = [line for st in outcome.ranks.values() for line in st.lines] + list(outcome.other)
            last = next((line for line in reversed(lines) if line.strip()), None)
            raise ClusterGatherError(f"the gather failed: {last.strip() if last else f'exit code {code}'}")
        data: dict[str, Any] = json.loads(out.read_text())
        return data
    finally:
        processes.remove_scratch(work)
