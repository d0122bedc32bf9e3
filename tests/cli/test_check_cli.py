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
    assert doc["schema"] == "ddoctor.check/1" and doc["ddoctor_version"]
    f = {x["id"]: x for x in doc["findings"]}
    assert f["torch.install"]["status"] == "pass" and f["torch.install"]["evidence"]["version"].endswith("+cpu")
    assert f["torch.flavour"]["evidence"]["flavour"] == "cpu"
    assert f["dist.nccl"]["evidence"]["nccl_available"] is False
    assert f["dist.backends"]["evidence"]["available"] == "gloo"
    assert f["dist.backends"]["evidence"]["recommended"] == "gloo"
    assert f["cuda.driver"]["status"] == "skip"
    assert doc["summary"]["exit_code"] == 0
    assert r.stderr == ""  # results only on stdout; no progress without a terminal


def test_require_cuda_fails_the_gate_here(run_cli):
    r = run_cli("check", "--require", "cuda", "--require", "gloo", "--format", "json")
    assert r.returncode == 1
    f = {x["id"]: x["status"] for x in json.loads(r.stdout)["findings"]}
    assert f["require.cuda"] == "fail" and f["require.gloo"] == "pass"


def test_bad_requirement_is_a_usage_error(run_cli):
    r = run_cli("check", "--require", "gpuz>=8")
    assert r.returncode == 2 and "unknown requirement" in r.stderr and r.stdout == ""


def test_unknown_check_id_is_a_usage_error(run_cli):
    r = run_cli("check", "nope")
    assert r.returncode == 2 and "--list" in r.stderr


def test_subset_and_list(run_cli):
    r = run_cli("check", "sys", "--format", "json")
    ids = {x["id"] for x in json.loads(r.stdout)["findings"]}
    assert ids == {"sys.shm", "sys.memory", "sys.ulimits", "sys.threads"}
    listing = run_cli("check", "--list").stdout
    assert "cuda.arch" in listing and "launch.port" in listing


def test_junit_and_markdown(run_cli):
    r = run_cli("check", "--simulate", "ecc-errors", "--format", "junit")
    assert r.returncode == 1
    suite = ET.fromstring(r.stdout.split("?>", 1)[1]).find("testsuite")
    assert suite.get("failures") == "1"
    assert suite.find("testcase[@name='gpu.health']/failure") is not None
    md = run_cli("check", "--simulate", "ecc-errors", "--format", "markdown").stdout
    assert "| ✗ fail | GPU memory health |" in md and "sudo nvidia-smi -r -i 3" in md


def test_port_in_use_is_reported_with_holder_and_free_port(run_cli):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run_cli("check", "launch.port", "--format", "json", env={"MASTER_PORT": str(port)})
    assert r.returncode == 1
    f = json.loads(r.stdout)["findings"][0]
    assert f["status"] == "fail" and f["evidence"]["holder_pid"] is not None
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
    assert secret not in r.stdout and secret not in r.stderr


def test_help_does_not_import_torch(run_cli):
    import subprocess
    import sys

    code = "import sys; from ddoctor.cli.app import app; sys.argv=['ddoctor','--help']\ntry:\n app()\nexcept SystemExit:\n pass\nassert 'torch' not in sys.modules, 'torch imported'"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "diagnose" in r.stdout or "check" in r.stdout
