"""How many ranks, which backend, which device: chosen from plain host facts (no options type)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ddoctor.model.host import HostFacts


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    nproc: int
    backend: str
    device: str
    reason: str


def on_one_host(environ: Mapping[str, str]) -> bool:
    """Every rank of the job runs on this host (one node, or a loopback MASTER_ADDR), so what the
    ranks listen on can be bound to loopback."""
    addr = environ.get("MASTER_ADDR", "")
    if addr == "localhost" or addr.startswith("127.") or addr in ("::1", "[::1]"):
        return True
    if "1" in (environ.get("SLURM_NNODES"), environ.get("SLURM_JOB_NUM_NODES")):
        return True
    local, world = environ.get("LOCAL_WORLD_SIZE"), environ.get("WORLD_SIZE")
    return bool(local) and local == world


def make_plan(facts: HostFacts, *, nproc: int | None = None, backend: str | None = None,
              device: str | None = None) -> Plan:
    """Default: NCCL with one rank per GPU where CUDA works; Gloo with 2 CPU ranks elsewhere (MPS on Macs)."""
    if not device:
        if facts.nvidia_gpus and facts.torch_cuda:
            device = "cuda"
        elif facts.system == "Darwin" and facts.machine == "arm64":
            device = "mps"
        else:
            device = "cpu"
    backend = backend or ("nccl" if device == "cuda" else "gloo")
    nproc = nproc or (min(facts.nvidia_gpus, 8) if device == "cuda" else 2)
    if device == "cuda":
        reason = f"{facts.nvidia_gpus} NVIDIA GPU(s) with a CUDA {facts.torch_cuda} build: {backend}, one rank per GPU"
    elif device == "mps":
        reason = "Apple silicon: model on MPS, collectives through Gloo on CPU tensors"
    else:
        reason = f"no usable GPU: {backend} on CPU"
    return Plan(nproc=nproc, backend=backend, device=device, reason=reason)
