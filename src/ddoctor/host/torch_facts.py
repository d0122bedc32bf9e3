"""Torch facts: read statically, imported in a child when needed, and remembered per install.

Importing torch costs ~2 s and 220 MiB, ten times the rest of `ddoctor check`. Build facts (arch
list, NCCL, Gloo, MPS built) depend only on the installed files and the loader environment, so the
result of one child import is cached under a key made of exactly those; any change re-imports.
Runtime facts (devices, CUDA context) are never cached.
"""

from __future__ import annotations

import ast
import glob
import hashlib
import importlib.util
import json
import os
import re
import sys
from dataclasses import replace
from pathlib import Path

from ddoctor.host.child import describe_exit, finish_python_child, run_python_child, start_python_child
from ddoctor.host.facts import (
    CudaDeviceFacts,
    ProbeFailure,
    TorchDist,
    TorchFacts,
    TorchRuntimeFacts,
)

CHILD_SCRIPT = str(Path(__file__).with_name("_torch_child.py"))
CACHE_VERSION = 2
# Variables that change what the dynamic loader or torch picks up at import.
_KEY_ENV = ("LD_LIBRARY_PATH", "LD_PRELOAD", "DYLD_LIBRARY_PATH", "PYTHONPATH", "CUDA_HOME")


def _torch_dir() -> Path | None:
    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _read_version_module(torch_dir: Path) -> dict:
    """Parse torch/version.py (the module behind torch.version) without executing it."""
    try:
        tree = ast.parse((torch_dir / "version.py").read_text())
    except (OSError, SyntaxError, ValueError):
        return {}
    values = {}
    for node in tree.body:
        target = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        if isinstance(target, ast.Name):
            try:
                values[target.id] = ast.literal_eval(value)
            except ValueError:
                continue
    return values


def _dist_version(info: str) -> str:
    """The Version field of a dist-info/egg-info METADATA (PKG-INFO), else the version in its name."""
    for name in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(info, name), errors="replace") as f:
                for line in f:
                    if line.startswith("Version:"):
                        return line.split(":", 1)[1].strip()
                    if not line.strip():
                        break
        except OSError:
            continue
    return os.path.basename(info).rsplit(".", 1)[0].split("-", 1)[1]


def _distributions() -> tuple[TorchDist, ...]:
    """Every installed torch distribution on sys.path. Looks for torch's own dist-info folders instead of
    reading the metadata of every installed package (importlib.metadata.distributions() costs ~0.1 s)."""
    found: dict[tuple[str, str], TorchDist] = {}
    for entry in sys.path:
        if not entry or not os.path.isdir(entry):
            continue
        for pattern in ("torch-*.dist-info", "torch-*.egg-info"):
            for info in glob.glob(os.path.join(glob.escape(entry), pattern)):
                version = _dist_version(info)
                # The same dist-info can be reached twice through duplicate sys.path entries.
                found.setdefault((version, os.path.realpath(entry)), TorchDist(version=version, location=entry))
    return tuple(found.values())


def _torchrun_picks_free_port(torch_dir: Path) -> bool | None:
    """Read torchrun's source: current torchrun (pytorch/pytorch#175699) switches a single-node run without
    --master_port to the c10d rendezvous on localhost:0, a free port; older ones bind 29500. None when
    the source cannot be read."""
    try:
        text = (torch_dir / "distributed" / "run.py").read_text(errors="replace")
    except OSError:
        return None
    return bool(re.search(r"max_nodes\s*==\s*1", text) and "localhost:0" in text
                and re.search(r"master_port\s+is\s+None", text))


def static_torch_facts() -> TorchFacts:
    torch_dir = _torch_dir()
    dists = _distributions()
    if torch_dir is None:
        return TorchFacts(installed=False, distributions=dists)
    v = _read_version_module(torch_dir)
    return TorchFacts(
        installed=True,
        version=v.get("__version__") or (dists[0].version if dists else None),
        location=str(torch_dir),
        distributions=dists,
        cuda=v.get("cuda"),
        hip=v.get("hip"),
        debug=bool(v.get("debug", False)),
        torchrun_free_port=_torchrun_picks_free_port(torch_dir),
        source="static",
    )


