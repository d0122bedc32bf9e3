"""Nothing ddoctor starts outlives it: not after `kill -9` (the parent-death signal, the ranks' parent
watchdog), not after SIGTERM (what `timeout`, `scancel` and Kubernetes send), which also removes
ddoctor's temporary directories. Each kill is counted before the assertion, so an orphan shows in
the hardening line at the end of the run."""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow


def start(args, tmp_path, **env):
    e = {**os.environ, "NO_COLOR": "1", "XDG_CACHE_HOME": str(tmp_path / "cache"), "TMPDIR": str(tmp_path), **env}
    for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "LOCAL_RANK"):
        e.pop(k, None)
    err = open(tmp_path / f"ddoctor-{time.monotonic_ns()}.err", "wb")  # noqa: SIM115 - the child holds it
    p = subprocess.Popen([sys.executable, "-m", "ddoctor", *args], env=e, stdout=subprocess.DEVNULL, stderr=err)
    p.err_path = err.name
    err.close()
    return p


class NotStarted(AssertionError):
    """ddoctor ended by itself before its ranks started: the precondition failed, not the property."""


def wait_for(proc, marker: str, n: int, timeout: float = 90.0) -> list[psutil.Process]:
    """Until `n` descendants of `proc` run a command line containing `marker`; returns all descendants."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = Path(proc.err_path).read_text(errors="replace")[-600:]
            raise NotStarted(f"ddoctor exited with {proc.returncode} before {n} {marker!r} process(es) started: "
                             f"{tail}")
        try:
            kids = psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        found = []
        for k in kids:
            try:
                if marker in " ".join(k.cmdline()):
                    found.append(k)
            except psutil.Error:
                pass
        if len(found) >= n and settled(found):
            return psutil.Process(proc.pid).children(recursive=True)
        time.sleep(0.1)
    try:  # end what this attempt started (by pid) before saying so
        tree = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        tree = []
    proc.kill()
    for k in tree:
        try:
            k.kill()
        except psutil.Error:
            pass
    proc.wait(timeout=30)
    tail = Path(proc.err_path).read_text(errors="replace")[-600:]
    raise NotStarted(f"{n} process(es) running {marker!r} never started within {timeout:.0f} s: {tail}")


def settled(procs, quiet_s: float = 1.5, busy: float = 0.1) -> bool:
    """Every process has reached its hang: under `busy` of a core for `quiet_s`. A rank still starting
    up (importing torch: a whole core) would print again and die of SIGPIPE once ddoctor is gone,
    hiding a missing parent-death signal. A hung process is not idle to the tick: torchrun's agent
    polls its workers every 0.1 s, and the ranks' parent watchdog and the file store poll too, so
    asking for no CPU at all made this precondition fail at random."""
    def cpu():
        return [sum(p.cpu_times()[:2]) for p in procs]

    try:
        before = cpu()
        time.sleep(quiet_s)
        return all(a - b < busy * quiet_s for a, b in zip(cpu(), before, strict=True))
    except psutil.Error:
        return False


def survivors(procs, timeout: float = 20.0) -> list[psutil.Process]:
    def alive(p):
        try:
            return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    deadline = time.monotonic() + timeout
    while any(alive(p) for p in procs) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in procs if alive(p)]
    for p in left:  # never leave them behind for the next test
        p.kill()
    return left


def fake_torch_that_hangs(tmp_path) -> dict:
    site = tmp_path / "site" / "torch"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text("import time\ntime.sleep(120)\n")
    (site / "version.py").write_text("__version__ = '9.9.9'\ncuda = None\n")
    return {"PYTHONPATH": str(tmp_path / "site")}


SCENARIOS = {
    "smoke ranks": (["smoke", "--fault", "hang@1:load", "--timeout", "300"], "ddoctor.smoke.rank", 2, {}),
    "torchrun's workers": (["smoke", "--launcher", "torchrun", "--fault", "hang@1:load", "--timeout", "300"],
                           "ddoctor.smoke.rank", 2, {}),
    "live ranks": (["check", "live", "--fault", "hang@1:all_reduce", "--timeout", "300"], "ddoctor.live.rank", 2,
                   {}),
    "run's job": (["run", "--no-host", "--", sys.executable, "-c", "import time; time.sleep(120)"], "time.sleep(120)",
                  1, {}),
    "the torch probe child": (["check", "--no-cache", "--deep", "torch"], "_torch_child.py", 1, "fake-torch"),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_kill_9_leaves_no_child(tmp_path, name, hardening_stats):
    args, marker, n, env = SCENARIOS[name]
    env = fake_torch_that_hangs(tmp_path) if env == "fake-torch" else env
    p = start(args, tmp_path, **env)
    try:
        kids = wait_for(p, marker, n)
    except NotStarted:  # the precondition (e.g. a port taken between choosing and binding it): once more
        p = start(args, tmp_path, **env)
        kids = wait_for(p, marker, n)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    left = survivors(kids)
    hardening_stats["orphan_checks"] += 1
    hardening_stats["orphans"] += len(left)
    assert [" ".join(k.cmdline())[:80] for k in left] == []


@pytest.mark.parametrize(("args", "marker", "prefix"), [
    (["smoke", "--fault", "hang@1:load", "--timeout", "300"], "ddoctor.smoke.rank", "ddoctor-smoke-"),
    (["check", "live", "--fault", "hang@1:all_reduce", "--timeout", "300"], "ddoctor.live.rank", "ddoctor-live-"),
], ids=["smoke", "live"])
def test_sigterm_stops_every_rank_and_removes_the_temp_dir(tmp_path, args, marker, prefix, hardening_stats):
    p = start(args, tmp_path)
    try:
        kids = wait_for(p, marker, 2)
    except NotStarted:  # the precondition failed, not the property: once more, in a clean folder
        for d in tmp_path.iterdir():
            if d.name.startswith(prefix):
                shutil.rmtree(d, ignore_errors=True)
        p = start(args, tmp_path)
        kids = wait_for(p, marker, 2)
    assert [d.name for d in tmp_path.iterdir() if d.name.startswith(prefix)] != []  # the run's own directory
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=60) == 128 + signal.SIGTERM
    left = survivors(kids)
    hardening_stats["orphan_checks"] += 1
    hardening_stats["orphans"] += len(left)
    assert left == []
    assert [d.name for d in tmp_path.iterdir() if d.name.startswith(prefix)] == []


def test_a_rank_whose_launcher_died_stops_itself(tmp_path):
    """The parent watchdog alone (the rank is a grandchild, so no parent-death signal reaches it)."""
    ready = tmp_path / "ready"
    code = textwrap.dedent(f"""
        import os, subprocess, sys, time
        p = subprocess.Popen([sys.executable, "-c",
                              "from ddoctor.ranks.protocol import watch_parent; import time; watch_parent(0.1); "
                              "open({str(ready)!r}, 'w').close(); time.sleep(120)"])
        while not os.path.exists({str(ready)!r}):
            time.sleep(0.05)
        print(p.pid, flush=True)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    rank = psutil.Process(int(out.stdout))
    assert survivors([rank]) == []
