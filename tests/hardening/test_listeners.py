"""On one node (or with a loopback MASTER_ADDR) nothing ddoctor starts listens beyond loopback,
as `ss -ltn` shows while the job runs."""

import os
import re
import shutil
import subprocess
import sys
import time

import psutil
import pytest

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2) to list listeners")]


def tree(procs) -> set[int]:
    pids = set()
    for p in procs:
        try:
            pids |= {p.pid, *(c.pid for c in psutil.Process(p.pid).children(recursive=True))}
        except psutil.NoSuchProcess:
            pass
    return pids


def listeners(pids: set[int]) -> set[str]:
    """Local addresses of the listening TCP sockets these processes hold (`ss -ltnp`)."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, timeout=10).stdout
    found = set()
    for line in out.splitlines():
        owners = {int(p) for p in re.findall(r"pid=(\d+)", line)}
        if owners & pids:
            found.add(line.split()[3])
    return found


def watch(procs, seconds: float = 240.0) -> set[str]:
    """Poll while the processes run; every listener any of them (or their children) opened."""
    seen: set[str] = set()
    deadline = time.monotonic() + seconds
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        seen |= listeners(tree(procs))
        time.sleep(0.1)
    return seen


def loopback(addr: str) -> bool:
    host = addr.rsplit(":", 1)[0].strip("[]")
    return host.startswith("127.") or host == "::1"


def env(tmp_path, **extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("RANK", "WORLD_SIZE", "MASTER_", "LOCAL_"))}
    return {**e, "NO_COLOR": "1", "XDG_CACHE_HOME": str(tmp_path / "cache"), **extra}


def test_smoke_through_torchrun_on_one_node_listens_only_on_loopback(tmp_path):
    p = subprocess.Popen([sys.executable, "-m", "ddoctor", "smoke", "--launcher", "torchrun", "--nproc", "2",
                          "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(tmp_path))
    seen = watch([p])
    _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err.decode()[-2000:]
    assert seen, "no listener was seen: the test saw nothing to judge"
    assert sorted(a for a in seen if not loopback(a)) == []


def test_cluster_check_launched_srun_style_listens_only_on_loopback(tmp_path):
    from ddoctor.host.system import free_port

    port = free_port()
    common = {"WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    procs = []
    for rank in (0, 1):
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "ddoctor", "check", "sys", "--cluster", "--format", "json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env(tmp_path, RANK=str(rank), LOCAL_RANK=str(rank), **common)))
        if rank == 0:  # rank 0 hosts the store and waits for rank 1: the window to look at its listener
            time.sleep(3)
    seen = watch(procs)
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e.decode()[-2000:] for _, e in outs]
    assert any(a.endswith(f":{port}") for a in seen), seen
    assert sorted(a for a in seen if not loopback(a)) == []
