"""Make a diagnosis concrete for the host ddoctor runs on: real ports, drivers, wheel indexes.

Takes plain facts (built by the CLI from the host layer) so the knowledge base never probes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ddoctor.model.diagnosis import Diagnosis
from ddoctor.units import gib, human_bytes
from ddoctor.wheels import best_wheel_for_driver, parse_cuda, pip_install_torch


@dataclass(frozen=True, slots=True, kw_only=True)
class TailorFacts:
    system: str
    machine: str
    python: str
    torch_version: str | None
    torch_cuda: str | None
    nvidia_gpus: int
    driver_version: str | None
    driver_cuda: str | None
    free_port: int | None
    cuda_visible_devices: str | None
    shm_bytes: int | None
    ram_total: int | None
    ram_available: int | None


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _notes_and_commands(d: Diagnosis, h: TailorFacts) -> tuple[list[str], list[str]]:
    notes: list[str] = []
    cmds: list[str] = []
    host = f"{h.system} {h.machine}"
    gpu_text = f"{h.nvidia_gpus} NVIDIA GPU(s)" if h.nvidia_gpus else "no NVIDIA GPU"
    torch_text = f"torch {h.torch_version}" if h.torch_version else "no torch"
    if d.name == "nccl-unavailable":
        if not h.nvidia_gpus:
            where = "a Mac" if h.system == "Darwin" else "this host"
            notes.append(f"This host ({host}, {gpu_text}, {torch_text}) cannot run NCCL at all: use backend=\"gloo\" "
                         f"on {where}" + (" (tensors on MPS, collectives on CPU tensors)." if h.system == "Darwin"
                                           else "."))
        elif not h.torch_cuda:
            notes.append(f"This host has {gpu_text} but {torch_text} is a CPU build: install the CUDA build "
                         "to use NCCL.")
            cmds.append(pip_install_torch(h.python, best_wheel_for_driver(parse_cuda(h.driver_cuda)), h.torch_version))
    elif d.name == "cuda-unavailable-build":
        if h.nvidia_gpus and not h.torch_cuda:
            target = best_wheel_for_driver(parse_cuda(h.driver_cuda))
            notes.append(f"This host has {gpu_text} (driver {h.driver_version}, CUDA {h.driver_cuda}) but "
                         f"{torch_text} is CPU-only: install the CUDA {target[0]}.{target[1]} build." if target else
                         f"This host has {gpu_text} but {torch_text} is CPU-only.")
            cmds.append(pip_install_torch(h.python, target, h.torch_version))
        elif not h.nvidia_gpus:
            notes.append(f"This host ({host}) has {gpu_text}: a CUDA build will not help here; choose the device at "
                         "run time (snippet below).")
    elif d.name == "no-gpu-visible":
        cvd = "unset" if h.cuda_visible_devices is None else repr(h.cuda_visible_devices)
        notes.append(f"On this host NVML sees {gpu_text}; CUDA_VISIBLE_DEVICES is {cvd}.")
        if h.nvidia_gpus and h.cuda_visible_devices is not None:
            cmds.append("unset CUDA_VISIBLE_DEVICES")
    elif d.name == "driver-too-old" and h.driver_version:
        notes.append(f"This host's driver is {h.driver_version} (supports CUDA {h.driver_cuda}); installed "
                     f"{torch_text} needs CUDA {h.torch_cuda or '?'}.")
        target = best_wheel_for_driver(parse_cuda(h.driver_cuda))
        if target:
            cmds.append(pip_install_torch(h.python, target, h.torch_version))
    elif d.name == "invalid-device-ordinal" and h.nvidia_gpus:
        notes.append(f"This host has {gpu_text}.")
        cmds.append(f"torchrun --nproc_per_node {h.nvidia_gpus} ...")
    elif d.name == "port-in-use" and h.free_port:
        notes.append(f"Port {h.free_port} is free on this host right now.")
        cmds.append(f"torchrun --master_port {h.free_port} ...")
    elif d.name == "shm-exhausted" and h.shm_bytes is not None:
        notes.append(f"/dev/shm on this host is {human_bytes(h.shm_bytes)}.")
    elif d.name in ("host-oom-killed", "cpu-oom") and h.ram_total:
        notes.append(f"This host has {gib(h.ram_total)} RAM, {gib(h.ram_available or 0)} available now.")
    elif d.name == "half-on-cpu" and not h.nvidia_gpus:
        notes.append("This host has no NVIDIA GPU: run the model in float32 (or bfloat16) here.")
    return notes, cmds


def tailor(d: Diagnosis, h: TailorFacts | None) -> Diagnosis:
    """Add host notes and commands; fill {free_port}-style placeholders; mark the rest as <...>."""
    values = {}
    notes: list[str] = []
    cmds: list[str] = []
    if h is not None:
        values = {"free_port": h.free_port, "gpus": h.nvidia_gpus}
        notes, cmds = _notes_and_commands(d, h)

    def fill(text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if values.get(m.group(1)) is not None
                                else f"<{m.group(1).replace('_', ' ')}>", text)

    return replace(d, title=fill(d.title), what=fill(d.what), why=fill(d.why), fix_summary=fill(d.fix_summary),
                   fix_steps=tuple(fill(s) for s in d.fix_steps),
                   commands=tuple(dict.fromkeys([*cmds, *(fill(c) for c in d.commands)])),
                   host_notes=(*d.host_notes, *notes))
