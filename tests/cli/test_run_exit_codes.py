"""`ddoctor run --exit-codes slurm|kubeflow`: the job's outcome in the scheduler's terms, by its root cause."""

import json
import sys

import pytest

XID = "import sys; print('NVRM: Xid (PCI:0000:3b:00): 79, GPU has fallen off the bus.'); sys.exit(1)"
USER = "raise ValueError('learning rate must be positive')"
PEER = ("import sys; print('[E ProcessGroupNCCL.cpp:1316] [Rank 3] Watchdog caught collective operation timeout: "
        "WorkNCCL(SeqNum=7, OpType=ALLREDUCE, Timeout(ms)=600000) ran for 600005 milliseconds before timing out.'); "
        "sys.exit(1)")


@pytest.mark.parametrize(("contract", "job", "code"), [
    ("slurm", "pass", 0), ("kubeflow", "pass", 0),
    ("slurm", XID, 1), ("kubeflow", XID, 20),
    ("slurm", USER, 2), ("kubeflow", USER, 30),
    ("slurm", PEER, 2), ("kubeflow", PEER, 20),
])
def test_the_outcome_becomes_the_contract_code(run_cli, contract, job, code):
    assert run_cli("run", "--no-host", "--exit-codes", contract, "--", sys.executable, "-c", job).returncode == code


def test_default_keeps_the_jobs_own_code(run_cli):
    assert run_cli("run", "--no-host", "--", sys.executable, "-c", "import sys; sys.exit(7)").returncode == 7


def test_the_action_is_said_on_stderr(run_cli):
    r = run_cli("run", "--no-host", "--exit-codes", "slurm", "--", sys.executable, "-c", XID)
    assert "ddoctor: action drain (exit 1 under --exit-codes slurm; the job exited with 1)" in r.stderr


def test_the_report_file_carries_the_action(run_cli, tmp_path):
    report = tmp_path / "run.json"
    run_cli("run", "--no-host", "--report", str(report), "--exit-codes", "kubeflow", "--", sys.executable, "-c", USER)
    doc = json.loads(report.read_text())
    assert (doc["action"], doc["exit_code"]) == ("stop", 30)
