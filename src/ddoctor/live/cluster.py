"""`ddoctor check --cluster`: every rank of a torchrun/srun job probes its host; rank 0 shows what differs.

Version skew between nodes (torch, CUDA, NCCL, driver), different NCCL_* settings, GPU models,
/dev/shm sizes or interfaces cause hangs that no single-node check can see. The facts are torch-free
(the usual probes); only the gather runs in a rank child process that joins the job's process group.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from ddoctor.host.facts import NvmlFacts
from ddoctor.redact import redact_env_value

CRITICAL = ("torch", "torch_cuda", "nccl", "driver", "python", "ddoctor")
ENV_PREFIXES = ("NCCL_", "TORCH_", "GLOO_", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "PYTORCH_", "MASTER_ADDR",
                "MASTER_PORT")
STRAGGLER_S = 5.0


def fingerprint(host, findings) -> dict:
    from ddoctor import __version__

    t = host.torch()
    nv = host.nvml()
    plat = host.platform()
    shm = host.disk("/dev/shm")
    env = {k: redact_env_value(k, v) for k, v in sorted(host.environ.items()) if k.startswith(ENV_PREFIXES)}
    return {
        "rank": int(host.environ.get("RANK", -1)), "local_rank": int(host.environ.get("LOCAL_RANK", -1)),
        "host": plat.hostname, "ddoctor": __version__, "python": plat.python_version, "torch": t.version,
        "torch_cuda": t.cuda, "nccl": t.nccl_version,
        "driver": nv.driver_version if isinstance(nv, NvmlFacts) else None,
        "gpus": ",".join(sorted({g.name for g in nv.gpus})) if isinstance(nv, NvmlFacts) else "",
        "gpu_count": len(nv.gpus) if isinstance(nv, NvmlFacts) else 0,
        "shm_bytes": shm.total if shm else None,
        "interfaces": ",".join(sorted(i.name for i in host.interfaces() if i.is_up)),
        "env": env,
        "failed_checks": ",".join(sorted(f.id for f in findings if f.status.value in ("fail", "error"))),
    }


def gather(fp: dict, timeout: float) -> list[dict] | str:
    """Every rank's fingerprint; a string describes a failure."""
    out = Path(tempfile.mkdtemp(prefix="ddoctor-cluster-")) / "gathered.json"
    script = str(Path(__file__).with_name("cluster_rank.py"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "DDOCTOR_TIMEOUT": str(timeout)}
    import subprocess

    proc = subprocess.run([sys.executable, script, str(out)], input=json.dumps(fp), capture_output=True, text=True,
                          env=env, timeout=timeout + 30)
    if proc.returncode != 0:
        return f"the gather failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}"
    if not out.exists():
        return []
    data = json.loads(out.read_text())
    out.unlink()
    out.parent.rmdir()
    return data


def differences(fps: list[dict]) -> list[dict]:
    """Fields whose value is not the same on every rank, with which ranks hold which value."""
    diffs = []
    fields = [k for k in fps[0] if k not in ("rank", "local_rank", "host", "env", "arrived_at")]
    env_keys = sorted({k for fp in fps for k in fp["env"]})

    def add(name: str, get) -> None:
        values: dict[str, list[int]] = {}
        for fp in fps:
            values.setdefault(str(get(fp)), []).append(fp["rank"])
        if len(values) > 1:
            diffs.append({"field": name, "critical": name in CRITICAL or name.startswith("NCCL_"),
                          "values": {v: sorted(r) for v, r in values.items()}})

    for f in fields:
        add(f, lambda fp, f=f: fp[f])
    for k in env_keys:
        add(k, lambda fp, k=k: fp["env"].get(k, "<unset>"))
    return diffs


def stragglers(fps: list[dict]) -> list[tuple[int, float]]:
    first = min(fp["arrived_at"] for fp in fps)
    return sorted(((fp["rank"], fp["arrived_at"] - first) for fp in fps if fp["arrived_at"] - first > STRAGGLER_S),
                  key=lambda x: -x[1])
