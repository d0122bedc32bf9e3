"""Shared timing helpers for the bench scripts: wall time, CPU time and the peak RSS of a whole
process tree (sampled with psutil every 20 ms, so worker processes count too)."""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import threading
import time

import psutil


def run_measured(argv: list[str], *, env=None, stdin=None) -> tuple[float, int, int]:
    """(wall seconds, peak tree RSS bytes, returncode) of one run."""
    # Output goes to a real file: GNU grep stops at the first match when stdout is /dev/null.
    sink = tempfile.TemporaryFile()  # noqa: SIM115 - closed after the process is reaped
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL, env=env,
                            stdin=stdin or subprocess.DEVNULL)
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        p = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                procs = [p, *p.children(recursive=True)]
                peak = max(peak, max(q.memory_info().rss for q in procs))
            except psutil.Error:
                pass
            time.sleep(0.02)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    rc = proc.wait()
    wall = time.perf_counter() - start
    done.set()
    t.join()
    sink.close()
    return wall, peak, rc


def _children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def compile_ddoctor() -> None:
    """Byte-compile ddoctor's modules, as pip does when it installs the wheel. An editable checkout run
    with PYTHONDONTWRITEBYTECODE set (common in containers and CI) would otherwise compile every
    module from source on every run and time that instead of ddoctor."""
    import compileall
    from pathlib import Path

    import ddoctor

    compileall.compile_dir(str(Path(ddoctor.__file__).parent), quiet=1)


def median_runs(named: dict[str, list[str]], n: int, env=None) -> dict[str, dict]:
    """Run each command n times, interleaved (A B A B ...), after one untimed warm-up each
    (ddoctor's modules byte-compiled first, as an installed wheel has them).

    `cpus` is the CPU time (user + system) of each run's reaped process tree: on a loaded machine it
    moves far less than wall time, so ratios of it are a steadier second opinion.
    """
    compile_ddoctor()
    for argv in named.values():
        run_measured(argv, env=env)
    results: dict[str, list[tuple[float, int, int]]] = {k: [] for k in named}
    cpus: dict[str, list[float]] = {k: [] for k in named}
    for _ in range(n):
        for k, argv in named.items():
            before = _children_cpu()
            results[k].append(run_measured(argv, env=env))
            cpus[k].append(_children_cpu() - before)
    out = {}
    for k, runs in results.items():
        walls = [r[0] for r in runs]
        out[k] = {"median": statistics.median(walls), "min": min(walls), "max": max(walls),
                  "peak_rss": max(r[1] for r in runs), "rc": runs[-1][2], "walls": walls, "cpus": cpus[k],
                  "cpu_median": statistics.median(cpus[k])}
    return out


def paired_ratio(a: list[float], b: list[float]) -> tuple[float, float, float]:
    ratios = [x / y for x, y in zip(a, b, strict=True)]
    return statistics.median(ratios), min(ratios), max(ratios)
