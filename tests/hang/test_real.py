"""Real hung Gloo jobs on 127.0.0.1 (world size 2): `ddoctor snapshot`, `run --hang-timeout` and Ctrl-C
under `run`, as plain processes and under torchrun, with and without py-spy. Every test ends within
its deadline and checks, by pid, that no process it started is left."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from ddoctor.host import pyspy
from ddoctor.host.system import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
HERE = Path(__file__).parent
JOB = HERE / "hangjob.py"
PLAIN = HERE / "launch_plain.py"
STALL_S = "45"  # the ranks give up on their own after this (Gloo timeout, sleep): a test that fails never hangs
READY_S = 90  # torch imports slowly on a loaded machine
needs_pyspy = pytest.mark.skipif(pyspy.find() is None, reason="py-spy is not installed")
# where each mode's ranks block, as `rank N at PLACE` lines
READY = {"skip": ["rank 0 at all_reduce", "rank 1 at load_batch"],
         "mismatch": ["rank 0 at all_reduce", "rank 1 at all_gather"],
         "preinit": ["rank 0 at init_process_group", "rank 1 at load_batch"],
         "killed": ["rank 0 at init_process_group", "rank 1 at SIGKILL"]}


def _env(**extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("RANK", "WORLD_SIZE", "MASTER_", "LOCAL_"))}
    e.update({"NO_COLOR": "1", "COLUMNS": "120", "HANGJOB_STALL_S": STALL_S, "PYTHONUNBUFFERED": "1"})
    e.update(extra)
    return e


def alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def left_running(pids, wait_s=5.0):
    deadline = time.monotonic() + wait_s
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return sorted(p for p in pids if alive(p))


def wait_for(path_or_read, lines, timeout=READY_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path_or_read()
        if all(line in text for line in lines):
            time.sleep(1.0)  # from the print to the blocking call
            return text
        time.sleep(0.2)
    raise AssertionError(f"the job never reached {lines}; it printed:\n{path_or_read()[-3000:]}")


def snapshot_cli(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "ddoctor", "snapshot", *args], capture_output=True, text=True,
                          env=_env(**(env or {})), timeout=timeout)


class Ranks:
    """Rank processes this test started itself (no launcher)."""

    def __init__(self, tmp_path, mode):
        port = str(free_port())
        self.logs = [tmp_path / f"rank{r}.log" for r in range(2)]
        self.procs = [subprocess.Popen([sys.executable, str(JOB), mode], stdout=log.open("w"), stderr=subprocess.STDOUT,
                                       env=_env(RANK=str(r), WORLD_SIZE="2", LOCAL_RANK=str(r), LOCAL_WORLD_SIZE="2",
                                                MASTER_ADDR="127.0.0.1", MASTER_PORT=port, GLOO_SOCKET_IFNAME="lo"))
                      for r, log in enumerate(self.logs)]
        wait_for(lambda: "".join(p.read_text() for p in self.logs), READY[mode])
        self.pids = [p.pid for p in self.procs]

    def stop(self):
        for p in self.procs:
            p.kill()
            p.wait(timeout=30)


@pytest.fixture
def ranks(tmp_path):
    started = []

    def start(mode):
        r = Ranks(tmp_path, mode)
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()
        assert left_running(r.pids) == []


def doc_of(text):
    return json.loads(text[text.index('{\n  "schema": "ddoctor.snapshot/1"'):].split("\n}\n")[0] + "\n}")


# -- ddoctor snapshot ------------------------------------------------------------------------------------
@needs_pyspy
def test_snapshot_names_the_rank_that_skipped_the_collective(ranks):
    job = ranks("skip")
    r = snapshot_cli(*map(str, job.pids), "--format", "json")
    doc = json.loads(r.stdout)
    assert (r.returncode, doc["verdict"]["kind"], doc["verdict"]["suspects"]) == (1, "behind", [1])


@needs_pyspy
def test_snapshot_gives_the_suspects_innermost_user_frame(ranks):
    job = ranks("skip")
    doc = json.loads(snapshot_cli(*map(str, job.pids), "--format", "json").stdout)
    suspect = next(g for g in doc["groups"] if g["ranks"] == [1])
    assert (Path(suspect["user_frame"]["file"]).name, suspect["user_frame"]["function"]) == ("hangjob.py", "load_batch")


@needs_pyspy
def test_snapshot_text_says_where_both_sides_are(ranks):
    job = ranks("skip")
    out = snapshot_cli(*map(str, job.pids), "--no-native").stdout
    assert "rank 1 is in `load_batch` at tests/hang/hangjob.py:" in out


@needs_pyspy
def test_snapshot_of_mismatched_collectives(ranks):
    job = ranks("mismatch")
    doc = json.loads(snapshot_cli(*map(str, job.pids), "--format", "json", "--no-native").stdout)
    assert [g["collective"] for g in doc["groups"]] == ["all_reduce", "all_gather"]


@needs_pyspy
def test_snapshot_of_a_rank_stuck_before_init_process_group(ranks):
    job = ranks("preinit")
    doc = json.loads(snapshot_cli(*map(str, job.pids), "--format", "json", "--no-native").stdout)
    waiting = next(g for g in doc["groups"] if g["ranks"] == [0])
    assert (doc["verdict"]["suspects"], waiting["collective"]) == ([1], "init_process_group")


@needs_pyspy
def test_snapshot_of_a_killed_rank_names_it_missing(ranks):
    job = ranks("killed")
    r = snapshot_cli(str(job.pids[0]), "--format", "json", "--no-native")
    doc = json.loads(r.stdout)
    assert (doc["verdict"]["kind"], doc["missing"]) == ("missing", [1])


def test_snapshot_without_py_spy_says_so_and_shows_the_kernels_view(ranks):
    job = ranks("skip")
    r = snapshot_cli(*map(str, job.pids), "--format", "json", env={"DDOCTOR_PYSPY": ""})
    doc = json.loads(r.stdout)
    assert (doc["verdict"]["kind"], [x["state"] for x in doc["ranks"]]) == ("no-stacks", ["sleeping", "sleeping"])


def test_snapshot_with_a_failing_py_spy_falls_back(ranks):
    job = ranks("skip")
    r = snapshot_cli(*map(str, job.pids), "--format", "json", env={"DDOCTOR_PYSPY": "/bin/false"})
    doc = json.loads(r.stdout)
    assert {x["error"] for x in doc["ranks"]} == {"py-spy failed: exit code 1"}


def test_snapshot_of_no_such_process_is_a_usage_error():
    r = snapshot_cli(str(2 ** 22 + 12345))
    assert (r.returncode, "no process with pid" in r.stderr) == (2, True)


# -- ddoctor run: --hang-timeout and Ctrl-C ----------------------------------------------------------------
def torchrun(mode):
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
            "--master_port", str(free_port()), str(JOB), mode]


def plain(mode):
    return [sys.executable, str(PLAIN), mode, "2", str(free_port())]


class Run:
    """`ddoctor run` in a child, every process below it recorded while it runs."""

    def __init__(self, tmp_path, *args, env=None):
        self.out, self.err = tmp_path / "run.out", tmp_path / "run.err"
        self.proc = subprocess.Popen([sys.executable, "-m", "ddoctor", "run", "--no-host", *args],
                                     stdout=self.out.open("w"), stderr=self.err.open("w"), env=_env(**(env or {})))
        self.seen = set()

    def record(self):
        try:
            self.seen |= {c.pid for c in psutil.Process(self.proc.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            pass

    def text(self):
        self.record()
        return self.out.read_text() + self.err.read_text()

    def finish(self, timeout=120):
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.record()
            time.sleep(0.2)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        return self.proc.returncode


@pytest.fixture
def run(tmp_path):
    started = []

    def start(*args, env=None):
        r = Run(tmp_path, *args, env=env)
        started.append(r)
        return r

    yield start
    for r in started:
        if r.proc.poll() is None:
            r.proc.kill()
            r.proc.wait(timeout=30)
        assert left_running(r.seen | {r.proc.pid}) == []


@needs_pyspy
@pytest.mark.parametrize("launcher,quiet", [(plain, "6"), (torchrun, "20")], ids=["plain", "torchrun"])
def test_hang_timeout_snapshots_names_the_suspect_and_stops_the_job(run, launcher, quiet, tmp_path):
    # torchrun's agent imports torch before it prints anything (the ranks print until they block)
    report = tmp_path / "report.json"
    r = run("--hang-timeout", quiet, "--report", str(report), "--", *launcher("skip"))
    code = r.finish()
    doc = doc_of(report.read_text())
    assert (code, doc["trigger"], doc["verdict"]["suspects"]) == (124, "hang-timeout", [1])


@needs_pyspy
def test_hang_timeout_leaves_nothing_running(run):
    r = run("--hang-timeout", "6", "--", *plain("mismatch"))
    wait_for(r.text, READY["mismatch"])
    r.finish()
    assert left_running(r.seen) == []


def interrupt(r, mode):
    wait_for(r.text, READY[mode])
    r.proc.send_signal(signal.SIGINT)
    return r.finish()


@needs_pyspy
@pytest.mark.parametrize("mode", sorted(READY))
def test_ctrl_c_under_run_shows_each_rank_and_exits_130(run, mode, tmp_path):
    report = tmp_path / "report.json"
    r = run("--report", str(report), "--", *plain(mode))
    code = interrupt(r, mode)
    doc = doc_of(report.read_text())
    assert (code, doc["trigger"], sorted(x["rank"] for x in doc["ranks"] if x["threads"])) == \
        (130, "interrupt", [0] if mode == "killed" else [0, 1])


@needs_pyspy
def test_ctrl_c_under_torchrun_is_never_called_a_bug(run):
    r = run("--", *torchrun("skip"))
    code = interrupt(r, "skip")
    err = r.err.read_text()
    assert (code, "a bug in your code" in err, "rank 1 is in `load_batch`" in err) == (130, False, True)


def test_ctrl_c_without_py_spy_reads_the_keyboardinterrupt_tracebacks(run, tmp_path):
    report = tmp_path / "report.json"
    r = run("--report", str(report), "--", *torchrun("skip"), env={"DDOCTOR_PYSPY": ""})
    code = interrupt(r, "skip")
    doc = doc_of(report.read_text())
    assert (code, {x["source"] for x in doc["ranks"]}) == (130, {"KeyboardInterrupt traceback"})


def test_a_sigkilled_job_is_attributed(run):
    r = run("--", sys.executable, "-c", "import os; os.kill(os.getpid(), 9)")
    code = r.finish()
    assert (code, "SIGKILL: " in r.err.read_text()) == (137, True)
