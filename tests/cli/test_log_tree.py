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
    (tmp_path / "trace_rank_0").write_bytes(b"\x80\x04flight recorder")  # a dump, not a log
    logs, _ = discover(str(tmp_path))
    assert [(os.path.basename(f.path), f.rank) for f in logs if f.kind != "flight-dump"] == [("4242_3.out", 3)]


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


TIMEOUT = ("[E ProcessGroupNCCL.cpp:1316] [Rank {r}] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=7, "
           "OpType=ALLREDUCE, Timeout(ms)=600000) ran for 600005 milliseconds before timing out.\n")
OOM = ("Traceback (most recent call last):\n  File \"/app/train.py\", line 9, in <module>\n    loss = model(x)\n"
       "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of "
       "79.15 GiB of which 1.20 GiB is free.\n")


def _diagnose(run_cli, path):
    r = run_cli("diagnose", "--no-host", "--format", "json", str(path))
    assert r.returncode == 1, r.stderr
    return json.loads(r.stdout)["diagnoses"]


def test_pod_files_of_a_pytorchjob_number_workers_after_the_master(tmp_path):
    for pod in ("bert-master-0", "bert-worker-0", "bert-worker-1"):
        (tmp_path / f"{pod}.log").write_text("step 1\n")
    logs, _ = discover(str(tmp_path))
    assert sorted((os.path.basename(f.path), f.rank) for f in logs) == [
        ("bert-master-0.log", 0), ("bert-worker-0.log", 1), ("bert-worker-1.log", 2)]


def test_the_kubelets_pod_folders_give_the_rank(tmp_path):
    d = tmp_path / "default_llama-node-0-3-x7k2p_0b1c2d3e-aaaa-bbbb-cccc-111122223333" / "node"
    d.mkdir(parents=True)
    (d / "0.log").write_text("2025-05-01T10:00:00.1Z stderr F hello\n")
    logs, _ = discover(str(tmp_path))
    assert [(f.kind, f.rank) for f in logs] == [("rank-log", 3)]


def test_across_pods_the_real_failure_is_the_root_and_the_timeouts_are_grouped(tmp_path, run_cli):
    (tmp_path / "bert-master-0.log").write_text(TIMEOUT.format(r=0))
    (tmp_path / "bert-worker-0.log").write_text(TIMEOUT.format(r=1))
    (tmp_path / "bert-worker-1.log").write_text("step 7\n" + OOM)
    diags = _diagnose(run_cli, tmp_path)
    assert [(d["name"], d["ranks"]) for d in diags[:2]] == [("cuda-oom", [2]), ("nccl-timeout", [0, 1])]


def test_kubectl_prefixed_logs_carry_each_pods_rank(tmp_path, run_cli):
    lines = [f"[pod/bert-worker-{r}/pytorch] {TIMEOUT.format(r=r)}" for r in (0, 2)]
    lines.insert(1, "".join(f"[pod/bert-worker-1/pytorch] {line}\n" for line in OOM.splitlines()))
    (tmp_path / "all.log").write_text("".join(lines))
    assert _diagnose(run_cli, tmp_path / "all.log")[0]["ranks"] == [1]


def _dump(path, seqs):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"entries": [{"collective_seq_id": s, "profiling_name": "nccl:all_reduce",
                                             "input_sizes": [[1024]], "input_dtypes": ["Float"],
                                             "process_group": ["0", "default_pg"]} for s in seqs],
                                "pg_status": {"0": {"last_completed_collective": seqs[-1] - 1}}}))


def _hung_job(tmp_path):
    """Two hosts' flight-recorder dumps; rank 3 on node1 never issued collective #3."""
    for r in range(4):
        _dump(tmp_path / "fr" / f"node{r // 2}" / f"nccl_trace_rank_{r}", [1, 2] if r == 3 else [1, 2, 3])
    for r in range(4):
        (tmp_path / f"rank{r}.log").write_text(TIMEOUT.format(r=r) if r != 3 else "step 2\n")


def test_flight_recorder_dumps_in_a_tree_name_the_rank_that_never_arrived(tmp_path, run_cli):
    _hung_job(tmp_path)
    root = _diagnose(run_cli, tmp_path)[0]
    evidence = [e["text"] for e in root["evidence"]["lines"] if "Flight recorder" in e["text"]]
    assert root["name"] == "nccl-timeout"
    assert "rank 3 never issued collective #3" in evidence[0]
    assert "rank 3 on node1" in evidence[0]


def test_a_ranks_own_error_comes_before_what_the_dumps_show(tmp_path, run_cli):
    _hung_job(tmp_path)
    (tmp_path / "rank3.log").write_text("step 2\n" + OOM)
    diags = _diagnose(run_cli, tmp_path)
    assert (diags[0]["name"], diags[0]["ranks"]) == ("cuda-oom", [3])
