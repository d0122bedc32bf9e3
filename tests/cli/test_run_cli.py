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
    assert r.returncode == 0 and r.stdout == "out \u00e9\n" and r.stderr == "err line\n"


def test_failure_keeps_the_exit_code_and_diagnoses_on_stderr(run_cli):
    from ddoctor.host.system import free_port

    r = run_cli("run", "--no-host", "--format", "json", "--", sys.executable, "-m", "torch.distributed.run",
                "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
                str(ROOT / "fixtures" / "programs" / "nccl_init.py"), timeout=180)
    assert r.returncode == 1
    assert "Distributed package doesn't have NCCL built in" in r.stdout + r.stderr  # the job's own output
    doc = json.loads(r.stderr[r.stderr.index('{\n  "schema"'):])
    assert doc["diagnoses"][0]["name"] == "nccl-unavailable"
    script = ROOT / "fixtures" / "programs" / "nccl_init.py"
    assert doc["diagnoses"][0]["fix_hints"] == [f"ddoctor fix --write --select DDF001 {script}"]


def test_killed_job_reports_the_signal(run_cli):
    r = run_cli("run", "--no-host", "--", sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    assert r.returncode == 128 + signal.SIGKILL and "killed by the kernel" in r.stderr


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
    assert p.returncode == 3 and marker.read_text() == "yes"
    time.sleep(0.3)
    assert not [k for k in kids if k.is_running() and k.status() != psutil.STATUS_ZOMBIE]
