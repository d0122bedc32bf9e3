"""The GPU lane's setup: find a CUDA GPU without importing torch here, and the facts that tests compare with.

Tests marked `gpu` run only where nvidia-smi (or NVML, asked in a child) lists a GPU; elsewhere they are
skipped with the reason NO_GPU. What ddoctor reports is compared with sources ddoctor does not read itself:
nvidia-smi's own answers and a torch child separate from ddoctor's.
"""

from __future__ import annotations

import csv
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = ROOT / "fixtures" / "gpu_programs"
NO_GPU = "no CUDA GPU here"
MIB = 1 << 20
_UNKNOWN = {"[N/A]", "N/A", "[Not Supported]", "Not Supported", "[Unknown Error]", ""}


def smi(*args: str, timeout: float = 30) -> str | None:
    """nvidia-smi's stdout, or None where it is missing or fails."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        r = subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout if r.returncode == 0 else None


@functools.cache
def cuda_gpu_names() -> tuple[str, ...]:
    out = smi("--query-gpu=name", "--format=csv,noheader")
    if out is not None:
        return tuple(line.strip() for line in out.splitlines() if line.strip())
    from ddoctor.host.facts import NvmlFacts
    from ddoctor.host.nvml import collect_nvml_facts

    nv = collect_nvml_facts(environ=dict(os.environ), timeout=30)
    return tuple(g.name for g in nv.gpus) if isinstance(nv, NvmlFacts) else ()


def pytest_collection_modifyitems(config, items):
    gpu = [item for item in items if item.get_closest_marker("gpu")]
    if gpu and not cuda_gpu_names():
        for item in gpu:
            item.add_marker(pytest.mark.skip(reason=NO_GPU))


# -- nvidia-smi's answers ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class SmiGpu:
    index: int
    name: str
    uuid: str
    pci_bus_id: str
    driver_version: str
    memory_total_mib: int
    memory_used_mib: int
    compute_mode: str
    capability: tuple[int, int]
    memory_reserved_mib: int | None
    ecc_uncorrected_volatile: int | None
    mig_mode: str | None
    persistence_mode: str | None


def _query(fields: str) -> list[list[str]]:
    out = smi(f"--query-gpu={fields}", "--format=csv,noheader,nounits")
    if out is None:
        return []
    return [[c.strip() for c in row] for row in csv.reader(out.splitlines()) if row]


def _optional(field: str, count: int) -> list[str | None]:
    """A field older drivers or this GPU may not know: None per GPU when nvidia-smi cannot answer it."""
    rows = _query(field)
    if len(rows) != count:
        return [None] * count
    return [None if row[0] in _UNKNOWN else row[0] for row in rows]


@functools.cache
def smi_gpus() -> tuple[SmiGpu, ...]:
    rows = _query("index,name,uuid,pci.bus_id,driver_version,memory.total,memory.used,compute_mode,compute_cap")
    n = len(rows)
    reserved, ecc = _optional("memory.reserved", n), _optional("ecc.errors.uncorrected.volatile.total", n)
    mig, persistence = _optional("mig.mode.current", n), _optional("persistence_mode", n)
    gpus = []
    for i, (index, name, uuid, bus, driver, total, used, mode, cap) in enumerate(rows):
        major, minor = cap.split(".")
        gpus.append(SmiGpu(
            index=int(index), name=name, uuid=uuid, pci_bus_id=bus, driver_version=driver,
            memory_total_mib=int(total), memory_used_mib=int(used), compute_mode=mode,
            capability=(int(major), int(minor)),
            memory_reserved_mib=None if reserved[i] is None else int(reserved[i]),
            ecc_uncorrected_volatile=None if ecc[i] is None else int(ecc[i]),
            mig_mode=mig[i], persistence_mode=persistence[i]))
    return tuple(gpus)


def smi_cuda_version() -> str | None:
    """The CUDA version the driver supports, as nvidia-smi prints it ("CUDA Version : 13.0")."""
    out = smi("-q") or ""
    m = re.search(r"^\s*CUDA Version\s*:\s*(\S+)", out, re.MULTILINE)
    return m.group(1) if m else None


def smi_compute_processes() -> dict[int, int]:
    """pid -> MiB held, for every compute process nvidia-smi lists."""
    out = smi("--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits") or ""
    procs = {}
    for row in csv.reader(out.splitlines()):
        if len(row) == 2 and row[0].strip().isdigit():
            used = row[1].strip()
            procs[int(row[0])] = int(used) if used.isdigit() else 0
    return procs


# -- torch, asked in a child of our own (not ddoctor's) -------------------------------------------------------
_TORCH_TRUTH = """
import json
import torch
import torch.distributed as dist

d = {"version": torch.__version__, "cuda": torch.version.cuda, "arch_list": torch.cuda.get_arch_list(),
     "nccl_available": dist.is_nccl_available(), "device_count": torch.cuda.device_count(), "devices": []}
for i in range(d["device_count"]):
    p = torch.cuda.get_device_properties(i)
    d["devices"].append({"name": p.name, "capability": [p.major, p.minor], "total_memory": p.total_memory})
v = torch.cuda.nccl.version() if d["nccl_available"] else None
d["nccl_version"] = ".".join(str(x) for x in v) if isinstance(v, tuple) else (None if v is None else str(v))
try:
    import transformers
    d["transformers"] = transformers.__version__
except ImportError:
    d["transformers"] = None
print(json.dumps(d))
"""


@pytest.fixture(scope="session")
def torch_truth() -> dict:
    r = subprocess.run([sys.executable, "-c", _TORCH_TRUTH], capture_output=True, text=True, timeout=180,
                       env=program_env())
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.splitlines()[-1])


# -- running programs and ddoctor ----------------------------------------------------------------------------
def program_env(**extra: str) -> dict[str, str]:
    """The environment a user's job would get: no launcher variables left over from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RANK", "WORLD_SIZE", "MASTER_", "LOCAL_"))}
    env.update({"OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "COLUMNS": "120", **extra})
    return env


def ddoctor(*args: str, cache: Path, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real `ddoctor` entry point in a child process, as users run it."""
    return subprocess.run([sys.executable, "-m", "ddoctor", *args], capture_output=True, text=True, timeout=timeout,
                          env={**program_env(XDG_CACHE_HOME=str(cache)), **(env or {})})


def ddoctor_json(*args: str, cache: Path, timeout: float = 300) -> tuple[int, dict]:
    r = ddoctor(*args, "--format", "json", cache=cache, timeout=timeout)
    assert r.stdout.strip(), f"ddoctor {' '.join(args)} printed no JSON (exit {r.returncode}): {r.stderr[-2000:]}"
    return r.returncode, json.loads(r.stdout)


def findings_by_id(doc: dict) -> dict[str, dict]:
    return {f["id"]: f for f in doc["findings"]}


@pytest.fixture(scope="session")
def gpu_out(tmp_path_factory) -> Path:
    """Where tests leave what they produced: $DDOCTOR_GPU_OUT (scripts/device-check.sh brings it back), else a
    temporary folder."""
    base = os.environ.get("DDOCTOR_GPU_OUT")
    out = Path(base) if base else tmp_path_factory.mktemp("gpu-out")
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ddoctor-cache")
