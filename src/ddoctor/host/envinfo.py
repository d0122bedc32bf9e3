"""What `python -m torch.utils.collect_env` reports about the machine, gathered without importing torch.

OS and distro, kernel, libc, CPU (lscpu), compilers (gcc, clang, cmake, nvcc), CUDA variables and the
relevant Python packages. Packages come from installed metadata (no `pip list`, which alone costs
collect_env half a second); the tool versions from their own `--version`, run side by side with a
deadline and only when the tool is on PATH.
"""

from __future__ import annotations

import concurrent.futures
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# The names collect_env looks for, plus the libraries that distributed jobs are built on.
PACKAGE_PATTERNS = ("torch", "numpy", "triton", "optree", "transformers", "accelerate", "deepspeed", "vllm",
                    "flash-attn", "flash_attn", "xformers", "apex", "megatron", "fairscale", "mypy", "flake8", "onnx",
                    "nvidia-", "cuda-", "cublas", "cudnn", "cufft", "curand", "cusolver", "cusparse", "nccl",
                    "nvjitlink", "nvtx", "mkl", "intel-openmp", "tbb", "oneccl", "mpi4py", "pynvml", "nvidia-ml-py")
TOOL_TIMEOUT_S = 3.0


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvFacts:
    os: str
    kernel: str
    libc: str
    python: str
    python_platform: str
    cpu_model: str | None
    cpu_info: tuple[str, ...]  # lscpu's lines, or /proc/cpuinfo's essentials without lscpu
    gcc: str | None
    clang: str | None
    cmake: str | None
    nvcc: str | None  # the CUDA toolkit on PATH (collect_env's "CUDA runtime version")
    cuda_module_loading: str | None
    allocator_config: str | None
    packages: tuple[tuple[str, str], ...]
    conda_env: str | None
    conda_packages: tuple[tuple[str, str], ...]


def _run(argv: list[str]) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, stdin=subprocess.DEVNULL,
                           errors="replace")
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.stdout if p.returncode == 0 else None


def _first(text: str | None, pattern: str) -> str | None:
    if not text:
        return None
    m = re.search(pattern, text)
    return m.group(1).strip() if m else None


def os_name() -> str:
    system = platform.system()
    if system == "Darwin":
        return f"macOS {platform.mac_ver()[0]} ({platform.machine()})"
    if system == "Windows":
        return f"{platform.system()} {platform.release()} ({platform.version()})"
    try:
        rel = platform.freedesktop_os_release()
        name = rel.get("PRETTY_NAME") or rel.get("NAME", "Linux")
    except OSError:
        name = f"{system} (no /etc/os-release)"
    return f"{name} ({platform.machine()})"


def _cpu_from_proc() -> tuple[str | None, tuple[str, ...]]:
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return platform.processor() or None, ()
    model = _first(text, r"(?m)^model name\s*:\s*(.+)$")
    vendor = _first(text, r"(?m)^vendor_id\s*:\s*(.+)$")
    lines = [f"Model name: {model}"] if model else []
    if vendor:
        lines.append(f"Vendor ID: {vendor}")
    lines.append(f"CPU(s): {os.cpu_count()}")
    return model, tuple(lines)


def _cpu(lscpu: str | None) -> tuple[str | None, tuple[str, ...]]:
    if sys.platform == "darwin":
        brand = _run(["sysctl", "-n", "machdep.cpu.brand_string"])
        return (brand or "").strip() or None, (f"Model name: {(brand or '').strip()}",) if brand else ()
    if lscpu:
        return _first(lscpu, r"(?m)^Model name:\s*(.+)$"), tuple(line.rstrip() for line in lscpu.splitlines() if line)
    return _cpu_from_proc()


def _packages() -> tuple[tuple[str, str], ...]:
    import importlib.metadata

    seen: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").strip()
        low = name.lower()
        if name and low not in seen and any(p in low for p in PACKAGE_PATTERNS):
            seen[low] = f"{name}=={dist.version}"
    return tuple(sorted((k, v.split("==", 1)[1]) for k, v in seen.items()))


def _conda() -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """The active conda environment's matching packages, from its conda-meta records (no `conda list`)."""
    prefix = os.environ.get("CONDA_PREFIX")
    if not prefix:
        return None, ()
    out = []
    for rec in sorted(Path(prefix, "conda-meta").glob("*.json")):
        parts = rec.stem.rsplit("-", 2)  # name-version-build
        if len(parts) == 3 and any(p in parts[0].lower() for p in PACKAGE_PATTERNS):
            out.append((parts[0], parts[1]))
    return os.environ.get("CONDA_DEFAULT_ENV") or prefix, tuple(out)


def env_facts() -> EnvFacts:
    tools = {"gcc": ["gcc", "--version"], "clang": ["clang", "--version"], "cmake": ["cmake", "--version"],
             "nvcc": ["nvcc", "--version"], "lscpu": ["lscpu"]}
    # Threads, not a pool that outlives the call: each tool has its own timeout.
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(tools) + 1) as ex:
        futures = {k: ex.submit(_run, argv) for k, argv in tools.items()}
        packages = ex.submit(_packages)
        out = {k: f.result() for k, f in futures.items()}
        pkgs = packages.result()
    cpu_model, cpu_info = _cpu(out["lscpu"])
    libc = "-".join(p for p in platform.libc_ver() if p) or "N/A"
    conda_env, conda_pkgs = _conda()
    alloc = os.environ.get("PYTORCH_CUDA_ALLOC_CONF") or os.environ.get("PYTORCH_ALLOC_CONF")
    return EnvFacts(
        os=os_name(), kernel=platform.release(), libc=libc,
        python=f"{sys.version.splitlines()[0]} ({sys.maxsize.bit_length() + 1}-bit runtime)",
        python_platform=platform.platform(), cpu_model=cpu_model, cpu_info=cpu_info,
        gcc=_first(out["gcc"], r"(?m)^(.+)$"), clang=_first(out["clang"], r"(?m)^(.+)$"),
        cmake=_first(out["cmake"], r"version (\S+)"), nvcc=_first(out["nvcc"], r"release .+ V(\S+)"),
        cuda_module_loading=os.environ.get("CUDA_MODULE_LOADING"), allocator_config=alloc,
        packages=pkgs, conda_env=conda_env, conda_packages=conda_pkgs)
