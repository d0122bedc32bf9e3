"""`ddoctor diagnose DIR`: a launcher's per-rank log folder, read with each file's rank."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from ddoctor.host.log_tree import discover, error_file_text


def test_a_torchrun_tree_is_ordered_error_files_first_by_time(tmp_path):
    run = tmp_path / "none_abc" / "attempt_0"
    for rank, ts in ((0, 200.0), (1, 100.0)):
        d = run / str(rank)
        d.mkdir(parents=True)
        (d / "stderr.log").write_text(f"rank {rank} output\n")
        (d / "error.json").write_text(json.dumps({"message": {"message": "RuntimeError: boom", "extraInfo": {
            "py_callstack": "Traceback (most recent call last):\n  File \"/x.py\", line 1, in f\nRuntimeError: boom\n",
            "timestamp": str(int(ts))}}}))
    (tmp_path / "slurm-4242.out").write_text("launcher output\n")
    logs, notices = discover(str(tmp_path))
    assert notices == []
    assert [(f.kind, f.rank) for f in logs] == [("error-file", 1), ("error-file", 0), ("rank-log", 0),
                                                ("rank-log", 1), ("log", None)]


def test_slurm_task_files_carry_their_task_as_rank(tmp_path):
    (tmp_path / "4242_3.out").write_text("x\n")
    (tmp_path / "trace_rank_0").write_bytes(b"\x80\x04flight recorder")  # left for --fr
    logs, _ = discover(str(tmp_path))
    assert [(os.path.basename(f.path), f.rank) for f in logs] == [("4242_3.out", 3)]


def test_error_file_text_is_the_captured_traceback(tmp_path):
    p = tmp_path / "error.json"
    p.write_text(json.dumps({"message": {"message": "KeyError: 'a'", "extraInfo": {
        "py_callstack": "Traceback (most recent call last):\n  File \"/x.py\", line 2, in g\nKeyError: 'a'\n"}}}))
    assert error_file_text(str(p)).startswith("Traceback (most recent call last):")
    p.write_text("not json")
    assert error_file_text(str(p)) == ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_a_real_torchrun_log_dir_names_the_rank_that_failed_first(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent("""
        import torch.distributed as dist
        from torch.distributed.elastic.multiprocessing.errors import record

        @record
        def main():
            dist.init_process_group("gloo")
            if dist.get_rank() == 1:
                raise RuntimeError("Distributed package doesn't have NCCL built in")
            dist.barrier()

        main()
    """))
    logs = tmp_path / "logs"
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
                    "127.0.0.1", "--master_port", str(_free_port()), "--log-dir", str(logs), "--redirects", "3",
                    str(script)], capture_output=True, timeout=120)
    r = subprocess.run([sys.executable, "-m", "ddoctor", "diagnose", "--no-host", "--format", "json", str(logs)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    root = doc["diagnoses"][0]
    assert root["name"] == "nccl-unavailable"
    assert root["ranks"] == [1]
    assert "/attempt_0/1/" in root["evidence"]["lines"][0]["source"]
    assert all(d["symptom"] for d in doc["diagnoses"][1:])


def test_an_empty_folder_is_a_usage_error(tmp_path, run_cli):
    r = run_cli("diagnose", "--no-host", str(tmp_path))
    assert r.returncode == 2
    assert "no log files" in r.stderr
