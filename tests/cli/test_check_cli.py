"""`ddoctor check` as users run it, on this real CPU host."""

import json
import socket
from xml.etree import ElementTree as ET

import pytest

pytestmark = pytest.mark.slow


def test_check_tells_the_truth_about_this_host(run_cli):
    r = run_cli("check", "--format", "json", "-v")
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "ddoctor.check/1"
    assert doc["ddoctor_version"]
    f = {x["id"]: x for x in doc["findings"]}
    assert f["torch.install"]["status"] == "pass"
    assert f["torch.install"]["evidence"]["version"].endswith("+cpu")
    assert f["torch.flavour"]["evidence"]["flavour"] == "cpu"
    assert f["dist.nccl"]["evidence"]["nccl_available"] is False
    assert f["dist.backends"]["evidence"]["available"] == "gloo"
    assert f["dist.backends"]["evidence"]["backend"] == "gloo"
    assert f["cuda.driver"]["status"] == "skip"
    assert doc["summary"]["exit_code"] == 0
    assert r.stderr == ""  # results only on stdout; no progress without a terminal


def test_require_cuda_fails_the_gate_here(run_cli):
    r = run_cli("check", "--require", "cuda", "--require", "gloo", "--format", "json")
    assert r.returncode == 1
    f = {x["id"]: x["status"] for x in json.loads(r.stdout)["findings"]}
    assert f["require.cuda"] == "fail"
    assert f["require.gloo"] == "pass"


def test_bad_requirement_is_a_usage_error(run_cli):
    r = run_cli("check", "--require", "gpuz>=8")
    assert r.returncode == 2
    assert "unknown name 'gpuz'" in r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize("spec", ["gpus>>2", "ram>=20", "gpus>=1.5", "gpus>=-1"])
def test_malformed_requirements_exit_2_listing_valid_forms(run_cli, spec):
    r = run_cli("check", "--require", spec)
    assert r.returncode == 2
    assert "valid requirements" in r.stderr
    assert "Traceback" not in r.stderr


def test_unknown_check_id_is_a_usage_error(run_cli):
    r = run_cli("check", "nope")
    assert r.returncode == 2
    assert "--list" in r.stderr


def test_subset_and_list(run_cli):
    r = run_cli("check", "sys", "--format", "json")
    ids = {x["id"] for x in json.loads(r.stdout)["findings"]}
    assert ids == {"sys.shm", "sys.memory", "sys.ulimits", "sys.threads"}
    listing = run_cli("check", "--list").stdout
    assert "cuda.arch" in listing
    assert "launch.port" in listing


def test_junit_and_markdown(run_cli):
    r = run_cli("check", "--simulate", "ecc-errors", "--format", "junit")
    assert r.returncode == 1
    suite = ET.fromstring(r.stdout.split("?>", 1)[1]).find("testsuite")
    assert suite.get("failures") == "1"
    assert suite.find("testcase[@name='gpu.health']/failure") is not None
    md = run_cli("check", "--simulate", "ecc-errors", "--format", "markdown").stdout
    assert "| ✗ fail | GPU memory health |" in md
    assert "sudo nvidia-smi -r -i 3" in md


def test_port_in_use_is_reported_with_holder_and_free_port(run_cli):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run_cli("check", "launch.port", "--format", "json", env={"MASTER_PORT": str(port)})
    assert r.returncode == 1
    f = json.loads(r.stdout)["findings"][0]
    assert f["status"] == "fail"
    assert f["evidence"]["holder_pid"] is not None
    assert any(c.startswith("torchrun --master_port ") for c in f["remediation"]["commands"])


def test_strict_counts_warnings(run_cli):
    assert run_cli("check", "--simulate", "stale-process").returncode == 0
    assert run_cli("check", "--simulate", "stale-process", "--strict").returncode == 1


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "markdown"])
def test_secrets_never_printed(run_cli, fmt):
    secret = "hf_" + "Z" * 34
    env = {"HF_TOKEN": secret, "CUDA_PROFILE": secret, "NCCL_BUFFSIZE": secret}
    r = run_cli("check", "env.hygiene", "-v", "--format", fmt, env=env)
    assert "CUDA_PROFILE" in r.stdout
    assert secret not in r.stdout
    assert secret not in r.stderr