def cache_key(static: TorchFacts, environ: dict) -> str | None:
    if not static.location:
        return None
    torch_dir = Path(static.location)
    parts = [str(CACHE_VERSION), os.path.realpath(sys.executable), str(torch_dir.resolve())]
    for p in [torch_dir / "version.py", *sorted(torch_dir.glob("_C*.so")), *sorted(torch_dir.glob("_C*.pyd"))]:
        try:
            st = p.stat()
        except OSError:
            continue
        parts.append(f"{p.name}:{st.st_size}:{st.st_mtime_ns}")
    parts += [f"{k}={environ.get(k, '')}" for k in _KEY_ENV]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def cache_dir(environ: dict) -> Path:
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ddoctor"


def _static_snapshot(static: TorchFacts) -> dict:
    return {"version": static.version, "cuda": static.cuda, "hip": static.hip, "location": static.location}


_BOOL_FIELDS = ("nccl_available", "gloo_available", "mpi_available", "mps_built")


def _valid_build(build: object, static: TorchFacts) -> bool:
    """Build facts that could have come from importing this install: right types, the same version and
    CUDA/ROCm as its files say, and no backend a build of that kind cannot have."""
    if not isinstance(build, dict) or build.get("phase") != "build":
        return False
    if any(not isinstance(build.get(k), bool) for k in _BOOL_FIELDS):
        return False
    if (build.get("version"), build.get("cuda"), build.get("hip")) != (static.version, static.cuda, static.hip):
        return False
    arch = build.get("arch_list")
    if not isinstance(arch, list) or not all(isinstance(a, str) for a in arch):
        return False
    pairs = build.get("default_backends")
    if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)
                                              for p in pairs):
        return False
    for k in ("nccl_version", "cudnn_version"):
        if build.get(k) is not None and not isinstance(build.get(k), str):
            return False
    gpu_build = bool(static.cuda or static.hip)
    if not gpu_build and (build["nccl_available"] or build.get("nccl_version") or arch or build.get("cudnn_version")):
        return False  # NCCL, CUDA kernels and cuDNN exist only in CUDA/ROCm builds
    return not (build.get("nccl_version") and not build["nccl_available"])


def _load_cache(path: Path, key: str, static: TorchFacts) -> dict | None:
    """The cached build facts, only when they were written for this exact install and could be true of it:
    a cache file is user-writable, and must never make a CPU build pass `--require nccl`."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key or data.get("static") != _static_snapshot(static):
        return None
    build = data.get("build")
    return build if _valid_build(build, static) else None


def _store_cache(path: Path, key: str, static: TorchFacts, build: dict) -> None:
    """Best effort: a read-only or full cache dir only costs the next run an import."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": key, "static": _static_snapshot(static), "build": build}))
        os.replace(tmp, path)
    except OSError:
        pass


def _merge_build(static: TorchFacts, build: dict, source: str) -> TorchFacts:
    return replace(
        static,
        version=build.get("version") or static.version,
        cuda=build.get("cuda"),
        hip=build.get("hip"),
        debug=bool(build.get("debug", static.debug)),
        import_ok=True,
        arch_list=tuple(build.get("arch_list") or ()),
        nccl_available=build.get("nccl_available"),
        nccl_version=build.get("nccl_version"),
        gloo_available=build.get("gloo_available"),
        mpi_available=build.get("mpi_available"),
        mps_built=build.get("mps_built"),
        cudnn_version=build.get("cudnn_version"),
        xnnpack=build.get("xnnpack"),
        default_backends=tuple(tuple(p) for p in build.get("default_backends") or ()),
        source=source,
    )


def _runtime_from(messages: tuple[dict, ...], timed_out: bool) -> TorchRuntimeFacts | None:
    rt = next((m for m in messages if m.get("phase") == "runtime"), None)
    if rt is None:
        return None
    inits = tuple((m["index"], bool(m["ok"]), str(m.get("detail", "")))
                  for m in messages if m.get("phase") == "cuda_init")
    started = {m["index"] for m in messages if m.get("phase") == "cuda_init_start"}
    hung = [i for i in sorted(started) if i not in {x[0] for x in inits}]
    if timed_out and hung:
        inits += tuple((i, False, "timed out creating a CUDA context") for i in hung)
    return TorchRuntimeFacts(
        cuda_available=rt.get("cuda_available"),
        device_count=rt.get("device_count"),
        devices=tuple(CudaDeviceFacts(index=d["index"], name=d["name"], capability=tuple(d["capability"]),
                                      total_memory=d["total_memory"]) for d in rt.get("devices", [])),
        cuda_init=inits,
        cuda_init_timed_out=bool(timed_out and hung),
        mps_available=rt.get("mps_available"),
    )


