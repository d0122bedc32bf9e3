"""`ddoctor run -- CMD`: output passes through unchanged, the exit code is the job's, failures are diagnosed."""

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_output_passes_through_byte_for_byte(run_cli):
    code = "import sys; sys.stdout.write('out \\u00e9\\n'); sys.stderr.write('err line\\n'); sys.exit(0)"
    r = run_cli("run", "--", sys.executable, "-c", code)
    assert r.returncode == 0
    assert r.stdout == "out \u00e9\n"
    assert r.stderr == "err line\n"


def test_failure_keeps_the_exit_code_and_reports_to_a_file(run_cli, tmp_path):
    from ddoctor.host.system import free_port

    report = tmp_path / "ddoctor.json"
    r = run_cli("run", "--report", str(report), "--", sys.executable, "-m", "torch.distributed.run",
                "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
                str(ROOT / "fixtures" / "programs" / "nccl_init.py"), timeout=180)
    assert r.returncode == 1
    assert "Distributed package doesn't have NCCL built in" in r.stdout + r.stderr  # the job's own output
    assert '"schema"' not in r.stdout + r.stderr  # the document never mixes into the job's streams
    doc = json.loads(report.read_text())
    assert doc["schema"] == "ddoctor.run/1"
    assert doc["job"]["exit_code"] == 1
    assert doc["diagnoses"][0]["name"] == "nccl-unavailable"
    script = ROOT / "fixtures" / "programs" / "nccl_init.py"
    assert doc["diagnoses"][0]["fix_hints"] == [f"ddoctor fix --write --select DDF001 {script}"]
    assert doc["host"]["nvidia_gpus"] == 0  # tailored to this host, as diagnose does


def test_report_of_a_successful_job_leaves_its_streams_byte_for_byte(run_cli, tmp_path):
    report = tmp_path / "r.json"
    code = "import sys; sys.stdout.write('out\\n'); sys.stderr.write('err\\n')"
    r = run_cli("run", "--report", str(report), "--", sys.executable, "-c", code)
    assert (r.returncode, r.stdout, r.stderr) == (0, "out\n", "err\n")
    doc = json.loads(report.read_text())
    assert (doc["job"]["exit_code"], doc["diagnoses"]) == (0, [])


def test_json_without_a_report_file_is_a_usage_error(run_cli):
    r = run_cli("run", "--format", "json", "--", sys.executable, "-c", "pass")
    assert r.returncode == 2
    assert "--report FILE" in r.stderr


def test_killed_job_reports_the_signal(run_cli):
    r = run_cli("run", "--no-host", "--", sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    assert r.returncode == 128 + signal.SIGKILL
    assert "SIGKILL: " in r.stderr  # attributed from the kernel's evidence (OOM killer or not, or cannot tell)


def test_missing_command(run_cli):
    assert run_cli("run", "--", "/no/such/program").returncode == 127
    assert run_cli("run").returncode == 2


def test_ctrl_c_reaches_the_job_and_leaves_nothing(tmp_path):
    marker = tmp_path / "got-sigint"
    code = ("import signal, sys, time\n"
            f"def h(*a): open({str(marker)!r}, 'w').write('yes'); sys.exit(3)\n"
            "signal.signal(signal.SIGINT, h)\n"
            "import subprocess; child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            "time.sleep(60)\n")
    p = subprocess.Popen([sys.executable, "-m", "ddoctor", "run", "--no-host", "--", sys.executable, "-c", code],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"})
    deadline = time.monotonic() + 30
    kids = []
    while time.monotonic() < deadline and len(kids) < 2:
        kids = psutil.Process(p.pid).children(recursive=True)
        time.sleep(0.1)
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=30)
    assert p.returncode == 130  # interrupted, whatever the job's own exit code
    assert marker.read_text() == "yes"
    time.sleep(0.3)
    assert not [k for k in kids if k.is_running() and k.status() != psutil.STATUS_ZOMBIE]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    gone = not _alive(pid)
    if not gone:
        os.kill(pid, signal.SIGKILL)
    return gone


def test_background_children_are_killed_after_the_job_exits(tmp_path):
    pidfile = tmp_path / "bg.pid"
    code = ("import subprocess, sys\n"
            "bg = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
            f"open({str(pidfile)!r}, 'w').write(str(bg.pid))\n")
    r = subprocess.run([sys.executable, "-m", "ddoctor", "run", "--no-host", "--", sys.executable, "-c", code],
                       capture_output=True, env={**os.environ, "NO_COLOR": "1"}, timeout=120)
    assert r.returncode == 0
    assert _gone_within(int(pidfile.read_text()), 10)


def test_ctrl_c_kills_a_child_that_ignores_it_after_the_grace_period(tmp_path):
    pidfile = tmp_path / "stubborn.pid"
    stubborn = "import signal, time; [signal.signal(s, signal.SIG_IGN) for s in (2, 15)]; time.sleep(120)"
    code = ("import signal, subprocess, sys, time\n"
            f"bg = subprocess.Popen([sys.executable, '-c', {stubborn!r}])\n"
            f"open({str(pidfile)!r}, 'w').write(str(bg.pid))\n"
            "time.sleep(120)\n")
    p = subprocess.Popen([sys.executable, "-m", "ddoctor", "run", "--no-host", "--", sys.executable, "-c", code],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"})
    deadline = time.monotonic() + 30
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=60)
    assert p.returncode == 128 + signal.SIGINT
    assert _gone_within(int(pidfile.read_text()), 10)


def test_carriage_return_progress_passes_at_once():
    code = "import sys, time; sys.stdout.write('progress 50%\\r'); sys.stdout.flush(); time.sleep(60)"
    p = subprocess.Popen([sys.executable, "-m", "ddoctor", "run", "--no-host", "--", sys.executable, "-c", code],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
    import selectors

    got = b""
    with selectors.DefaultSelector() as sel:
        sel.register(p.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 30
        while b"\r" not in got and time.monotonic() < deadline:
            if sel.select(timeout=0.5):
                chunk = os.read(p.stdout.fileno(), 4096)
                if not chunk:
                    break
                got += chunk
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=60)
    assert got == b"progress 50%\r"


def test_a_huge_line_is_streamed_in_bounded_memory():
    size = 256 << 20
    code = ("import sys\nblock = 'x' * 65536\n"
            f"for _ in range({size} // 65536):\n    sys.stdout.write(block)\n")
    p = subprocess.Popen([sys.executable, "-m", "ddoctor", "run", "--no-host", "--", sys.executable, "-c", code],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
    me = psutil.Process(p.pid)
    peak, total = 0, 0
    while chunk := p.stdout.read1(1 << 20):
        total += len(chunk)
        try:
            peak = max(peak, me.memory_info().rss)
        except psutil.NoSuchProcess:
            pass
    assert p.wait(timeout=60) == 0
    assert total == size  # every byte passed through
    assert peak < 150 << 20, f"ddoctor grew to {peak >> 20} MiB"
