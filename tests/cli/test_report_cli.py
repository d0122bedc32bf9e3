"""`ddoctor report` on this real host: collect_env's facts, ddoctor's verdicts, redacted."""

import json
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def collect_env():
    r = subprocess.run([sys.executable, "-m", "torch.utils.collect_env"], capture_output=True, text=True, timeout=300)
    return r.stdout


def test_every_collect_env_field_is_in_the_report(run_cli, collect_env):
    md = run_cli("report").stdout
    head = collect_env.split("\nCPU:")[0]
    labels = [m.group(1) for m in re.finditer(r"(?m)^([A-Za-z][^:\n]+):", head) if not m.group(1).startswith(" ")]
    labels = [x for x in labels if x != "Collecting environment information..."]
    assert labels, collect_env
    missing = [x for x in labels if f"| {x} |" not in md]
    assert missing == []


def test_every_package_collect_env_lists_is_in_the_report(run_cli, collect_env):
    md = run_cli("report").stdout
    pkgs = re.findall(r"\[pip3?\] (\S+)==(\S+)", collect_env)
    assert pkgs, collect_env
    assert [p for p in pkgs if f"| [pip] {p[0].lower()} | {p[1]} |" not in md] == []


def test_the_report_carries_the_verdicts_and_the_cpu_details(run_cli):
    md = run_cli("report").stdout
    assert md.startswith("## ddoctor report — ")
    assert "(action: continue)" in md
    assert "| Is CUDA available | no: torch 2.13.0+cpu is a CPU build |" in md
    assert "<details><summary>CPU</summary>" in md


def test_problems_appear_with_their_fix(run_cli):
    md = run_cli("report", env={"NCCL_SOCKET_IFNAME": "ib9"}).stdout
    assert "| ✗ fail | network interfaces |" in md
    assert "`export NCCL_SOCKET_IFNAME=" in md


def test_json_report(run_cli):
    r = run_cli("report", "--format", "json")
    doc = json.loads(r.stdout)
    assert doc["schema"] == "ddoctor.report/1"
    assert doc["environment"]["PyTorch"]["PyTorch version"].endswith("+cpu")
    assert doc["check"]["summary"]["action"] == "continue"
    assert r.returncode == 0


def test_secrets_are_redacted(run_cli, hardening_stats):
    secret = "hf_" + "R" * 34
    r = run_cli("report", env={"PYTORCH_CUDA_ALLOC_CONF": f"expandable_segments:True,{secret}", "HF_TOKEN": secret})
    hardening_stats["secrets_planted"] += 1
    hardening_stats["secrets_caught"] += secret not in r.stdout
    assert "expandable_segments:True" in r.stdout
    assert secret not in r.stdout