_PREFETCHED: dict[str, object] = {}  # mode -> (Popen, monotonic start) started before the CLI loaded


def _child_env(environ: dict) -> dict:
    return {**environ, "PYTHONWARNINGS": "ignore"}


def prefetch(environ: dict, *, runtime: bool, use_cache: bool) -> None:
    """Start the torch child now when the coming check will need it: the CLI spends its first ~0.2 s
    loading its own framework, and `import torch` (~2 s) can run meanwhile. collect_torch_facts adopts
    the child if it asks for the same mode; an unused one is killed at exit like every helper."""
    import time

    static = static_torch_facts()
    if not static.installed:
        return
    if use_cache and not runtime:
        key = cache_key(static, environ)
        if key and _load_cache(cache_dir(environ) / f"torch-{key}.json", key, static) is not None:
            return
    mode, env = "runtime" if runtime else "build", _child_env(environ)
    _PREFETCHED[mode] = (start_python_child(CHILD_SCRIPT, [mode], env=env), env, time.monotonic())


def _adopt_or_run(mode: str, environ: dict, timeout: float):
    """(the child's result, seconds it ran): the prefetched child when it matches, else a new one."""
    import time

    env = _child_env(environ)
    started = _PREFETCHED.pop(mode, None)
    if started is not None and started[1] == env:
        proc, _, t0 = started
        result = finish_python_child(proc, timeout=max(0.1, timeout - (time.monotonic() - t0)))
        return result, time.monotonic() - t0
    t0 = time.monotonic()
    return run_python_child(CHILD_SCRIPT, [mode], timeout=timeout, env=env), time.monotonic() - t0


def collect_torch_facts(
    *, environ: dict, runtime: bool, use_cache: bool, timeout: float
) -> tuple[TorchFacts, TorchRuntimeFacts | None, ProbeFailure | None]:
    """Build facts (cached when possible) and, if `runtime`, live device facts from one child."""
    static = static_torch_facts()
    if not static.installed:
        return static, None, None
    key = cache_key(static, environ)
    cache_path = cache_dir(environ) / f"torch-{key}.json" if key else None
    if use_cache and not runtime and cache_path is not None:
        cached = _load_cache(cache_path, key, static)
        if cached is not None:
            return _merge_build(static, cached, "cache"), None, None

    result, ran_s = _adopt_or_run("runtime" if runtime else "build", environ, timeout)
    msgs = result.messages
    import_error = next((m for m in msgs if m.get("phase") == "import_error"), None)
    if import_error is not None:
        return replace(static, import_ok=False, import_error=import_error["error"]), None, None
    build = next((m for m in msgs if m.get("phase") == "build"), None)
    if build is None:
        reason = describe_exit(result)
        if result.garbage:
            reason += f"; unexpected output: {result.garbage[0][:200]}"
        tail = result.stderr_tail.strip()
        # A crash during `import torch` (e.g. a segfault in a CUDA library) is an import failure.
        if not result.timed_out:
            detail = tail.splitlines()[-1] if tail else reason
            return replace(static, import_ok=False, import_error=detail), None, None
        return static, None, ProbeFailure(source="torch child", reason=f"import torch {reason} after "
                                          f"{ran_s:.0f} s", timed_out=True)
    facts = _merge_build(static, build, "child")
    if cache_path is not None and _valid_build(build, static):
        _store_cache(cache_path, key, static, build)
    rt = _runtime_from(msgs, result.timed_out) if runtime else None
    failure = None
    done = any(m.get("phase") == "done" for m in msgs)
    if runtime and not done and rt is None:
        failure = ProbeFailure(source="torch child", reason=f"runtime query {describe_exit(result)}",
                               timed_out=result.timed_out)
    return facts, rt, failure