def test_help_does_not_import_torch(run_cli):
    import subprocess
    import sys

    code = "import sys; from ddoctor.cli.app import app; sys.argv=['ddoctor','--help']\ntry:\n app()\nexcept SystemExit:\n pass\nassert 'torch' not in sys.modules, 'torch imported'"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "diagnose" in r.stdout or "check" in r.stdout


def _hanging_torch(tmp_path):
    """A torch whose import starts a grandchild in its own session holding the output pipes, then hangs."""
    pkg = tmp_path / "site" / "torch"
    pkg.mkdir(parents=True)
    (pkg / "version.py").write_text("__version__ = '2.13.0+cpu'\ncuda = None\nhip = None\n")
    pidfile = tmp_path / "escaped.pid"
    (pkg / "__init__.py").write_text(
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], start_new_session=True)\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(120)\n")
    return {"PYTHONPATH": str(tmp_path / "site")}, pidfile


@pytest.mark.parametrize("flag", ["--timeout", "--deadline"])
def test_the_whole_command_ends_within_its_limit_even_with_an_escaped_grandchild(run_cli, tmp_path, flag):
    import os
    import signal

    env, pidfile = _hanging_torch(tmp_path)
    try:
        r = run_cli("check", "--no-cache", flag, "4", "--format", "json", env=env, timeout=40)
    finally:
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
    doc = json.loads(r.stdout)
    torch_install = next(f for f in doc["findings"] if f["id"] == "torch.install")
    assert r.returncode == 1
    assert torch_install["status"] == "error"  # not run, or the import timed out: never a pass
    assert doc["summary"]["duration_s"] < 4
    assert doc["summary"]["action"] == "retry"


def test_not_run_checks_are_named_in_text(run_cli, tmp_path):
    import os
    import signal

    env, pidfile = _hanging_torch(tmp_path)
    try:
        r = run_cli("check", "--no-cache", "--deadline", "3", "torch.install", env=env, timeout=40)
    finally:
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
    assert "not run: the 3 s deadline for the whole check passed before it finished" in r.stdout or \
        "could not verify torch: import torch timed out" in r.stdout


@pytest.mark.parametrize(("scenario", "contract", "code"), [
    ("h100x8", "slurm", 0), ("ecc-errors", "slurm", 1), ("cpu-wheel-on-gpu", "slurm", 2),
    ("h100x8", "kubeflow", 0), ("stale-process", "kubeflow", 10), ("ecc-errors", "kubeflow", 20),
    ("cpu-wheel-on-gpu", "kubeflow", 30), ("ecc-errors", "default", 1),
])
def test_exit_code_contracts(run_cli, scenario, contract, code):
    assert run_cli("check", "--simulate", scenario, "--exit-codes", contract, "-q").returncode == code


def test_json_action_per_finding_and_overall(run_cli):
    doc = json.loads(run_cli("check", "--simulate", "ecc-errors", "--format", "json").stdout)
    actions = {f["id"]: f["action"] for f in doc["findings"]}
    assert doc["summary"]["action"] == "drain"
    assert actions["gpu.health"] == "drain"
    assert actions["torch.install"] == "continue"


def test_bad_exit_code_contract_is_a_usage_error(run_cli):
    assert run_cli("check", "--exit-codes", "pbs").returncode == 2


CHECK_SECRETS = {
    "MASTER_ADDR": ("redis://admin:Sup3rS3cretPw@10.0.0.9", "Sup3rS3cretPw"),
    "MASTER_PORT": ("sk-proj-" + "Q" * 40, "Q" * 40),
    "NCCL_DEBUG_SUBSYS": ("INIT,hf_" + "K" * 34, "K" * 34),
    "TORCH_NCCL_BLOCKING_WAIT": ("1 ghp_" + "W" * 36, "W" * 36),
}


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "markdown", "github"])
def test_risky_nccl_torch_master_values_pass_through_redaction(run_cli, fmt, hardening_stats):
    env = {k: v for k, (v, _) in CHECK_SECRETS.items()}
    r = run_cli("check", "launch", "env.hygiene", "-v", "--format", fmt, env=env)
    leaked = [k for k, (_, secret) in CHECK_SECRETS.items() if secret in r.stdout or secret in r.stderr]
    hardening_stats["secrets_planted"] += len(CHECK_SECRETS)
    hardening_stats["secrets_caught"] += len(CHECK_SECRETS) - len(leaked)
    assert "MASTER_ADDR" in r.stdout  # the finding is shown, only its value is scrubbed
    assert leaked == []
